"""A metric of your own, without editing codesign: peak activation memory (KiB) as a search objective.

Edge targets run out of SRAM for activations long before they run out of MACs. This example
declares the metric once (its direction, unit, axis label and how to compute it from a candidate),
then runs the ordinary YAML-configured joint search with it as the third objective; the report plots
it and the model card of an exported trial lists it with its unit.

    python examples/custom_metric.py --out runs/peak_memory            # search + report
    codesign export runs/peak_memory --pick min-peak_activation_kib    # then export the smallest
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from codesign import Candidate, MetricSpec, register_metric
from codesign.workload import arch_workload


def peak_activation_kib(candidate: Candidate) -> float:
    """Largest activation footprint of any layer (its input tensors plus its output, KiB), at the
    accelerator's precision: what must be live at once when layers run one after another."""
    bytes_per_elem = candidate.accel.precision_bits / 8
    peak = max((layer.input_elems + layer.output_elems) * bytes_per_elem for layer in arch_workload(candidate.arch))
    return peak / 1024


PEAK_ACTIVATION = register_metric(MetricSpec(
    "peak_activation_kib", "minimize", "KiB", "peak activation memory (KiB)", scale="log",
    description="largest input + output activation footprint of one layer at the accelerator's precision",
    compute=peak_activation_kib))


def config(trials: int, accuracy: dict[str, Any] | None = None) -> dict[str, Any]:
    """The smoke search (examples/smoke.yaml) with peak activation memory as a third objective."""
    return {
        "name": "peak_memory", "seed": 0,
        "space": {"arch": "ibn_32_compact", "hw": "nahas_like"},
        "accuracy": accuracy or {"fidelity": "supernet", "supernet": {"steps": 30, "batch_size": 64, "seed": 0},
                                 "calib_images": 256},
        "objectives": ["accuracy", "latency_ms", {"metric": "peak_activation_kib", "reference": 1024.0}],
        "constraints": {"area_mm2": {"max": 10.0}},
        "searcher": {"name": "evolution", "batch": 8, "population": 16, "sample": 4},
        "budget": {"trials": trials},
    }


def main(out: str | Path, trials: int = 24, accuracy: dict[str, Any] | None = None) -> dict[str, Any]:
    from codesign.report import build_report
    from codesign.search.config import SearchConfig
    from codesign.search.loop import run_search
    from codesign.search.summary import write_summary

    run_search(SearchConfig.from_dict(config(trials, accuracy), source="custom_metric.py"), out, progress=False)
    summary = write_summary(out)
    report = build_report(out)
    return {"summary": summary, "report": report["report"]}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/peak_memory")
    ap.add_argument("--trials", type=int, default=24)
    args = ap.parse_args()
    result = main(args.out, args.trials)
    print(json.dumps({k: result["summary"][k] for k in ("trials_settled", "front_size", "hypervolume")}))
