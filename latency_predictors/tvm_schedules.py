"""Default CPU schedules for TVM 0.27 Relax: what a network's kernels run as when nobody tuned them.

TVM 0.27's CPU pipeline schedules no convolution: an untuned kernel is the naive loop nest of its
definition, 40–50× slower than onnxruntime here. This module gives every kernel of an MBConv/IBN
network a fixed, reasonable schedule instead:

* :func:`crop_padding_only_taps` crops each convolution's kernel to the taps that meet real pixels
  (a 7×7 kernel on a 1×1 feature map is its centre tap).
* :func:`to_channels_last` converts the convolutions to NHWC activations and HWIO weights
  (``relax.transform.ConvertLayout``; the weight transposes are folded into the constants at compile
  time), so the output channels are the innermost, contiguous axis of both the output and the weights,
  whatever the spatial size — in these networks most MACs sit at 4×4 to 1×1 pixels, where an
  NCHW kernel has no contiguous axis to vectorize.
* :class:`ChannelsLastConv` schedules each convolution kernel (regular, depthwise, with its fused
  bias/activation/residual/SE epilogue): padding inlined; a register tile of output pixels × SIMD
  vectors of output channels (:class:`ConvTile`) accumulated over the whole reduction (weights loaded
  as vectors, inputs broadcast); weights read from a copy packed per block of output channels, made
  once at compile time; the epilogue applied to the tile while it is in registers.
* Other kernels: TVM's own dlight CPU rules (GEMV, reductions) where they apply.

A kernel that a rule cannot schedule keeps TVM's default loop nest, so a schedule can cost speed but
never correctness (outputs are checked against onnxruntime in the tests). A MetaSchedule tuning
database, where one is given, takes precedence: these rules only fill the kernels it has no record for.
"""
from __future__ import annotations

from dataclasses import dataclass


