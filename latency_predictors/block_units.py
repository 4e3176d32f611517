"""A network of the MBConv/IBN space as the units a block-level latency table measures (OFA style):
the stem, every block (expand → depthwise → SE → project → residual, as the runtime fuses it) and the
head (1×1 conv → pool → classifier), each keyed by its configuration and input shape."""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import onnx
import torch
from torch import nn

from codesign.arch import ArchConfig
from codesign.workload.model_builder import ConvBNAct, InvertedBottleneck


class _Head(nn.Module):
    def __init__(self, cin: int, arch: ArchConfig):
        super().__init__()
        self.head = ConvBNAct(cin, arch.head.channels, 1, act=arch.head.activation)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(arch.head.channels, arch.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.head(x)), 1))


@dataclass(frozen=True)
class Unit:
    key: str                                  # "<config>@<channels>x<height>x<width>"
    make: Callable[[], nn.Module]
    input_shape: tuple[int, int, int, int]   # N, C, H, W (batch 1)

    def onnx(self) -> onnx.ModelProto:
        from codesign.workload.onnx_export import export_onnx

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            module = self.make()
        return export_onnx(module, input_shape=self.input_shape)


def network_units(arch: ArchConfig) -> list[Unit]:
    """Stem, blocks and head of ``arch`` in execution order."""
    res, cin = arch.resolution, arch.in_channels
    s = arch.stem
    units = [Unit(f"{s.to_string()}@{cin}x{res}x{res}",
                  lambda cin=cin: ConvBNAct(cin, s.channels, s.kernel, s.stride, act=s.activation),
                  (1, cin, res, res))]
    res, cin = -(-res // s.stride), s.channels
    for b in arch.blocks:
        units.append(Unit(f"{b.to_string()}@{cin}x{res}x{res}", lambda cin=cin, b=b: InvertedBottleneck(cin, b),
                          (1, cin, res, res)))
        res, cin = -(-res // b.stride), b.channels
    units.append(Unit(f"head_c{arch.head.channels}_{arch.head.activation}_n{arch.num_classes}@{cin}x{res}x{res}",
                      lambda cin=cin: _Head(cin, arch), (1, cin, res, res)))
    return units
