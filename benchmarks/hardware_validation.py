"""The analytical model held against published real-hardware latency, zero-shot.

    python benchmarks/hardware_validation.py [--quick] [--set NAME_OR_YAML ...]

For every validation set (``hw_configs/validation/*.yaml``: published measurements, each with its
source) the networks are built from their published definitions (:mod:`codesign.nets.imagenet`)
and evaluated by the analytical model on the set's target template (``hw_configs/targets``, written
from the device's public specification; nothing is fitted to the measurements). Reported per set:
Kendall τ and Spearman ρ of the model against the measurements, beside three naive proxies — the MAC
count, the parameter count and the roofline

    roofline_ms = MACs / peak MAC/s + max(0, weight bytes − on-chip bytes) / host-link bandwidth

(on-chip bytes: the target's weight cache, else its global buffer) — plus ``kendall_model_plain``:
the same template without its execution terms (the per-layer model before vector unit, overhead,
residency, fusion and sequential execution), ``kendall_without_<term>`` with one term switched off
at a time, and the median relative error of the model's absolute latency. No source
publishes energy per network for these sets, so there are no energy keys. ``--quick`` runs the same
sets (the whole benchmark takes seconds); it exists for the common benchmark interface.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from accel_models.analytical_backend import evaluate_batch  # noqa: E402
from accel_models.validation import (  # noqa: E402
    PROXIES, describe_set, load_validation_set, proxy_latency, rank_agreement, shipped_sets,
)
from benchmarks.bench_io import publish  # noqa: E402
from codesign.accel import AccelConfig, VectorUnit  # noqa: E402


#: each execution term of a target, and the template with that term switched off
ABLATIONS = {
    "vector_unit": lambda a: replace(a, vector_unit=VectorUnit()),
    "layer_overhead": lambda a: replace(a, layer_overhead_cycles=0.0),
    "weight_cache": lambda a: replace(a, weight_cache_bytes=0),
    "fusion": lambda a: replace(a, fuse_elementwise=False),
    "activations_on_chip": lambda a: replace(a, activations_on_chip=False),
    "sequential": lambda a: replace(a, pipelined=True),
    "tap_mapping": lambda a: replace(a, dataflow="weight_stationary") if a.dataflow == "weight_stationary_flex" else a,
}


def plain(accel: AccelConfig) -> AccelConfig:
    """The template without any execution term (and without filter taps on the input axis): the
    per-layer model of earlier versions."""
    for off in ABLATIONS.values():
        accel = off(accel)
    return accel


def score_set(name: str) -> dict:
    vs = load_validation_set(name)
    workloads = vs.workloads()
    model = evaluate_batch(workloads, [vs.target]).latency_ms
    if not np.all(np.isfinite(model) & (model > 0)):
        raise RuntimeError(f"{name}: the model gave a zero or non-finite latency for "
                           f"{[n for n, v in zip(vs.networks, model) if not (np.isfinite(v) and v > 0)]}")
    base = evaluate_batch(workloads, [plain(vs.target)]).latency_ms
    out = describe_set(vs)
    tau, rho = rank_agreement(model, vs.measured_ms)
    out.update(kendall_model=tau, spearman_model=rho)
    for proxy, values in proxy_latency(workloads, vs.target).items():
        out[f"kendall_{proxy}"] = rank_agreement(values, vs.measured_ms)[0]
    out["kendall_model_plain"] = rank_agreement(base, vs.measured_ms)[0]
    for term, off in ABLATIONS.items():
        ablated = off(vs.target)
        if ablated != vs.target:
            out[f"kendall_without_{term}"] = rank_agreement(evaluate_batch(workloads, [ablated]).latency_ms,
                                                            vs.measured_ms)[0]
    out["beats_every_proxy"] = bool(all(tau > out[f"kendall_{p}"] for p in PROXIES))
    out["median_rel_err_model"] = float(np.median(np.abs(model - vs.measured_ms) / vs.measured_ms))
    out["per_network_ms"] = {n: [round(float(m), 3), round(float(p), 3)]
                             for n, m, p in zip(vs.networks, vs.measured_ms, model)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="same sets and keys (the benchmark takes seconds)")
    ap.add_argument("--set", action="append", default=None, help="a validation set name or YAML (repeatable)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    sets = {name: score_set(name) for name in (args.set or shipped_sets())}
    res = {
        "validation_sets": {k: {kk: vv for kk, vv in v.items() if kk != "per_network_ms"} for k, v in sets.items()},
        "sets_beating_every_proxy": sum(v["beats_every_proxy"] for v in sets.values()),
        "n_sets": len(sets),
        "per_network_ms_measured_model": {k: v["per_network_ms"] for k, v in sets.items()},
        "seconds": time.perf_counter() - t0,
    }
    cmd = "python benchmarks/hardware_validation.py" + (" --quick" if args.quick else "")
    notes = ("Zero-shot: target templates from public specifications (hw_configs/targets), never fitted to these "
             "figures. Kendall τ-b / Spearman ρ against published latency; proxies: MACs, parameters, "
             "roofline = MACs / peak + weight bytes beyond on-chip memory / host-link bandwidth. "
             "`kendall_model_plain`: the same template without vector unit, overhead, residency, fusion and tap mapping. "
             "Sources: hw_configs/validation/*.yaml.")
    publish("hardware_validation" + ("_quick" if args.quick else ""), res, cmd, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
