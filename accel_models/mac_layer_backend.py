"""Shared by backends that map conv/fc layers only (zigzag, timeloop): every other layer
(elementwise, pooling, data movement) is costed by the analytical vector-unit model and marked
``source: analytical`` in the report, so no backend ever leaves a layer out or counts it as zero."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from codesign.accel import AccelConfig
from codesign.layer import MAC_OPS, Layer

from .analytical.cost import layer_costs
from .hardware_arrays import accel_arrays, layer_arrays
from .report import ENERGY_COMPONENTS, HardwareReport, LayerCost

#: cost of one conv/fc layer: (cycles, energy pJ by component, utilization)
MacLayerCost = Callable[[Layer], tuple[float, dict[str, float], float]]


def evaluate_mac_layers(workload: list[Layer], accel: AccelConfig, backend: str, cost_of: MacLayerCost,
                        notes: list[str] | None = None) -> HardwareReport:
    acc = accel_arrays([accel])
    others = [i for i, l in enumerate(workload) if l.op not in MAC_OPS]
    vector: dict[int, LayerCost] = {}
    if others:
        sub = [workload[i] for i in others]
        costs = layer_costs(layer_arrays(sub), acc.take(np.zeros(len(sub), dtype=np.int64)))
        for j, i in enumerate(others):
            cycles = float(costs["cycles"][j])
            vector[i] = LayerCost(sub[j].name, sub[j].op, 0, cycles, cycles / (accel.clock_mhz * 1e3),
                                  {c: float(costs["energy"][c][j]) for c in ENERGY_COMPONENTS}, 0.0,
                                  str(costs["bound"][j]), "analytical")
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
