"""Reference points for the hypervolume: the worst value of each objective that still counts.

An objective without a ``reference`` in the configuration gets one here, from the space itself
(never from what a searcher found, so every searcher of a run is measured against the same point):
accuracy → 0; hardware and size metrics → the largest value among 256 random candidates drawn
from a fixed seed, scored by the analytical cost model. Measured latency needs an explicit one.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import Problem, ValidationError
from ..layer import workload_totals
from ..spaces.joint_space import JointSpace
from ..workload.from_arch import arch_workload
from .objectives import Objective

REFERENCE_SAMPLES = 256


def space_maxima(joint: JointSpace, n: int = REFERENCE_SAMPLES, seed: int = 12345) -> dict[str, float]:
    """Largest latency (ms), energy (mJ), area (mm²), params and MACs among ``n`` random candidates."""
    from accel_models.analytical_backend import evaluate_batch

    rng = np.random.default_rng(seed)
    cands = [joint.sample(rng) for _ in range(n)]
    workloads = [arch_workload(c.arch) for c in cands]
    res = evaluate_batch(workloads, [c.accel for c in cands])
    totals = [workload_totals(w) for w in workloads]
    return {"latency_ms": float(res.latency_ms.max()), "energy_mj": float(res.energy_mj.max()),
            "area_mm2": float(res.area_mm2.max()), "params": float(max(t["params"] for t in totals)),
            "macs": float(max(t["macs"] for t in totals))}


def resolve_references(objectives: tuple[Objective, ...], joint: JointSpace) -> tuple[Objective, ...]:
    missing = [o for o in objectives if o.reference is None]
    if not missing:
        return objectives
    maxima = space_maxima(joint) if any(o.metric in ("latency_ms", "energy_mj", "area_mm2", "params", "macs")
                                        for o in missing) else {}
    out = []
    for o in objectives:
        if o.reference is None:
            if o.metric == "accuracy":
                o = replace(o, reference=0.0)
            elif o.metric in maxima:
                o = replace(o, reference=maxima[o.metric])
            else:
                raise ValidationError(Problem(f"objectives.{o.metric}.reference",
                                              f"give a reference (worst value that counts) for {o.metric}"))
        out.append(o)
    return tuple(out)
