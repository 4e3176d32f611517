"""A run: the directory (or shared database) one search lives in, and the one record type a trial
has everywhere (loop, store, tables, report, export).

Layout of a run directory (every name is defined here and nowhere else)::

    config.yaml              the configuration the run used (YAML runs; references resolved)
    study.db                 the trial store (SQLite; or any SQLAlchemy URL given as ``storage``)
    supernet.pt              the weight-sharing supernet (supernet and predictor fidelities)
    predictor_samples.json   (architecture, accuracy) pairs the accuracy predictor was fitted on
    tvm_tuning_db/           MetaSchedule's tuning records (export with tuning)
    trials.csv|json, front.csv|json, summary.json    tables written after each search
    report.html, *.png       the report
    exports/trialN/          one bundle per exported trial

The store also keeps what a reader needs without the configuration: the objectives, constraints
and the space's name (``run_info``), so ``codesign report`` reads a run made through the Python API
as well as one made from YAML.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .pareto import hypervolume, pareto_mask

CONFIG_FILE = "config.yaml"
STORE_FILE = "study.db"
SUPERNET_FILE = "supernet.pt"
PREDICTOR_SAMPLES_FILE = "predictor_samples.json"
TUNING_DB_DIR = "tvm_tuning_db"
EXPORTS_DIR = "exports"
REPORT_FILE = "report.html"
TABLE_FILES = ("trials.csv", "trials.json", "front.csv", "front.json", "summary.json")
INTERRUPTED = "interrupted: the search process stopped while this trial ran; retried on resume"


@dataclass
class TrialRecord:
    """One trial. ``metrics`` are its flat metrics (name → value, units in the names), ``detail`` the
    evaluator's extra record (the built-in one keeps per-backend and per-runtime latencies there);
    ``losses``/``violation``/``reward`` are what the searcher was told. ``number`` is the store's
    trial number (``None`` before it is stored); ``index`` its place in the searcher's sequence."""

    index: int
    candidate: str
    phase: str = "joint"
    values: dict[str, Any] = field(default_factory=dict)
    state: str = "COMPLETE"  # COMPLETE | PRUNED (evaluated below full fidelity) | FAIL | RUNNING
    number: int | None = None
    metrics: dict[str, float] | None = None
    detail: dict[str, Any] | None = None
    losses: tuple[float, ...] | None = None
    violation: float = 0.0
    reward: float | None = None
    error: str | None = None
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return self.state == "COMPLETE" and self.metrics is not None and self.violation == 0.0

    @property
    def failed(self) -> bool:
        return self.metrics is None

    @property
    def skipped(self) -> dict[str, Any]:
        """What the evaluator left unmeasured (``detail["skipped"]``: ``metrics`` and ``reason``; an
        infeasible candidate left untrained), or ``{}``."""
        return (self.detail or {}).get("skipped") or {}

    @property
    def settled(self) -> bool:
        """Counts towards the budget: completed, pruned, or failed for a reason other than an interruption."""
        return self.state in ("COMPLETE", "PRUNED") or (self.state == "FAIL" and bool(self.error)
                                                         and self.error != INTERRUPTED)

    def result(self) -> dict[str, Any]:
        """The stored form of its outcome (the store's ``result`` attribute)."""
        return {"metrics": self.detail, "flat": self.metrics, "timings_s": self.timings_s, "error": self.error,
                "violation": self.violation, "reward": self.reward, "feasible": self.feasible}

    def row(self, metric_names: list[str]) -> dict[str, Any]:
        """A flat table row: identifiers, each of ``metric_names``, feasibility, timings and error. A
        metric the evaluator skipped (``detail["skipped"]``: an infeasible candidate left untrained)
        is ``None``, and ``skipped`` says why."""
        skipped = self.skipped
        flat = {k: v for k, v in (self.metrics or {}).items() if k not in skipped.get("metrics", ())}
        arch, sep, accel = self.candidate.partition("@")
        ids = {"arch": arch, "accel": accel} if sep else {}
        return {"trial": self.number, "index": self.index, "phase": self.phase, "state": self.state,
                "candidate": self.candidate, **ids, **{m: flat.get(m) for m in metric_names},
                "feasible": self.feasible, "violation": self.violation if self.metrics is not None else None,
                "reward": self.reward, "on_front": False, **dict(self.timings_s), "error": self.error,
                "skipped": skipped.get("reason")}


def settled_by_index(records: list[TrialRecord]) -> dict[int, TrialRecord]:
    """The record that settled each searcher index (completed, or failed for a reason other than an
    interruption); a later record of an index replaces an earlier one."""
    return {r.index: r for r in records if r.settled}


def front_of(records: list[TrialRecord]) -> list[TrialRecord]:
    """The feasible records no other feasible record dominates (on their losses)."""
    ok = [r for r in records if r.feasible and r.losses is not None]
    if not ok:
        return []
    mask = pareto_mask(np.array([r.losses for r in ok]))
    return [r for r, m in zip(ok, mask) if m]


def hypervolume_of(records: list[TrialRecord]) -> float:
    """Hypervolume of the records' losses (reference point: every objective's reference)."""
    pts = [r.losses for r in records if r.feasible and r.losses is not None]
    return hypervolume(np.array(pts)) if pts else 0.0


def knee_index(front_losses: np.ndarray) -> int:
    """Index (into the rows of ``front_losses``, shape points × objectives) of the knee point: scale
    each objective's loss to [0, 1] over the front, take the point closest to the ideal (0, …, 0);
    ties go to the first."""
    lo, hi = front_losses.min(axis=0), front_losses.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    dist = np.linalg.norm((front_losses - lo) / span, axis=1)
    return int(np.argmin(dist))


class Run:
    """A run directory and its store. ``storage`` (an SQLAlchemy URL) replaces ``study.db`` for a
    shared database; ``study_name`` is the optuna study inside the store."""

    def __init__(self, run_dir: str | Path, storage: str | None = None, study_name: str = "search"):
        self.dir = Path(run_dir)
        self.storage = storage
        self.study_name = study_name

    @property
    def config_path(self) -> Path:
        return self.dir / CONFIG_FILE

    @property
    def store_url(self) -> str:
        return self.storage or f"sqlite:///{(self.dir / STORE_FILE).resolve()}"

    def export_dir(self, trial: int) -> Path:
        return self.dir / EXPORTS_DIR / f"trial{trial}"

    def is_config_run(self) -> bool:
        return self.config_path.is_file()
