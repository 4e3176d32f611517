"""Workload of an ``ArchConfig``: the list of ``Layer`` s the built network executes, in order.

The layers are those a deployed (batch-norm folded, activation fused) graph runs, at the
granularity of :func:`codesign.workload.onnx_graph.workload_from_onnx`, which must produce the same
list from the exported ONNX model (tested layer by layer).
"""
from __future__ import annotations

from ..arch import ArchConfig, BlockConfig
from ..layer import Layer


def conv_op_kind(c: int, k: int, r: int, s: int, groups: int) -> str:
    """``depthwise`` (one input channel per group), ``pointwise`` (1×1, dense) or ``conv``."""
    if groups > 1 and groups == c and k % c == 0:
        return "depthwise"
    if r == 1 and s == 1 and groups == 1:
        return "pointwise"
    return "conv"


def conv_out_size(size: int, kernel: int, stride: int, pad_total: int, dilation: int = 1) -> int:
    """Output pixels of a convolution along one axis."""
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def se_channels(block_in: int, ratio: float) -> int:
    """Squeeze width of a squeeze-excite module: ``ratio`` × the block's input channels, at least 1."""
    return max(1, int(block_in * ratio))


def has_residual(block_in: int, b: BlockConfig) -> bool:
    """A block adds its input to its output when the shapes allow it."""
    return b.stride == 1 and block_in == b.channels


class LayerBuilder:
    """Appends layers while tracking the current tensor shape (channels, height, width); the
    network families of :mod:`codesign.nets` build their workloads with it too."""

    def __init__(self, batch: int, channels: int, resolution: int):
        self.n = batch
        self.ch = channels
        self.h = self.w = resolution
        self.layers: list[Layer] = []

    def pool(self, name: str, fn: str, kernel: int, stride: int, pad_total: int) -> None:
        """A ``kernel``×``kernel`` pooling window (``fn``: ``avg``/``max``) over the current tensor."""
        p = conv_out_size(self.h, kernel, stride, pad_total)
        q = conv_out_size(self.w, kernel, stride, pad_total)
        self.layers.append(Layer("pool", fn, self.n, self.ch, self.ch, p, q, kernel, kernel, stride, stride,
                                 self.h, self.w, name=name))
        self.h, self.w = p, q

    def head(self, num_classes: int) -> None:
        """Global average pool, flatten and the classifier: the tail every family shares."""
        ch, h, w = self.ch, self.h, self.w
        self.layers.append(Layer("pool", "gavg", self.n, ch, ch, 1, 1, h, w, name="head.pool"))
        self.layers.append(Layer("data_movement", "flatten", self.n, ch, ch, 1, 1, name="head.flatten"))
        self.layers.append(Layer("fc", "none", self.n, num_classes, ch, 1, 1, bias=1, name="classifier"))

    def conv(self, name: str, out_ch: int, kernel: int, stride: int, groups: int, fn: str, bias: int = 1) -> None:
        pad = 2 * (kernel // 2)
        p = conv_out_size(self.h, kernel, stride, pad)
        q = conv_out_size(self.w, kernel, stride, pad)
        op = conv_op_kind(self.ch, out_ch, kernel, kernel, groups)
        self.layers.append(Layer(op, fn, self.n, out_ch, self.ch, p, q, kernel, kernel, stride, stride,
                                 self.h, self.w, 1, 1, groups, bias=bias, name=name))
        self.ch, self.h, self.w = out_ch, p, q

    def elementwise(self, name: str, fn: str, operands: int = 2) -> None:
        self.layers.append(Layer("elementwise", fn, self.n, self.ch, self.ch, self.h, self.w,
                                 operands=operands, name=name))

    def squeeze_excite(self, name: str, squeeze: int, gate: str = "sigmoid") -> None:
        """Global pool, 1×1 to ``squeeze`` channels (ReLU), 1×1 back with the ``gate`` function, scale."""
        ch, h, w = self.ch, self.h, self.w
        self.layers.append(Layer("pool", "gavg", self.n, ch, ch, 1, 1, h, w, name=f"{name}.pool"))
        self.layers.append(Layer("pointwise", "relu", self.n, squeeze, ch, 1, 1, bias=1, name=f"{name}.reduce"))
        self.layers.append(Layer("pointwise", gate, self.n, ch, squeeze, 1, 1, bias=1, name=f"{name}.expand"))
        self.elementwise(f"{name}.scale", "mul")

    def block(self, name: str, b: BlockConfig) -> None:
        block_in = self.ch
        mid = block_in * b.expansion
        if b.type == "ibn":
            if b.expansion > 1:
                self.conv(f"{name}.expand", mid, 1, 1, 1, b.activation)
            self.conv(f"{name}.dw", mid, b.kernel, b.stride, mid, b.activation)
        else:  # fused_ibn
            self.conv(f"{name}.fused", mid if b.expansion > 1 else b.channels, b.kernel, b.stride, 1,
                      b.activation)
        if b.se:
            self.squeeze_excite(f"{name}.se", se_channels(block_in, b.se))
        if b.type == "ibn" or b.expansion > 1:
            self.conv(f"{name}.project", b.channels, 1, 1, 1, "none")
        if has_residual(block_in, b):
            self.elementwise(f"{name}.residual", "add")


def arch_workload(arch: ArchConfig, batch: int = 1) -> list[Layer]:
    """The layers of ``arch`` for a batch of ``batch`` images, in execution order."""
    bld = LayerBuilder(batch, arch.in_channels, arch.resolution)
    bld.conv("stem", arch.stem.channels, arch.stem.kernel, arch.stem.stride, 1, arch.stem.activation)
    for si, stage in enumerate(arch.stages):
        for bi, b in enumerate(stage):
            bld.block(f"s{si}.b{bi}", b)
    bld.conv("head.conv", arch.head.channels, 1, 1, 1, arch.head.activation)
    bld.head(arch.num_classes)
    return bld.layers
