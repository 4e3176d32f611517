"""Reading a finished (or running) search: its trials as records and table rows, the front, the
hypervolume history, and the tables written beside the store.

A run made from YAML and one made through the Python API read the same way: the objectives and
constraints come from the store's ``run_info`` (an older run without it, from ``config.yaml``).

Columns: trial number, searcher index, phase, state, candidate (and, for network × accelerator
candidates, the architecture and accelerator strings), every metric (units in the names),
feasibility, constraint violation, reward, whether the trial is on the front, the per-stage seconds,
and the error of a failed trial.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import Problem, ValidationError
from ..json_io import write_json_atomic
from ..yaml_io import load_yaml
from ..metric_registry import MetricSpec, is_metric, metric_names, register_metric
from ..pareto import hypervolume, hypervolume_history
from ..run import STORE_FILE, TABLE_FILES, Run, TrialRecord, front_of, settled_by_index
from .objectives import Constraint, Objective, Scoring
from .store import TrialStore, open_run_store

SUMMARY_FORMAT = "codesign.search_summary.v1"


@dataclass
class RunTrials:
    """Every trial of a run, scored on its objectives, with what the store says about the run."""

    run: Run
    store: TrialStore
    info: dict[str, Any]          # the store's run_info: name, objectives, constraints, space, searcher, seed
    scoring: Scoring
    records: list[TrialRecord]    # every trial, in store order
    config_run: bool              # made from a YAML configuration (config.yaml in the run directory)

    @property
    def objectives(self) -> list[Objective]:
        return list(self.scoring.objectives)

    def metric_names(self) -> list[str]:
        """The table's metric columns: every declared metric a trial has, the objectives' and
        constraints' first, then the built-in ones in their declared order."""
        seen = set(self.scoring.metrics)
        for r in self.records:
            seen.update(r.metrics or {})
        builtin = [m for m in metric_names() if m in seen]
        ordered = list(dict.fromkeys([*self.scoring.metrics, *builtin]))
        return ordered + sorted(seen - set(ordered))

    def settled(self) -> list[TrialRecord]:
        """The trials that count towards the budget (the store's rule), in searcher order."""
        by_index = settled_by_index(self.records)
        return [by_index[i] for i in sorted(by_index)]

    def rows(self) -> list[dict[str, Any]]:
        """One row per trial (interrupted-and-retried trials included, marked by their error)."""
        measured = self.store.info("measured_latency", {})
        names = self.metric_names()
        front = {id(r) for r in front_of(self.records)}
        rows = []
        for r in self.records:
            row = r.row(names)
            row["on_front"] = id(r) in front
            if row.get("arch") in measured and row.get("measured_latency_ms") is None:
                row["measured_latency_ms"] = measured[row["arch"]]["median_ms"]
            rows.append(row)
        return rows


def load_run_trials(run_dir: str | Path) -> RunTrials:
    """The trials of the run in ``run_dir`` (a YAML run, or one the Python API made there). Plug-in
    metrics the run declared are declared here too (from the store), so a fresh process reads it."""
    run = Run(run_dir)
    if run.is_config_run():
        raw = load_yaml(run.config_path)
        raw = raw if isinstance(raw, dict) else {}
        run = Run(run.dir, raw.get("storage"), str(raw.get("name") or "search"))
    elif (run.dir / STORE_FILE).is_file():
        run = Run(run.dir, None, _only_study(run))
    else:
        raise ValidationError(Problem(str(run.dir), f"not a search run directory (no config.yaml or {STORE_FILE})"))
    store = open_run_store(run, create=False)
    info = store.info("run_info")
    for spec in (info or {}).get("metrics", []):
        if not is_metric(spec["name"]):
            register_metric(MetricSpec(**spec))
    if info is None:  # a run written before run_info existed
        from .loop import load_run_config

        cfg = load_run_config(run.dir)
        info = {"name": cfg.name, "objectives": [o.to_dict() for o in cfg.objectives],
                "constraints": [c.to_dict() for c in cfg.constraints], "searcher": cfg.searcher, "seed": cfg.seed,
                "phases": ["network", "hardware"] if cfg.mode == "phase" else ["joint"]}
    scoring = Scoring(tuple(Objective(**o) for o in info["objectives"]),
                      tuple(Constraint(c["metric"], c.get("max"), c.get("min")) for c in info.get("constraints", [])))
    records = []
    for r in store.trials():
        if r.metrics is not None:
            try:
                r.losses = scoring.score(r.metrics)[0]
            except KeyError:
                r.losses = None
        records.append(r)
    return RunTrials(run, store, info, scoring, records, run.is_config_run())


