"""torch modules of NAS-Bench-201 networks, mirroring its reference implementation (``InferCell``)."""
from __future__ import annotations

import torch
from torch import nn

from .nasbench201 import CELLS_PER_STAGE, NUM_CLASSES, STAGE_CHANNELS


def _relu_conv_bn(c_in: int, c_out: int, k: int, stride: int) -> nn.Module:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False), nn.BatchNorm2d(c_out))


class _Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def _op(name: str, c: int) -> nn.Module:
    if name.startswith("nor_conv"):
        return _relu_conv_bn(c, c, int(name[-1]), 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    if name == "none":
        return _Zero()
    return nn.Identity()


class _Cell(nn.Module):
    def __init__(self, cell, c: int):
        super().__init__()
        self.edges = [[i for _, i in node] for node in cell]
        self.ops = nn.ModuleList(nn.ModuleList(_op(op, c) for op, _ in node) for node in cell)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for ops, sources in zip(self.ops, self.edges):
            nodes.append(sum(op(nodes[i]) for op, i in zip(ops, sources)))
        return nodes[-1]


class _Reduction(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = _relu_conv_bn(c_in, c_out, 3, 2)
        self.conv_b = _relu_conv_bn(c_out, c_out, 3, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2, 0), nn.Conv2d(c_in, c_out, 1, 1, 0, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    """NAS-Bench-201's network for one cell (input 1×3×32×32, 10 classes)."""

    def __init__(self, cell):
        super().__init__()
        c0 = STAGE_CHANNELS[0]
        layers: list[nn.Module] = [nn.Conv2d(3, c0, 3, padding=1, bias=False), nn.BatchNorm2d(c0)]
        prev = c0
        for si, c in enumerate(STAGE_CHANNELS):
            if si:
                layers.append(_Reduction(prev, c))
            layers.extend(_Cell(cell, c) for _ in range(CELLS_PER_STAGE))
            prev = c
        self.features = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(prev), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(prev, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lastact(self.features(x))
        return self.classifier(torch.flatten(self.pool(x), 1))
