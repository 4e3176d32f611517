"""torch modules of FBNet-space networks (CIFAR-100 setting)."""
from __future__ import annotations

import torch
from torch import nn

from .fbnet import HEAD_CHANNELS, NUM_CLASSES, STEM_CHANNELS, block_shape, layer_plan


def _conv_bn(c_in: int, c_out: int, k: int, stride: int, groups: int, relu: bool) -> list[nn.Module]:
    mods: list[nn.Module] = [nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False),
                             nn.BatchNorm2d(c_out)]
    return mods + [nn.ReLU()] if relu else mods


class _Shuffle(nn.Module):
    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        x = x.reshape(n, self.groups, c // self.groups, h, w).transpose(1, 2)
        return x.reshape(n, c, h, w)


class _Block(nn.Module):
    def __init__(self, block: str, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.residual = stride == 1 and c_in == c_out
        if block == "skip":
            self.body = nn.Identity() if self.residual else nn.Sequential(*_conv_bn(c_in, c_out, 1, stride, 1, True))
            self.residual = False
            return
        k, e, g = block_shape(block)
        mid = c_in * e
        mods = _conv_bn(c_in, mid, 1, 1, g, True)
        if g > 1:
            mods.append(_Shuffle(g))
        mods += _conv_bn(mid, mid, k, stride, mid, True) + _conv_bn(mid, c_out, 1, 1, g, False)
        self.body = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.residual else self.body(x)


class FBNet(nn.Module):
    """An FBNet-space network for 22 block names (input 1×3×32×32, 100 classes)."""

    def __init__(self, blocks):
        super().__init__()
        self.stem = nn.Sequential(*_conv_bn(3, STEM_CHANNELS, 3, 1, 1, True))
        self.blocks = nn.Sequential(*(_Block(b, ci, co, s) for b, (ci, co, s) in zip(blocks, layer_plan())))
        self.head = nn.Sequential(*_conv_bn(layer_plan()[-1][1], HEAD_CHANNELS, 1, 1, 1, True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(HEAD_CHANNELS, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.blocks(self.stem(x)))
        return self.classifier(torch.flatten(self.pool(x), 1))
