"""Report and export benchmark: `codesign report` on a 1000-trial store, and `codesign export` of a
front point with TVM compilation (untuned and tuned).

    python benchmarks/report_export.py [--quick] [--tune 64]

Report: a 1000-trial joint search (evolution, accuracy predictor fitted on the bundled real supernet
accuracies, analytical costs, SQLite store in a temporary run directory), then ``build_report``
timed end to end (store read, figures, drill-downs, PNGs). Keys ``report_trials``, ``report_s``,
``report_mb``.

Export: ``examples/smoke.yaml`` searched (supernet fidelity, so weights are supernet-inherited), then
``export_trial(pick="knee")`` timed untuned (``export_untuned_s``: weights, ONNX + check, ORT
measurement, TVM compile + fresh-process check, accelerator files, card) and with ``--tune`` trials
of MetaSchedule (``export_tuned_s``; skipped in --quick). Measured latencies of the exported network
on this host: ``ort_ms``, ``tvm_untuned_ms``, ``tvm_tuned_ms``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_io import publish  # noqa: E402
from benchmarks.search import SAMPLES  # noqa: E402
from codesign.search.config import SearchConfig  # noqa: E402
from codesign.search.loop import run_search  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def big_run(run_dir: Path, trials: int) -> float:
    cfg = SearchConfig.from_dict({
        "name": "report-bench", "seed": 0, "space": {"arch": "ibn_32_compact", "hw": "nahas_like"},
        "accuracy": {"fidelity": "predictor", "samples_file": str(SAMPLES)},
        "objectives": [{"metric": "accuracy"}, {"metric": "latency_ms"}, {"metric": "energy_mj"}],
        "searcher": {"name": "evolution", "batch": 8, "population": 64, "sample": 16},
        "budget": {"trials": trials}, "executor": {"kind": "inline"},
    }, source="report benchmark")
    t = time.perf_counter()
    run_search(cfg, run_dir, resume=False, progress=False)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--tune", type=int, default=64, help="MetaSchedule trials for the tuned export")
    args = ap.parse_args()
    from codesign.export import export_trial
    from codesign.report import build_report

    trials = 200 if args.quick else 1000
    res: dict = {"report_trials": trials}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        search_s = big_run(tmp / "big", trials)
        out = build_report(tmp / "big")
        res.update(report_s=round(out["seconds"], 2), report_mb=round(out["bytes"] / 1e6, 2))
        t = time.perf_counter()
        smoke = SearchConfig.from_yaml(ROOT / "examples" / "smoke.yaml")
        run_search(smoke, tmp / "smoke", resume=False, progress=False)
        smoke_s = time.perf_counter() - t
        card = export_trial(tmp / "smoke", pick="knee", out=tmp / "export")
        m = card["measured_on_host"]
        res.update(export_untuned_s=card["timings_s"]["total_s"], export_steps_s=card["timings_s"],
                   ort_ms=m["onnxruntime"]["median_ms"], tvm_untuned_ms=m["tvm (untuned)"]["median_ms"])
        if not args.quick:
            card = export_trial(tmp / "smoke", pick="knee", out=tmp / "export_tuned", tune=args.tune)
            res.update(tune_trials=args.tune, export_tuned_s=card["timings_s"]["total_s"],
                       tvm_tuned_ms=card["measured_on_host"][f"tvm (tuned, {args.tune} trials)"]["median_ms"])
        res.update(store_search_s=round(search_s, 1), smoke_search_s=round(smoke_s, 1))
    name = "report_export_quick" if args.quick else "report_export"
    publish(name, res, "python benchmarks/report_export.py" + (" --quick" if args.quick else ""),
            notes="Targets: report on a 1000-trial store ≤ 10 s; export of a front point including untuned TVM "
                  "compilation ≤ 60 s on 2 cores. Latencies are of the exported knee network, 1 thread, this host.")


if __name__ == "__main__":
    main()
