"""The run's tables: every trial and the Pareto front, as CSV and JSON, plus a summary JSON.

Columns: trial number, searcher index, phase, state, candidate (and its architecture and
accelerator strings), every flat metric (units in the names), feasibility, constraint violation,
reward, whether the trial is on the front, the per-stage seconds, and the error of a failed trial.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..json_io import write_json_atomic
from .config import SearchConfig
from .objectives import METRICS, losses
from ..pareto import hypervolume, hypervolume_history, pareto_mask
from .store import TrialStore

SUMMARY_FORMAT = "codesign.search_summary.v1"


def trial_rows(cfg: SearchConfig, store: TrialStore) -> list[dict[str, Any]]:
    """One row per trial (interrupted-and-retried trials included, marked by their error)."""
    measured = store.info("measured_latency", {})
    rows = []
    for t in store.trials():
        r = t.result
        flat = dict(r.get("flat") or {})
        arch, _, accel = t.candidate.partition("@")
        if arch in measured and "measured_latency_ms" not in flat:
            flat["measured_latency_ms"] = measured[arch]["median_ms"]
        rows.append({"trial": t.number, "index": t.index, "phase": t.phase, "state": t.state,
                     "candidate": t.candidate, "arch": arch, "accel": accel,
                     **{m: flat.get(m) for m in METRICS},
                     "feasible": bool(r.get("feasible", False)) if t.state == "COMPLETE" else False,
                     "violation": r.get("violation"), "reward": r.get("reward"), "on_front": False,
                     **{f"{k}": v for k, v in (r.get("timings_s") or {}).items()},
                     "error": t.error})
    ok = [i for i, row in enumerate(rows) if row["feasible"]]
    if ok:
        ls = np.array([losses(rows[i], list(cfg.objectives)) for i in ok])
        for i, m in zip(ok, pareto_mask(ls)):
            rows[i]["on_front"] = bool(m)
    return rows


def settled(rows: list[dict[str, Any]], store: TrialStore) -> list[dict[str, Any]]:
    """Rows of the trials that count towards the budget (the store's rule), in searcher order."""
    numbers = {t.number for t in store.finished_by_index().values()}
    return sorted((r for r in rows if r["trial"] in numbers), key=lambda r: r["index"])


def trial_counts(done: list[dict[str, Any]]) -> dict[str, int]:
    """Settled, completed, failed and infeasible trials among the settled rows ``done``."""
    return {"trials_settled": len(done), "trials_completed": sum(r["state"] == "COMPLETE" for r in done),
            "trials_failed": sum(r["state"] == "FAIL" for r in done),
            "trials_infeasible": sum(r["state"] == "COMPLETE" and not r["feasible"] for r in done)}


def hv_history(cfg: SearchConfig, rows: list[dict[str, Any]]) -> list[float]:
    """Hypervolume after each of the settled ``rows`` (see :func:`settled`)."""
    if not rows:
        return []
    ls = np.array([losses(r, list(cfg.objectives)) if r["feasible"] else [np.inf] * len(cfg.objectives)
                   for r in rows])
    return hypervolume_history(ls, np.array([r["feasible"] for r in rows])).tolist()


def write_summary(cfg: SearchConfig, store: TrialStore, run_dir: Path) -> dict[str, Any]:
    rows = trial_rows(cfg, store)
    front = [r for r in rows if r["on_front"]]
    _write_csv(run_dir / "trials.csv", rows)
    _write_csv(run_dir / "front.csv", front)
    write_json_atomic(run_dir / "trials.json", rows, indent=1)
    write_json_atomic(run_dir / "front.json", front, indent=1)
    done = settled(rows, store)
    ls = np.array([losses(r, list(cfg.objectives)) for r in front]) if front else np.zeros((0, len(cfg.objectives)))
    summary = {
        "format": SUMMARY_FORMAT, "name": cfg.name, "searcher": cfg.searcher, "mode": cfg.mode, "seed": cfg.seed,
        "budget_trials": cfg.trials, **trial_counts(done), "front_size": len(front), "hypervolume": hypervolume(ls),
        "objectives": [o.to_dict() for o in cfg.objectives],
        "constraints": [c.to_dict() for c in cfg.constraints],
        "elapsed_s": store.info("elapsed_s", 0.0), "setup_timings_s": store.info("setup_timings_s", {}),
        "setup_s": sum(store.info("setup_timings_s", {}).values()),
        "total_s": store.info("elapsed_s", 0.0) + sum(store.info("setup_timings_s", {}).values()),
        "storage": store.info("storage"),
    }
    write_json_atomic(run_dir / "summary.json", summary, indent=1)
    return summary


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols or ["trial"])
    w.writeheader()
    for r in rows:
        w.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in r.items()})
    tmp = path.with_suffix(".tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    tmp.replace(path)