def _only_study(run: Run) -> str:
    import optuna

    names = optuna.study.get_all_study_names(storage=run.store_url)
    if len(names) != 1:
        raise ValidationError(Problem(str(run.dir / STORE_FILE), f"holds {len(names)} studies ({', '.join(names)}); "
                                                                 "open it with codesign.Study(..., name=NAME)"))
    return names[0]


def trial_counts(done: list[TrialRecord]) -> dict[str, int]:
    """Settled, completed, pruned (partial fidelity), failed and infeasible trials among the settled
    records ``done``, and those whose accuracy was skipped because they broke a constraint before
    training (a multi-fidelity searcher's untrained rung skips it too: those count as pruned)."""
    return {"trials_settled": len(done), "trials_completed": sum(r.state == "COMPLETE" for r in done),
            "trials_pruned": sum(r.state == "PRUNED" for r in done), "trials_failed": sum(r.state == "FAIL" for r in done),
            "trials_infeasible": sum(r.state == "COMPLETE" and not r.feasible for r in done),
            "trials_skipped": sum(bool(r.skipped) and r.violation > 0 for r in done)}


def hv_history(done: list[TrialRecord], n_objectives: int) -> list[float]:
    """Hypervolume after each of the settled records ``done`` (searcher order)."""
    if not done:
        return []
    ls = np.array([r.losses if r.feasible and r.losses is not None else [np.inf] * n_objectives for r in done])
    return hypervolume_history(ls, np.array([r.feasible and r.losses is not None for r in done])).tolist()


def write_summary(run_dir: str | Path) -> dict[str, Any]:
    """Write trials/front as CSV and JSON and ``summary.json`` into ``run_dir``; return the summary."""
    t = load_run_trials(run_dir)
    rows = t.rows()
    front = [r for r in rows if r["on_front"]]
    out = Path(run_dir)
    trials_csv, trials_json, front_csv, front_json, summary_json = TABLE_FILES
    _write_csv(out / trials_csv, rows)
    _write_csv(out / front_csv, front)
    write_json_atomic(out / trials_json, rows, indent=1)
    write_json_atomic(out / front_json, front, indent=1)
    done = t.settled()
    ls = np.array([[o.loss(r[o.metric]) for o in t.objectives] for r in front]) if front \
        else np.zeros((0, len(t.objectives)))
    setup = t.store.info("setup_timings_s", {})
    elapsed = t.store.info("elapsed_s", 0.0)
    summary = {
        "format": SUMMARY_FORMAT, "name": t.info.get("name"), "searcher": t.info.get("searcher"),
        "mode": "phase" if len(t.info.get("phases", [])) > 1 else "joint", "seed": t.info.get("seed"),
        "budget_trials": t.store.info("budget_trials"), **trial_counts(done), "front_size": len(front), "hypervolume": hypervolume(ls),
        "objectives": [o.to_dict() for o in t.objectives],
        "constraints": [c.to_dict() for c in t.scoring.constraints],
        "elapsed_s": elapsed, "setup_timings_s": setup, "setup_s": sum(setup.values()),
        "total_s": elapsed + sum(setup.values()), "storage": t.store.info("storage"),
    }
    write_json_atomic(out / summary_json, summary, indent=1)
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
