"""Reference points for the hypervolume: the worst value of each objective that still counts.

An objective without a ``reference`` in the configuration gets one here, from the space itself
(never from what a searcher found, so every searcher of a run is measured against the same point):
accuracy → 0; hardware and size metrics → the largest value among 256 random candidates drawn
from a fixed seed, scored by the run's cost-model backend (the analytical model scores all 256 at
once; another backend scores the candidates the analytical model finds worst on each metric, so a
slow backend costs a handful of evaluations). A metric whose registry entry has a reference uses it;
any other needs an explicit one.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import Problem, ValidationError
from ..layer import workload_totals
from ..workload.from_arch import arch_workload
from .objectives import Objective
from accel_models.registry import evaluate
from accel_models.analytical_backend import evaluate_batch

REFERENCE_SAMPLES = 256


HARDWARE_METRICS = ("latency_ms", "energy_mj", "area_mm2")


def space_maxima(space, n: int = REFERENCE_SAMPLES, seed: int = 12345, backend: str = "analytical") -> dict[str, float]:
    """Largest latency (ms), energy (mJ), area (mm²), params and MACs among ``n`` random candidates
    of ``space`` (any space decoding to network × accelerator candidates)."""
    rng = np.random.default_rng(seed)
    cands = [space.decode({c.name: c.sample(rng) for c in space.choices()}) for _ in range(n)]
    workloads = [arch_workload(c.arch) for c in cands]
    res = evaluate_batch(workloads, [c.accel for c in cands])
    columns = {"latency_ms": res.latency_ms, "energy_mj": res.energy_mj, "area_mm2": res.area_mm2}
    out = {m: float(v.max()) for m, v in columns.items()}
    if backend != "analytical":
        worst = sorted({int(np.argmax(v)) for v in columns.values()})
        reports = [evaluate(workloads[i], cands[i].accel, backend) for i in worst]
        out = {m: max(float(getattr(r, m)) for r in reports) for m in HARDWARE_METRICS}
    totals = [workload_totals(w) for w in workloads]
    return {**out, "params": float(max(t["params"] for t in totals)), "macs": float(max(t["macs"] for t in totals))}


def resolve_references(objectives: tuple[Objective, ...], joint, backend: str = "analytical") -> tuple[Objective, ...]:
    missing = [o for o in objectives if o.reference is None]
    if not missing:
        return objectives
    maxima = space_maxima(joint, backend=backend) if any(o.metric in ("latency_ms", "energy_mj", "area_mm2", "params", "macs")
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
