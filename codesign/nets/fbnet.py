"""FBNet-space networks (CIFAR-100 setting, as in HW-NAS-Bench and HELP).

Architecture string: 22 block names joined by ``-``, each ``k{3,5}_e{1,3,6}``, ``k{3,5}_e1_g2`` or
``skip``. Input 32×32×3; stem 3×3 conv to 16 channels (stride 1) + BN + ReLU; 22 searchable layers in
7 stages of depths 1, 4, 4, 4, 4, 4, 1, output channels 16, 24, 32, 64, 112, 184, 352, first-layer
strides 1, 1, 2, 2, 1, 2, 1; head 1×1 conv to 1504 + BN + ReLU, global average pool, linear to 100.

A block: 1×1 conv to e × input channels (``g`` groups) + BN + ReLU, a channel shuffle when g = 2
(reshape, transpose, reshape), k×k depthwise conv with the layer's stride + BN + ReLU, 1×1 conv
(``g`` groups) to the output channels + BN, plus the input when the shapes allow. ``skip``: the
identity when they allow, otherwise 1×1 conv with the stride + BN + ReLU.
"""
from __future__ import annotations

from ..errors import DecodeError, Problem
from ..layer import Layer
from ..workload.from_arch import LayerBuilder

BLOCKS = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
STAGE_DEPTHS = (1, 4, 4, 4, 4, 4, 1)
STAGE_CHANNELS = (16, 24, 32, 64, 112, 184, 352)
STAGE_STRIDES = (1, 1, 2, 2, 1, 2, 1)
STEM_CHANNELS = 16
HEAD_CHANNELS = 1504
RESOLUTION = 32
NUM_CLASSES = 100
N_LAYERS = sum(STAGE_DEPTHS)


def parse(arch: str) -> tuple[str, ...]:
    """The 22 block names; errors name the position and the token."""
    text = arch.strip() if isinstance(arch, str) else ""
    blocks = tuple(text.split("-"))
    if len(blocks) != N_LAYERS:
        raise DecodeError(Problem("FBNet string", f"expected {N_LAYERS} block names joined by `-`, got "
                                  f"{len(blocks)} in `{text[:80]}`"))
    for i, b in enumerate(blocks):
        if b not in BLOCKS:
            raise DecodeError(Problem("FBNet string", f"block {i} is `{b}`; expected one of {', '.join(BLOCKS)}"))
    return blocks


def layer_plan() -> list[tuple[int, int, int]]:
    """(input channels, output channels, stride) of the 22 searchable layers."""
    plan, c_in = [], STEM_CHANNELS
    for depth, c_out, stride in zip(STAGE_DEPTHS, STAGE_CHANNELS, STAGE_STRIDES):
        for i in range(depth):
            plan.append((c_in, c_out, stride if i == 0 else 1))
            c_in = c_out
    return plan


def block_shape(block: str) -> tuple[int, int, int]:
    """(kernel, expansion, groups) of a non-skip block name."""
    parts = block.split("_")
    return int(parts[0][1:]), int(parts[1][1:]), int(parts[2][1:]) if len(parts) > 2 else 1


def _block(bld: LayerBuilder, name: str, block: str, c_out: int, stride: int) -> None:
    c_in = bld.ch
    residual = stride == 1 and c_in == c_out
    if block == "skip":
        if not residual:
            bld.conv(f"{name}.conv", c_out, 1, stride, 1, "relu")
        return
    k, e, g = block_shape(block)
    bld.conv(f"{name}.expand", c_in * e, 1, 1, g, "relu")
    if g > 1:
        n, ch, h, w = bld.n, bld.ch, bld.h, bld.w
        for step in ("reshape", "transpose", "reshape"):
            bld.layers.append(Layer("data_movement", step, n, ch, ch, h, w, name=f"{name}.shuffle.{step}"))
    bld.conv(f"{name}.dw", c_in * e, k, stride, c_in * e, "relu")
    bld.conv(f"{name}.project", c_out, 1, 1, g, "none")
    if residual:
        bld.elementwise(f"{name}.residual", "add")


def workload(arch: str, batch: int = 1) -> list[Layer]:
    """The layers an FBNet-space network executes for ``batch`` images, in order."""
    blocks = parse(arch)
    bld = LayerBuilder(batch, 3, RESOLUTION)
    bld.conv("stem", STEM_CHANNELS, 3, 1, 1, "relu")
    for i, (block, (_, c_out, stride)) in enumerate(zip(blocks, layer_plan())):
        _block(bld, f"l{i}", block, c_out, stride)
    bld.conv("head.conv", HEAD_CHANNELS, 1, 1, 1, "relu")
    bld.head(NUM_CLASSES)
    return bld.layers


def torch_module(arch: str):
    """The network as a torch module (random weights), for ONNX export and measurement."""
    from ._torch_fbnet import FBNet
    return FBNet(parse(arch))


def sample(rng) -> str:
    """A uniformly random FBNet-space string."""
    return "-".join(BLOCKS[int(rng.integers(len(BLOCKS)))] for _ in range(N_LAYERS))
