"""An elastic (Once-for-All / TuNAS style) MBConv/IBN supernet over an ``ArchSpace``.

Every choice of the space is served by one set of shared weights:

* kernel: the centre ``k×k`` crop of the largest kernel's weights;
* expansion and width: the first channels of the widest tensors (channel slicing, batch-norm
  statistics sliced alike);
* depth: a stage runs its first ``d`` blocks and skips the rest;
* block type: each block position holds an ``ibn`` and a ``fused_ibn`` branch;
* squeeze-excite: the SE module's first ``⌊ratio × C_in⌋`` squeeze channels, or none.

``get_active_subnet()`` copies the active slices into a static :class:`~codesign.workload.model_builder.IBNNet`
whose output equals the supernet's for that subnet (tested), so a chosen subnet exports like any
other network.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..arch import ArchConfig, BlockConfig
from ..errors import Problem, ValidationError
from ..workload.model_builder import IBNNet
from ..spaces.arch_space import ArchSpace
from ..workload.from_arch import has_residual, se_channels
from .devices import model_device, to_device


CHECKPOINT_FORMAT = "codesign-supernet/2"  # 2: unexpanded blocks have weights of their own


class DynConvBN(nn.Module):
    """A convolution + batch norm whose output channels, input channels and kernel are sliced per call.

    A smaller kernel is the centre crop of the next larger one passed through a learned k²×k²
    transformation (Once-for-All's kernel transformation matrices, initialised to identity), so
    the small kernels are not forced to equal the large kernel's centre."""

    def __init__(self, out_max: int, in_max: int, k_max: int, depthwise: bool = False):
        super().__init__()
        self.depthwise = depthwise
        self.k_max = k_max
        self.weight = nn.Parameter(torch.empty(out_max, 1 if depthwise else in_max, k_max, k_max))
        nn.init.kaiming_normal_(self.weight, mode="fan_out")
        self.bn = nn.BatchNorm2d(out_max)
        self.kernel_transforms = nn.ParameterDict(
            {str(k): nn.Parameter(torch.eye(k * k)) for k in range(k_max - 2, 0, -2)})

    def sliced_weight(self, out_ch: int, in_ch: int, k: int) -> torch.Tensor:
        w = self.weight[:out_ch, : (1 if self.depthwise else in_ch)]
        size = self.k_max
        while size > k:
            size -= 2
            w = w[:, :, 1:-1, 1:-1]
            w = (w.reshape(*w.shape[:2], size * size) @ self.kernel_transforms[str(size)]).reshape(*w.shape[:2], size, size)
        return w

    def forward(self, x: torch.Tensor, out_ch: int, k: int, stride: int, act: str) -> torch.Tensor:
        in_ch = x.shape[1]
        y = F.conv2d(x, self.sliced_weight(out_ch, in_ch, k), None, stride, k // 2,
                     groups=in_ch if self.depthwise else 1)
        bn = self.bn
        y = F.batch_norm(y, bn.running_mean[:out_ch], bn.running_var[:out_ch], bn.weight[:out_ch], bn.bias[:out_ch],
                         self.training, bn.momentum, bn.eps)
        return _act(y, act)

    def copy_to(self, static: nn.Sequential, out_ch: int, in_ch: int, k: int) -> None:
        """Copy the active slice into a static ``ConvBNAct``."""
        conv, bn = static[0], static[1]
        conv.weight.data.copy_(self.sliced_weight(out_ch, in_ch, k))
        for name in ("weight", "bias"):
            getattr(bn, name).data.copy_(getattr(self.bn, name)[:out_ch])
        for name in ("running_mean", "running_var"):
            getattr(bn, name).copy_(getattr(self.bn, name)[:out_ch])


class DynSE(nn.Module):
    def __init__(self, ch_max: int, sq_max: int):
        super().__init__()
        self.reduce = nn.Conv2d(ch_max, sq_max, 1)
        self.expand = nn.Conv2d(sq_max, ch_max, 1)

    def forward(self, x: torch.Tensor, sq: int) -> torch.Tensor:
        ch = x.shape[1]
        s = F.relu(F.conv2d(x.mean((2, 3), keepdim=True), self.reduce.weight[:sq, :ch], self.reduce.bias[:sq]))
        return x * torch.sigmoid(F.conv2d(s, self.expand.weight[:ch, :sq], self.expand.bias[:ch]))

    def copy_to(self, static: nn.Module, ch: int, sq: int) -> None:
        static.reduce.weight.data.copy_(self.reduce.weight[:sq, :ch])
        static.reduce.bias.data.copy_(self.reduce.bias[:sq])
        static.expand.weight.data.copy_(self.expand.weight[:ch, :sq])
        static.expand.bias.data.copy_(self.expand.bias[:ch])


def _act(y: torch.Tensor, name: str) -> torch.Tensor:
    if name == "relu":
        return F.relu(y)
    if name == "relu6":
        return F.relu6(y)
    if name == "hswish":
        return F.hardswish(y)
    if name == "swish":
        return F.silu(y)
    return y


class DynBlock(nn.Module):
    """One block position: an ``ibn`` and a ``fused_ibn`` branch with elastic kernel, expansion, width, SE.

    Where the expansion can be 1 as well as larger, a block without expansion has weights of its own
    (``*_single``): without expansion, the fused branch's convolution produces the block's output and
    the inverted bottleneck's depthwise convolution filters the input itself, while with expansion
    the same positions hold hidden features, so shared weights would serve two roles. (Measured on
    digits_distorted: Kendall τ 0.37 shared, 0.39 split; the larger fix for fused blocks is their
    sampling share in training, ``SupernetTrainConfig.fused_probability``.)"""

    def __init__(self, in_max: int, out_max: int, k_max: int, expansions: tuple[int, ...]):
        super().__init__()
        mid = in_max * max(expansions)
        self.ibn_expand = DynConvBN(mid, in_max, 1)
        self.ibn_dw = DynConvBN(mid, mid, k_max, depthwise=True)
        self.ibn_se = DynSE(mid, in_max)
        self.ibn_project = DynConvBN(out_max, mid, 1)
        self.fused = DynConvBN(max(mid, out_max), in_max, k_max)
        self.fused_se = DynSE(max(mid, out_max), in_max)
        self.fused_project = DynConvBN(out_max, mid, 1)
        self.split_single = 1 in expansions and max(expansions) > 1
        if self.split_single:
            self.ibn_dw_single = DynConvBN(in_max, in_max, k_max, depthwise=True)
            self.ibn_se_single = DynSE(in_max, in_max)
            self.fused_single = DynConvBN(out_max, in_max, k_max)
            self.fused_se_single = DynSE(out_max, in_max)

    def _parts(self, b: BlockConfig) -> tuple[DynConvBN, DynSE, DynConvBN, DynSE]:
        """(depthwise, its SE, fused conv, its SE) serving ``b``'s expansion."""
        if self.split_single and b.expansion == 1:
            return self.ibn_dw_single, self.ibn_se_single, self.fused_single, self.fused_se_single
        return self.ibn_dw, self.ibn_se, self.fused, self.fused_se

    def forward(self, x: torch.Tensor, b: BlockConfig, gate: torch.Tensor | None = None) -> torch.Tensor:
        """``gate`` (a scalar, 1 in value) multiplies the block's own branch: a differentiable
        searcher's straight-through weight of the options that built it."""
        cin = x.shape[1]
        mid = cin * b.expansion
        sq = se_channels(cin, b.se) if b.se else 0
        dw, dw_se, fused, fused_se = self._parts(b)
        if b.type == "ibn":
            y = self.ibn_expand(x, mid, 1, 1, b.activation) if b.expansion > 1 else x
            y = dw(y, mid, b.kernel, b.stride, b.activation)
            y = dw_se(y, sq) if sq else y
            y = self.ibn_project(y, b.channels, 1, 1, "none")
        else:
            y = fused(x, mid if b.expansion > 1 else b.channels, b.kernel, b.stride, b.activation)
            y = fused_se(y, sq) if sq else y
            y = self.fused_project(y, b.channels, 1, 1, "none") if b.expansion > 1 else y
        if gate is not None:
            y = y * gate
        return x + y if has_residual(cin, b) else y

    def copy_to(self, static_block: nn.Module, cin: int, b: BlockConfig) -> None:
        mid = cin * b.expansion
        parts = list(static_block.body)
        dw, dw_se, fused, fused_se = self._parts(b)
        if b.type == "ibn":
            if b.expansion > 1:
                self.ibn_expand.copy_to(parts.pop(0), mid, cin, 1)
            dw.copy_to(parts.pop(0), mid, 1, b.kernel)
            if b.se:
                dw_se.copy_to(parts.pop(0), mid, se_channels(cin, b.se))
            self.ibn_project.copy_to(parts.pop(0), b.channels, mid, 1)
        else:
            width = mid if b.expansion > 1 else b.channels
            fused.copy_to(parts.pop(0), width, cin, b.kernel)
            if b.se:
                fused_se.copy_to(parts.pop(0), width, se_channels(cin, b.se))
            if b.expansion > 1:
                self.fused_project.copy_to(parts.pop(0), b.channels, mid, 1)


class Supernet(nn.Module):
    """Weight-sharing network over every architecture of ``space``; with ``seed`` its initial
    weights depend on that seed alone (drawn inside a forked RNG: the caller's global torch state is
    neither read nor changed), so two processes build byte-identical supernets."""

    def __init__(self, space: ArchSpace, seed: int | None = None):
        super().__init__()
        if seed is None:
            self._build(space)
            return
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self._build(space)

    def _build(self, space: ArchSpace) -> None:
        self.space = space
        k_max = max(max(st.kernel) for st in space.stages)
        self.stem = DynConvBN(max(space.stem_channels), space.in_channels, space.stem_kernel)
        stages, cin = [], max(space.stem_channels)
        for st in space.stages:
            blocks = []
            for j in range(max(st.depth)):
                blocks.append(DynBlock(cin if j == 0 else max(st.channels), max(st.channels), k_max,
                                       tuple(st.expansion)))
            stages.append(nn.ModuleList(blocks))
            cin = max(st.channels)
        self.stages = nn.ModuleList(stages)
        self.head = DynConvBN(max(space.head_channels), cin, 1)
        self.classifier = nn.Linear(max(space.head_channels), space.num_classes)
        self.active = self.largest()

    # ---- choosing the subnet --------------------------------------------------------------
    def largest(self) -> ArchConfig:
        return self.space.decode(self.space.extreme_values(largest=True))

    def smallest(self) -> ArchConfig:
        return self.space.decode(self.space.extreme_values(largest=False))

    def set_active_subnet(self, arch: ArchConfig) -> None:
        """Activate ``arch``; a choice outside the space is a ``ValidationError`` naming it."""
        self.space.encode(arch)
        self.active = arch

    def sample_active_subnet(self, rng: np.random.Generator) -> ArchConfig:
        self.active = self.space.sample(rng)
        return self.active

    # ---- forward and export -------------------------------------------------------------------
    def forward(self, x: torch.Tensor, gates: dict | None = None) -> torch.Tensor:
        """Logits of the active subnet. ``gates`` (optional) maps ``"stem"``, ``"head"`` and
        ``(stage, block)`` to scalar tensors that multiply that part's output (its branch, for a
        residual block): how a differentiable searcher's straight-through choice weights reach the loss."""
        a, gates = self.active, gates or {}
        x = self.stem(x, a.stem.channels, a.stem.kernel, a.stem.stride, a.stem.activation)
        x = x * gates["stem"] if "stem" in gates else x
        for i, (stage, blocks) in enumerate(zip(self.stages, a.stages)):
            for j, (dyn, b) in enumerate(zip(stage, blocks)):
                x = dyn(x, b, gates.get((i, j)))
        x = self.head(x, a.head.channels, 1, 1, a.head.activation)
        x = x * gates["head"] if "head" in gates else x
        x = x.mean((2, 3))
        return F.linear(x, self.classifier.weight[:, : a.head.channels], self.classifier.bias)

    def get_active_subnet(self) -> IBNNet:
        """A static network of the active architecture carrying the supernet's weights and BN statistics."""
        a = self.active
        net = IBNNet(a)
        self.stem.copy_to(net.stem, a.stem.channels, a.in_channels, a.stem.kernel)
        static_blocks = iter(net.blocks)
        cin = a.stem.channels
        for stage, blocks in zip(self.stages, a.stages):
            for dyn, b in zip(stage, blocks):
                dyn.copy_to(next(static_blocks), cin, b)
                cin = b.channels
        self.head.copy_to(net.head, a.head.channels, cin, 1)
        net.classifier.weight.data.copy_(self.classifier.weight[:, : a.head.channels])
        net.classifier.bias.data.copy_(self.classifier.bias)
        return net.eval()

    # ---- checkpoints ------------------------------------------------------------------------
    def save(self, path: str | Path | BinaryIO, extra: dict[str, Any] | None = None) -> None:
        """Weights plus the space (as JSON text) in one file (or binary stream), loadable with
        ``weights_only=True``."""
        torch.save({"format": CHECKPOINT_FORMAT, "state_dict": self.state_dict(),
                    "space": json.dumps(_space_to_dict(self.space)), "extra": json.dumps(extra or {})},
                   path if hasattr(path, "write") else str(path))

    @classmethod
    def load(cls, path: str | Path) -> Supernet:
        p = Path(path)
        if not p.is_file():
            raise ValidationError(Problem(str(p), "supernet checkpoint not found"))
        try:
            ckpt = torch.load(str(p), map_location="cpu", weights_only=True)
            if isinstance(ckpt, dict) and "state_dict" in ckpt and ckpt.get("format") != CHECKPOINT_FORMAT:
                raise ValidationError(Problem(str(p), f"supernet checkpoint format {ckpt.get('format', 1)!r}, expected "
                                                      f"{CHECKPOINT_FORMAT!r} (written by an older codesign): "
                                                      "retrain it with `codesign supernet train`"))
            space = ArchSpace.from_dict(json.loads(ckpt["space"]), source=f"{p}:space")
            net = cls(space)
            net.load_state_dict(ckpt["state_dict"])
        except ValidationError:
            raise
        except Exception as exc:  # noqa: BLE001 - torch raises many types for a foreign or corrupt file
            raise ValidationError(Problem(str(p), f"not a codesign supernet checkpoint ({type(exc).__name__}: "
                                                  f"{str(exc).splitlines()[0] if str(exc) else ''})")) from None
        return net


def _space_to_dict(space: ArchSpace) -> dict[str, Any]:
    return {
        "name": space.name, "resolution": space.resolution, "in_channels": space.in_channels,
        "num_classes": space.num_classes,
        "stem": {"kernel": space.stem_kernel, "stride": space.stem_stride, "channels": list(space.stem_channels),
                 "activation": space.stem_activation},
        "head": {"channels": list(space.head_channels), "activation": space.head_activation},
        "stages": [{"stride": st.stride, "depth": list(st.depth), "channels": list(st.channels),
                    "kernel": list(st.kernel), "expansion": list(st.expansion), "block_type": list(st.block_type),
                    "se": list(st.se), "activation": list(st.activation)} for st in space.stages],
    }


@torch.no_grad()
def recalibrate_batch_norm(model: nn.Module, x: torch.Tensor, batch_size: int = 256) -> nn.Module:
    """Replace every BN's running statistics by the exact mean/variance over ``x`` (OFA's recalibration)."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    model.train()
    device = model_device(model)
    for i in range(0, len(x), batch_size):
        model(to_device(x[i:i + batch_size], device))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    return model.eval()
