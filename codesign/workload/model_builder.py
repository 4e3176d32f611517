"""``ArchConfig`` → ``torch.nn.Module``, mirroring :mod:`codesign.workload.from_arch` block by block."""
from __future__ import annotations

import torch
from torch import nn

from ..arch import ArchConfig, BlockConfig
from .from_arch import has_residual, se_channels

_ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6, "hswish": nn.Hardswish, "swish": nn.SiLU}


def make_activation(name: str) -> nn.Module:
    return _ACTIVATIONS[name]() if name != "none" else nn.Identity()


class ConvBNAct(nn.Sequential):
    """k×k convolution (no bias) → batch norm → activation (``"none"`` for a linear projection)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: str = "relu"):
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            make_activation(act),
        )


class SqueezeExcite(nn.Module):
    """Global pool → 1×1 reduce (ReLU) → 1×1 expand (sigmoid) → channel-wise scale."""

    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, squeeze, 1)
        self.act = nn.ReLU()
        self.expand = nn.Conv2d(squeeze, channels, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.expand(self.act(self.reduce(self.pool(x)))))


class InvertedBottleneck(nn.Module):
    """An ``ibn`` or ``fused_ibn`` block (see :class:`codesign.arch.BlockConfig`)."""

    def __init__(self, cin: int, cfg: BlockConfig):
        super().__init__()
        mid = cin * cfg.expansion
        layers: list[nn.Module] = []
        if cfg.type == "ibn":
            if cfg.expansion > 1:
                layers.append(ConvBNAct(cin, mid, 1, act=cfg.activation))
            layers.append(ConvBNAct(mid, mid, cfg.kernel, cfg.stride, groups=mid, act=cfg.activation))
        else:
            width = mid if cfg.expansion > 1 else cfg.channels
            layers.append(ConvBNAct(cin, width, cfg.kernel, cfg.stride, act=cfg.activation))
        if cfg.se:
            width = mid if (cfg.type == "ibn" or cfg.expansion > 1) else cfg.channels
            layers.append(SqueezeExcite(width, se_channels(cin, cfg.se)))
        if cfg.type == "ibn" or cfg.expansion > 1:
            layers.append(ConvBNAct(mid, cfg.channels, 1, act="none"))
        self.body = nn.Sequential(*layers)
        self.residual = has_residual(cin, cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class IBNNet(nn.Module):
    """The network of an ``ArchConfig``: stem → blocks → 1×1 head conv → global pool → classifier."""

    def __init__(self, arch: ArchConfig):
        super().__init__()
        self.arch = arch
        self.stem = ConvBNAct(arch.in_channels, arch.stem.channels, arch.stem.kernel, arch.stem.stride,
                              act=arch.stem.activation)
        blocks, cin = [], arch.stem.channels
        for b in arch.blocks:
            blocks.append(InvertedBottleneck(cin, b))
            cin = b.channels
        self.blocks = nn.Sequential(*blocks)
        self.head = ConvBNAct(cin, arch.head.channels, 1, act=arch.head.activation)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(arch.head.channels, arch.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.blocks(self.stem(x)))
        return self.classifier(torch.flatten(self.pool(x), 1))


def build_model(arch: ArchConfig, seed: int | None = None) -> IBNNet:
    """Build the network; with ``seed`` the initial weights are reproducible (a local generator)."""
    if seed is None:
        return IBNNet(arch)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return IBNNet(arch)


def count_params(arch: ArchConfig) -> int:
    """Trainable parameters of :func:`build_model` (conv weights, BN scale and shift, SE and FC biases),
    computed from the config alone."""

    def conv_bn(cin: int, cout: int, k: int, groups: int = 1) -> int:
        return cout * (cin // groups) * k * k + 2 * cout

    total = conv_bn(arch.in_channels, arch.stem.channels, arch.stem.kernel)
    cin = arch.stem.channels
    for b in arch.blocks:
        mid = cin * b.expansion
        if b.type == "ibn":
            total += (conv_bn(cin, mid, 1) if b.expansion > 1 else 0) + conv_bn(mid, mid, b.kernel, mid)
            width = mid
        else:
            width = mid if b.expansion > 1 else b.channels
            total += conv_bn(cin, width, b.kernel)
        if b.se:
            sq = se_channels(cin, b.se)
            total += (width * sq + sq) + (sq * width + width)
        if b.type == "ibn" or b.expansion > 1:
            total += conv_bn(mid, b.channels, 1)
        cin = b.channels
    total += conv_bn(cin, arch.head.channels, 1)
    total += arch.head.channels * arch.num_classes + arch.num_classes
    return total
