"""Everything the report shows, read from a run directory (its configuration and store)."""
from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from ..search.config import SearchConfig
from ..search.loop import load_run_config
from ..search.store import TrialStore
from ..search.summary import hv_history, settled, trial_counts, trial_rows


@dataclass
class RunData:
    run_dir: Path
    cfg: SearchConfig
    rows: list[dict[str, Any]]       # every trial
    front: list[dict[str, Any]]      # feasible, non-dominated
    hv: dict[str, list[float]]       # phase/searcher label → hypervolume after each settled trial
    info: dict[str, Any]             # elapsed, setup timings, storage (password hidden), versions, host


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("codesign", "torch", "onnx", "onnxruntime", "apache-tvm", "optuna", "zigzag-dse", "ray", "plotly"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def load_run(run_dir: str | Path) -> RunData:
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    store = TrialStore(cfg.storage or TrialStore.default_url(run_dir), cfg.name, create=False)
    rows = trial_rows(cfg, store)
    done = settled(rows, store)
    hv = {cfg.searcher if cfg.mode == "joint" else f"{cfg.searcher} (phase)": hv_history(cfg, done)}
    from latency_predictors.environment import cpu_model

    info = {"elapsed_s": store.info("elapsed_s", 0.0), "setup_timings_s": store.info("setup_timings_s", {}),
            "storage": store.info("storage", ""), "versions": versions(),
            "host": f"{cpu_model()}, {platform.machine()}, {platform.system()}",
            **trial_counts(done)}
    return RunData(run_dir, cfg, rows, [r for r in rows if r["on_front"]], hv, info)