def crop_padding_only_taps(mod):
    """``mod`` with every 2-D convolution's kernel cropped to the taps that can meet a real pixel.

    A k×k "same" convolution on a small feature map multiplies most of its taps with zero padding
    only: on 1×1 pixels a 7×7 kernel uses its centre tap alone, on 2×2 pixels its central 3×3 — and
    the late stages of these networks run at 4×4 to 1×1 pixels with kernels up to 7×7. Cropping the
    constant weights (and the padding with them) gives the same outputs with a fraction of the MACs
    and weight bytes. Convolutions with dilation, non-constant weights or symbolic shapes are kept."""
    import numpy as np
    import tvm
    from tvm import relax
    from tvm.relax.expr_functor import PyExprMutator, mutator

    conv2d = tvm.ir.Op.get("relax.nn.conv2d")

    def used_taps(size: int, out: int, k: int, stride: int, before: int) -> tuple[int, int]:
        """First and last kernel tap (along one axis) that meets an input pixel for some output."""
        return max(0, before - (out - 1) * stride), min(k - 1, size - 1 + before)

    @mutator
    class _Crop(PyExprMutator):
        def visit_call_(self, call):
            call = super().visit_call_(call)
            if not isinstance(call, relax.Call) or call.op != conv2d:
                return call
            a = call.attrs
            weight = call.args[1]
            if isinstance(weight, relax.Var):
                weight = self.lookup_binding(weight)
            if (not isinstance(weight, tvm.ir.expr.Constant) or a.data_layout != "NCHW" or a.kernel_layout != "OIHW"
                    or any(int(d) != 1 for d in a.dilation)):
                return call
            try:
                size = [int(s) for s in call.args[0].ty.shape][2:]
            except (TypeError, ValueError, AttributeError):
                return call                                   # symbolic input shape
            k = [int(s) for s in weight.value.shape][2:]
            before, after = [int(p) for p in a.padding[:2]], [int(p) for p in a.padding[2:]]
            stride = [int(s) for s in a.strides]
            out = [(size[i] + before[i] + after[i] - k[i]) // stride[i] + 1 for i in range(2)]
            taps = [used_taps(size[i], out[i], k[i], stride[i], before[i]) for i in range(2)]
            if all(lo == 0 and hi == k[i] - 1 for i, (lo, hi) in enumerate(taps)):
                return call
            new_k = [hi - lo + 1 for lo, hi in taps]
            new_before = [before[i] - taps[i][0] for i in range(2)]
            new_after = [(out[i] - 1) * stride[i] + new_k[i] - size[i] - new_before[i] for i in range(2)]
            if min(new_after) < 0 or min(new_before) < 0:
                return call
            data = weight.value.numpy()[:, :, taps[0][0]:taps[0][1] + 1, taps[1][0]:taps[1][1] + 1]
            return relax.op.nn.conv2d(call.args[0], relax.const(np.ascontiguousarray(data)), stride,
                                      [*new_before, *new_after], a.dilation, a.groups, "NCHW", "OIHW",
                                      a.out_layout, a.out_dtype)

    rewriter = _Crop(mod)
    for gvar, func in mod.functions_items():
        if isinstance(func, relax.Function):
            rewriter.builder_.update_func(gvar, rewriter.visit_expr(func))
    return rewriter.builder_.get()


def to_channels_last(mod):
    """``mod`` with every 2-D convolution in NHWC/HWIO layout (layout transforms inserted around them)."""
    from tvm import relax

    return relax.transform.ConvertLayout({"relax.nn.conv2d": ["NHWC", "HWIO"]})(mod)


def _vector_lanes(target) -> int:
    """float32 lanes of the target's widest SIMD register (AVX-512: 16, AVX2: 8; at least 4)."""
    from tvm.target.codegen import llvm_get_vector_width

    try:
        bits = int(llvm_get_vector_width(target))
    except Exception:  # noqa: BLE001 - older/other targets: assume SSE-width vectors
        bits = 128
    return max(4, bits // 32)


@dataclass(frozen=True)
class ConvTile:
    """Register tile of a channels-last convolution kernel: up to ``pixels`` output pixels (along the
    width, then rows) × up to ``vectors`` SIMD vectors of output channels, each the largest that divides
    the output. Its ``pixels × vectors`` accumulators hide the FMA latency: a 2×2-pixel, 672-channel
    convolution took 222 µs with 2 accumulators and 123 µs with 4 here."""

    pixels: int = 4
    vectors: int = 2


#: the tiles tuning measures per convolution kernel (:func:`kernel_schedules`)
TILE_CHOICES = (ConvTile(4, 3), ConvTile(4, 2), ConvTile(8, 2), ConvTile(6, 2), ConvTile(8, 1), ConvTile(2, 4),
                ConvTile(4, 1), ConvTile(2, 2))


def default_tile(target) -> ConvTile:
    """The tile a convolution gets untuned: 4 pixels × 3 vectors (12 accumulators) where there are 32
    vector registers (AVX-512), 4 × 2 where there are 16. Measured in-network on five default-space
    networks here (TVM / onnxruntime, median): 4 × 2 1.03, 4 × 3 0.99, 8 × 2 0.98 but 1.47 on one
    network. The best tile differs per kernel, which is what tuning is for."""
    return ConvTile(4, 3) if _vector_lanes(target) >= 16 else ConvTile(4, 2)


def _largest_divisor(extent: int, candidates) -> int:
    return next((c for c in candidates if extent % c == 0), 1)


def _rules(tile: ConvTile | None = None):
    from tvm.s_tir.dlight.cpu import GEMV, Reduction
    from tvm.s_tir.dlight.cpu.base import CPUScheduleRule

    class ChannelsLastConv(CPUScheduleRule):
        """A 2-D convolution kernel whose output is NHWC: tile = pixels × vectors of channels."""

        def apply(self, func, target, _tunable):
            if not self.is_target_available(target):
                return None
            try:
                return _schedule_channels_last_conv(func, target, tile or default_tile(target))
            except Exception:  # noqa: BLE001 - a kernel this rule cannot schedule keeps TVM's default
                return None

    return [ChannelsLastConv(), GEMV(), Reduction()]


def _schedule_channels_last_conv(func, target, tile: ConvTile):
    from tvm import s_tir
    from tvm.s_tir.dlight.analysis import normalize_prim_func
    from tvm.tirx import ForKind

    sch = s_tir.Schedule(func)
    infos = normalize_prim_func(sch)          # unit loops (batch 1, 1×1 pixels) are dropped here
    if infos is None:
        return None
    reductions = [i for i in infos if i.is_reduction()]
    if len(reductions) != 1 or "nhwc" not in reductions[0].name.lower():
        return None
    conv = reductions[0]
    position = infos.index(conv)
    producers, consumers = infos[:position], infos[position + 1:]
    if not all(p.is_injective() for p in producers) or not all(c.is_injective() for c in consumers):
        return None
    out_shape = [int(d) for d in sch.get(conv.block_rv).writes[0].source.shape]     # N, H, W, C
    spatial = [it for it in conv.iters if it.kind == "S"]
    reduce_loops = [it.loop_rv for it in conv.iters if it.kind == "R"]
    if len(out_shape) != 4 or not spatial or int(spatial[-1].dom) != out_shape[3] or not reduce_loops:
        return None
    for p in producers:                                   # padding: read straight from the input
        sch.compute_inline(p.block_rv)
    for c in consumers[:-1]:                              # bias, activation, residual, SE → one epilogue
        sch.compute_inline(c.block_rv)
    block = conv.block_rv
    if consumers:
        epilogue = consumers[-1].block_rv
        sch.set_scope(block, 0, "local")
    else:
        epilogue = sch.cache_write(block, 0, "local")

    height, width, channels = out_shape[1:]
    vec = _vector_lanes(target)
    if channels % vec == 0:
        lanes = vec * max(m for m in range(1, tile.vectors + 1) if (channels // vec) % m == 0)
    else:
        lanes = _largest_divisor(channels, [v for v in (8, 4, 2) if v <= channels])
    _pack_weights(sch, func, block, lanes)
    f_o, f_i = sch.split(spatial[-1].loop_rv, [None, lanes])
    outer = [it.loop_rv for it in spatial[:-1]]
    doms = [int(it.dom) for it in spatial[:-1]]
    inner = []
    tw = max(d for d in range(1, min(width, tile.pixels) + 1) if width % d == 0)
    th = max(d for d in range(1, min(height, tile.pixels // tw) + 1) if height % d == 0)
    # normalize_prim_func dropped unit loops: the width loop is last if width > 1, rows before it
    w_at = len(outer) - 1 if width > 1 else None
    h_at = (len(outer) - (2 if width > 1 else 1)) if height > 1 else None
    for at, extent, size in ((w_at, width, tw), (h_at, height, th)):
        if at is not None and at >= 0 and doms[at] == extent and size > 1:
            o, i = sch.split(outer[at], [None, size])
            outer[at] = o
            inner.insert(0, i)
    sch.reorder(f_o, *outer, *reduce_loops, *inner, f_i)   # a block of weights stays in L1 over the pixels
    sch.reverse_compute_at(epilogue, outer[-1] if outer else f_o)
    if lanes > vec:                          # one register per vector: LLVM spills 48-lane vectors
        f_v, f_i = sch.split(f_i, [None, vec])
        inner.append(f_v)
    sch.vectorize(f_i)
    for loop in inner:
        sch.unroll(loop)
    init = sch.decompose_reduction(block, reduce_loops[0])     # after vectorize: it needs the init
    for b in (init, epilogue):
        last = sch.get_loops(b)[-1]
        if int(sch.get(last).extent) in (lanes, vec) and sch.get(last).kind != ForKind.VECTORIZED:
            sch.vectorize(last)
    return sch


def _pack_weights(sch, func, block, lanes: int) -> None:
    """Read the weights (HWIO) from a copy packed as [O / lanes][H][W][I][lanes], so each block of
    output channels reads its weights contiguously, in loop order. The copy is a layout-rewrite
    pre-processing block: Relax's SplitLayoutRewritePreproc moves it into its own function and
    FoldConstant runs it at compile time on the constant weights."""
    # TVM 0.27: a PrimFunc's params are its buffers; "layout_free_buffers" lists the bias too, so
    # the weights are the layout-free 4-D buffer the convolution block itself reads
    free = [func.params[int(i)] for i in (func.attrs.get("layout_free_buffers") or [])] if func.attrs else []
    reads = sch.get(block).reads
    index = [i for i, r in enumerate(reads) if any(r.source.same_as(b) for b in free) and len(r.source.shape) == 4]
    if len(index) != 1 or int(reads[index[0]].source.shape[3]) % lanes:
        return
    index = index[0]
    packed = sch.cache_read(block, index, "global")
    sch.annotate(packed, "meta_schedule.layout_rewrite_preproc", True)
    sch.transform_layout(block, ("read", index), lambda h, w, i, o: (o // lanes, h, w, i, o % lanes))


def apply_default_schedules(mod, target):
    """Schedule every kernel of a legalized, fused ``mod`` that has no schedule yet (see module doc)."""
    from tvm.s_tir import dlight

    with target:
        return dlight.ApplyDefaultSchedule(*_rules())(mod)


def kernel_schedules(kernel, target) -> list:
    """The schedules (``s_tir.Schedule``, each with its trace) these rules give one kernel — an
    ``IRModule`` holding a single TIR function ``main``, as a MetaSchedule task dispatches it: one per
    :data:`TILE_CHOICES` for a convolution, one from the first rule that applies otherwise, none if no
    rule does. Tuning measures them and keeps the fastest (:func:`tvm_runtime.tune`)."""
    func = kernel["main"]
    out = []
    with target:
        for tile in dict.fromkeys((default_tile(target), *TILE_CHOICES)):   # the default first, once
            sch = _rules(tile)[0].apply(func, target, False)
            if sch is None:                        # not a channels-last convolution
                break
            if all(str(sch.mod["main"]) != str(o.mod["main"]) for o in out):
                out.append(sch)                # tiles that collapse to the same loops are measured once
        if out:
            return out
        for rule in _rules()[1:]:
            sch = rule.apply(func, target, False)
            if isinstance(sch, list):
                sch = sch[0] if sch else None
            if sch is not None:
                return [sch]
    return []


def unscheduled_kernels(mod) -> list[str]:
    """Names of ``mod``'s kernels (TIR functions) that no schedule rule or tuning record reached: they
    run as TVM's naive loop nests (in an MBConv network: the layout transposes and the squeeze-excite
    pooling). A diagnostic for a network that is unexpectedly slow under TVM."""
    from tvm import tirx

    return sorted(gvar.name_hint for gvar, func in mod.functions_items()
                  if isinstance(func, tirx.PrimFunc) and not bool(func.attrs and func.attrs.get("tirx.is_scheduled")))
