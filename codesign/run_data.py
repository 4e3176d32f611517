"""A run as the report and export read it: every trial as a table row, the front, the hypervolume
history and what the store says about the run (and, for a YAML run, its configuration)."""
from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib import metadata
from itertools import combinations
from pathlib import Path
from typing import Any

from .search.config import SearchConfig
from .search.loop import load_run_config
from .search.objectives import Constraint, Objective
from .search.summary import hv_history, load_run_trials, trial_counts
from latency_predictors.environment import cpu_model


@dataclass
class RunData:
    run_dir: Path
    cfg: SearchConfig | None         # the YAML configuration (None for a run made through the Python API)
    name: str
    objectives: list[Objective]
    constraints: list[Constraint]
    metrics: list[str]               # the table's metric columns
    rows: list[dict[str, Any]]       # every trial
    front: list[dict[str, Any]]      # feasible, non-dominated
    hv: dict[str, list[float]]       # phase/searcher label → hypervolume after each settled trial
    info: dict[str, Any]             # elapsed, setup timings, storage (password hidden), versions, host, run_info

    @property
    def joint(self) -> bool:
        """Its candidates are network × accelerator pairs (per-layer views and export apply)."""
        return self.cfg is not None

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The pairwise views: every pair of objectives, a maximised one on the y axis (else the
        later one), e.g. (latency, accuracy), (energy, accuracy), (latency, energy)."""
        out = []
        for a, b in combinations(self.objectives, 2):
            flip = a.direction == "maximize" and b.direction != "maximize"
            out.append((b.metric, a.metric) if flip else (a.metric, b.metric))
        return out


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("codesign", "torch", "onnx", "onnxruntime", "apache-tvm", "optuna", "zigzag-dse", "ray", "plotly"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def load_run(run_dir: str | Path) -> RunData:
    t = load_run_trials(run_dir)
    cfg = load_run_config(t.run.dir) if t.config_run else None
    rows = t.rows()
    done = t.settled()
    label = t.info.get("searcher") or "search"
    if len(t.info.get("phases", [])) > 1:
        label += " (phase)"
    info = {"elapsed_s": t.store.info("elapsed_s", 0.0), "setup_timings_s": t.store.info("setup_timings_s", {}),
            "storage": t.store.info("storage", ""), "budget_trials": t.store.info("budget_trials"),
            "versions": versions(), "host": f"{cpu_model()}, {platform.machine()}, {platform.system()}",
            "run_info": t.info, **trial_counts(done)}
    return RunData(t.run.dir, cfg, t.info.get("name") or t.run.study_name, t.objectives,
                   list(t.scoring.constraints), t.metric_names(), rows, [r for r in rows if r["on_front"]],
                   {label: hv_history(done, len(t.objectives))}, info)
