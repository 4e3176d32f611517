"""The ``analytical`` backend: single evaluations build a full report, batches return arrays."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.accel import AccelConfig
from codesign.layer import Layer

from .analytical.cost import layer_costs
from .hardware_arrays import AccelArrays, LayerArrays, accel_arrays, layer_arrays
from .registry import register_backend
from .report import ENERGY_COMPONENTS, LATENCY_TERMS, HardwareReport, LayerCost


CHUNK_ROWS = 16_384  # (layer, accelerator) rows per vectorised pass: its ~60 float columns stay in L2/L3


@dataclass
class BatchResult:
    """Totals of many (workload, accelerator) evaluations: latency (ms), energy (mJ), area (mm²)."""

    latency_ms: np.ndarray
    energy_mj: np.ndarray
    area_mm2: np.ndarray


def _concat(parts: list[LayerArrays]) -> LayerArrays:
    return LayerArrays(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in LayerArrays.__dataclass_fields__})


def evaluate_batch(workloads: list[LayerArrays | list[Layer]], accels: list[AccelConfig] | AccelArrays,
                   pairs: np.ndarray | None = None) -> BatchResult:
    """Evaluate ``pairs`` (rows of (workload index, accelerator index)); by default workload i on
    accelerator i, or every workload on the single accelerator given. One vectorised pass."""
    wl = [w if isinstance(w, LayerArrays) else layer_arrays(w) for w in workloads]
    acc = accels if isinstance(accels, AccelArrays) else accel_arrays(list(accels))
    n_acc = len(acc.rows)
    if pairs is None:
        idx = np.arange(len(wl))
        pairs = np.stack([idx, idx if n_acc == len(wl) else np.zeros_like(idx)], axis=1)
    lengths = np.array([len(w) for w in wl])
    latency_ms = np.zeros(len(pairs))
    energy_pj = np.zeros(len(pairs))
    chunk = max(1, CHUNK_ROWS // max(int(lengths.mean()), 1))  # pairs per pass: keep arrays in cache
    for lo in range(0, len(pairs), chunk):
        part = pairs[lo:lo + chunk]
        row_pair = np.repeat(np.arange(len(part)), lengths[part[:, 0]])
        A = acc.take(part[row_pair, 1])
        costs = layer_costs(_concat([wl[w] for w in part[:, 0]]), A, detail=False)
        latency_ms[lo:lo + chunk] = np.bincount(row_pair, costs["cycles"] / (A.clock_mhz * 1e3), minlength=len(part))
        energy_pj[lo:lo + chunk] = np.bincount(row_pair, sum(costs["energy"].values()), minlength=len(part))
    return BatchResult(latency_ms, energy_pj * 1e-9, acc.area_mm2[pairs[:, 1]])


def analytical_layer_costs(workload: list[Layer], accel: AccelConfig, A: AccelArrays) -> list[LayerCost]:
    """Per-layer costs of ``workload`` on ``accel`` (``A``: its ``accel_arrays`` row), one vectorised pass."""
    costs = layer_costs(layer_arrays(workload), A.take(np.zeros(len(workload), dtype=np.int64)))
    ms = costs["cycles"] / (accel.clock_mhz * 1e3)
    terms = np.column_stack([costs["ideal_cycles"], costs["overhead_cycles"]])
    fused = ~costs["unfused"]
    return [
        LayerCost(name=l.name, op=l.op, macs=l.macs, cycles=float(costs["cycles"][i]), latency_ms=float(ms[i]),
                  energy_pj={c: float(costs["energy"][c][i]) for c in ENERGY_COMPONENTS},
                  utilization=float(costs["utilization"][i]),
                  bound="fused" if fused[i] else str(costs["bound"][i]), source="analytical",
                  terms_cycles={t: float(v) for t, v in zip(LATENCY_TERMS, terms[i])},
                  weights_resident=bool(costs["resident_weights"][i]), fused=bool(fused[i]))
        for i, l in enumerate(workload)
    ]


def evaluate_analytical(workload: list[Layer], accel: AccelConfig) -> HardwareReport:
    A = accel_arrays([accel])
    layers = analytical_layer_costs(workload, accel, A)
    return HardwareReport("analytical", accel.key, layers, sum(c.latency_ms for c in layers),
                          sum(c.energy_total_pj for c in layers) * 1e-9, float(A.area_mm2[0]))


@register_backend("analytical")
def _factory():
    return evaluate_analytical
