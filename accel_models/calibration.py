"""Calibrate an accelerator template to measurements of the real accelerator (RTL simulation, silicon).

The analytical model's per-layer cycles are ``max(compute / e_kind, DRAM bytes / (bw · e_dram),
buffer bytes / (gb_bw · e_gb)) + overhead``. Calibration fits the physical efficiency terms of
:class:`codesign.accel.Calibration` — per-op-kind compute efficiency, effective DRAM and buffer
bandwidth, fixed cycles per layer — to measured network latencies by least squares on log latency,
each efficiency gently pulled towards 1 (the uncalibrated model) so that terms the measurements do
not exercise stay as modelled. Efficiencies may exceed 1 (up to 4): the real accelerator can beat
the model's mapping. The calibrated template keeps every hardware parameter, so it still responds
to PE count, buffers and bandwidth inside a hardware search.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.optimize import least_squares

from codesign.accel import CALIBRATION_FIELDS, EFFICIENCY_KINDS, MAX_EFFICIENCY, AccelConfig, Calibration
from codesign.errors import Problem, ValidationError
from codesign.layer import Layer

from .analytical.cost import layer_costs
from .hardware_arrays import accel_arrays, layer_arrays

#: weight of the pull of each log-efficiency towards 0 (efficiency 1), relative to one network's log error
PRIOR_WEIGHT = 0.05
MIN_NETWORKS = 3


def _ideal_terms(accel: AccelConfig, workloads: list[list[Layer]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per layer of all workloads: ideal (compute, DRAM, buffer, vector) cycles, then the
    specification's overhead cycles and whether the layer runs on its own (1) or fused (0); op kind;
    workload index."""
    ideal = replace(accel, calibration=Calibration())
    A = accel_arrays([ideal])
    terms, kinds, owner = [], [], []
    for i, w in enumerate(workloads):
        L = layer_arrays(w)
        costs = layer_costs(L, A.take(np.zeros(len(L), dtype=np.int64)))
        terms.append(np.column_stack([costs["ideal_cycles"], costs["overhead_cycles"], costs["unfused"]]))
        kinds.append(L.kind)
        owner.append(np.full(len(L), i))
    return np.vstack(terms), np.concatenate(kinds), np.concatenate(owner)


def _predict_ms(theta: np.ndarray, terms, kinds, owner, n: int, clock_mhz: float) -> np.ndarray:
    eff = np.exp(theta[:5])[kinds]
    cycles = np.maximum.reduce([terms[:, 0] / eff, terms[:, 1] / np.exp(theta[5]), terms[:, 2] / np.exp(theta[6]),
                                terms[:, 3] / np.exp(theta[4])])
    cycles = cycles + terms[:, 4] + theta[7] * 1e3 * terms[:, 5]
    return np.bincount(owner, cycles, minlength=n) / (clock_mhz * 1e3)


def _fit(terms, kinds, owner, y: np.ndarray, clock_mhz: float) -> np.ndarray:
    n = len(y)

    def residuals(theta):
        pred = _predict_ms(theta, terms, kinds, owner, n, clock_mhz)
        return np.concatenate([np.log(pred / y), np.sqrt(PRIOR_WEIGHT) * theta[:7]])

    lo = np.array([np.log(0.001)] * 7 + [0.0])
    hi = np.array([np.log(MAX_EFFICIENCY)] * 7 + [1e3])
    best = None
    for start in (0.0, np.log(0.5), np.log(0.1), np.log(2.0)):
        x0 = np.array([start] * 7 + [0.0])
        res = least_squares(residuals, x0, bounds=(lo, hi), method="trf")
        if best is None or res.cost < best.cost:
            best = res
    return best.x


def _calibration(theta: np.ndarray) -> Calibration:
    values = [*np.clip(np.exp(theta[:7]), 0.001, MAX_EFFICIENCY), theta[7] * 1e3]
    return Calibration(**{k: round(float(v), 4) for k, v in zip(CALIBRATION_FIELDS, values)})


def calibrate_accel(accel: AccelConfig, workloads: list[list[Layer]], latency_ms: np.ndarray) -> tuple[AccelConfig, dict]:
    """The template with fitted :class:`Calibration`, and a report: median relative error of the
    ideal and the calibrated model on the measurements, and the calibrated model's leave-one-out
    median error (each network predicted by a calibration fitted without it)."""
    y = np.asarray(latency_ms, float)
    if len(y) < MIN_NETWORKS:
        raise ValidationError(Problem("measurements", f"calibration needs at least {MIN_NETWORKS} measured networks, "
                                      f"got {len(y)}"))
    terms, kinds, owner = _ideal_terms(accel, workloads)
    theta = _fit(terms, kinds, owner, y, accel.clock_mhz)
    ideal = _predict_ms(np.zeros(8), terms, kinds, owner, len(y), accel.clock_mhz)
    fitted = _predict_ms(theta, terms, kinds, owner, len(y), accel.clock_mhz)
    loo = np.empty(len(y))
    for i in range(len(y)):
        keep = owner != i
        remap = np.arange(len(y))
        remap[i + 1:] -= 1  # networks after i move up one place
        t = _fit(terms[keep], kinds[keep], remap[owner[keep]], np.delete(y, i), accel.clock_mhz)
        loo[i] = _predict_ms(t, terms[~keep], kinds[~keep], np.zeros((~keep).sum(), dtype=np.int64), 1,
                             accel.clock_mhz)[0]
    rel = lambda p: float(np.median(np.abs(p - y) / y))  # noqa: E731
    report = {"networks": len(y), "median_rel_err_ideal": rel(ideal), "median_rel_err_calibrated": rel(fitted),
              "loo_median_rel_err": rel(loo), "kinds_measured": sorted({EFFICIENCY_KINDS[k] for k in set(kinds)})}
    return replace(accel, calibration=_calibration(theta)), report
