"""Shared by backends that map conv/fc layers only (zigzag, timeloop): every other layer
(elementwise, pooling, data movement) is costed by the analytical vector-unit model and marked
``source: analytical`` in the report, so no backend ever leaves a layer out or counts it as zero."""
from __future__ import annotations

from collections.abc import Callable

from codesign.accel import AccelConfig
from codesign.layer import MAC_OPS, Layer

from .analytical_backend import analytical_layer_costs
from .hardware_arrays import accel_arrays
from .report import HardwareReport, LayerCost

#: cost of one conv/fc layer: (cycles, energy pJ by component, utilization)
MacLayerCost = Callable[[Layer], tuple[float, dict[str, float], float]]


def evaluate_mac_layers(workload: list[Layer], accel: AccelConfig, backend: str, cost_of: MacLayerCost,
                        notes: list[str] | None = None) -> HardwareReport:
    acc = accel_arrays([accel])
    others = [i for i, l in enumerate(workload) if l.op not in MAC_OPS]
    vector = dict(zip(others, analytical_layer_costs([workload[i] for i in others], accel, acc))) if others else {}
    layers = []
    for i, layer in enumerate(workload):
        if i in vector:
            layers.append(vector[i])
            continue
        cycles, energy, util = cost_of(layer)
        layers.append(LayerCost(layer.name, layer.op, layer.macs, cycles, cycles / (accel.clock_mhz * 1e3),
                                energy, util, "n/a", backend))
    notes = list(notes or [])
    if others:
        notes.append(f"{len(others)} elementwise/pooling/data-movement layers costed by the analytical vector model")
    return HardwareReport(backend, accel.key, layers, sum(l.latency_ms for l in layers),
                          sum(l.energy_total_pj for l in layers) * 1e-9, float(acc.area_mm2[0]), notes)
