"""A network of the MBConv/IBN space as the units a block-level latency table measures (OFA style):
the stem, every block (expand → depthwise → SE → project → residual, as the runtime fuses it) and the
head (1×1 conv → pool → classifier), each keyed by its configuration and input shape — and, for a
network that runs as int8 (:func:`codesign.quantization.onnx_int8.runs_as_int8`), measured as a
static int8 QDQ model under the key suffix ``#int8``."""
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
    key: str                                  # "<config>@<channels>x<height>x<width>[#int8]"
    make: Callable[[], nn.Module]
    input_shape: tuple[int, int, int, int]   # N, C, H, W (batch 1)
    int8: bool = False

    def onnx(self) -> onnx.ModelProto:
        from codesign.workload.onnx_export import export_onnx

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            module = self.make()
        model = export_onnx(module, input_shape=self.input_shape)
        if self.int8:
            from codesign.quantization.onnx_int8 import int8_for_timing

            model = int8_for_timing(model)
        return model


def network_units(arch: ArchConfig) -> list[Unit]:
    """Stem, blocks and head of ``arch`` in execution order."""
    from codesign.quantization.onnx_int8 import runs_as_int8

    int8 = runs_as_int8(arch.quant)
    tag = "#int8" if int8 else ""
    res, cin = arch.resolution, arch.in_channels
    s = arch.stem
    units = [Unit(f"{s.to_string()}@{cin}x{res}x{res}{tag}",
                  lambda cin=cin: ConvBNAct(cin, s.channels, s.kernel, s.stride, act=s.activation),
                  (1, cin, res, res), int8)]
    res, cin = -(-res // s.stride), s.channels
    for b in arch.blocks:
        units.append(Unit(f"{b.to_string()}@{cin}x{res}x{res}{tag}", lambda cin=cin, b=b: InvertedBottleneck(cin, b),
                          (1, cin, res, res), int8))
        res, cin = -(-res // b.stride), b.channels
    units.append(Unit(f"head_c{arch.head.channels}_{arch.head.activation}_n{arch.num_classes}@{cin}x{res}x{res}{tag}",
                      lambda cin=cin: _Head(cin, arch), (1, cin, res, res), int8))
    return units
