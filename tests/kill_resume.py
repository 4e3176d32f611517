"""Kill a running ``codesign search`` with SIGKILL at random points, resume it, and check nothing was lost.

Shared by ``tests/test_reliability.py`` and ``benchmarks/reliability.py``. The search is a real CLI
process (``python -m codesign.cli.main search …``) killed by its own PID; the checks read the run's
store (its SQLite file, or the database its configuration names) the way the next ``--resume`` does.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "benchmarks" / "data" / "compact_supernet_samples.json"


def write_config(path: Path, trials: int, seed: int = 0, searcher: str = "evolution") -> Path:
    """A fast deterministic search (accuracy predictor on bundled samples, analytical costs)."""
    options = {"evolution": "population: 12, sample: 4", "random": "", "nsga2": "population: 8",
               "tpe": "startup_trials: 8", "ppo": "rollouts: 4", "gp": "startup_trials: 4"}[searcher]
    path.write_text(f"""name: killed
seed: {seed}
space: {{arch: ibn_32_compact, hw: nahas_like}}
accuracy: {{fidelity: predictor, samples_file: {SAMPLES}}}
objectives: [accuracy, latency_ms, energy_mj]
searcher: {{name: {searcher}, batch: 4{', ' + options if options else ''}}}
budget: {{trials: {trials}}}
executor: {{kind: inline, timeout_s: 60}}
""")
    return path


FAULTS = "raise:5,hang:9,oom:4"   # CODESIGN_FAULT for write_faulty_config's search: all three kinds in 12 trials


def write_faulty_config(path: Path, timeout_s: float = 15.0) -> Path:
    """12 random trials on a 2-worker pool with a timeout and a 3 GiB address-space limit per worker;
    run with ``CODESIGN_FAULT=FAULTS`` some candidates raise, hang and exhaust memory."""
    path.write_text(f"""name: isolated
space: {{arch: ibn_32_compact, hw: nahas_like}}
accuracy: {{fidelity: predictor, samples_file: {SAMPLES}}}
objectives: [accuracy, latency_ms, energy_mj]
searcher: {{name: random, batch: 4}}
budget: {{trials: 12}}
executor: {{kind: pool, workers: 2, timeout_s: {timeout_s}, memory_mb: 3072}}
""")
    return path


def _shared_store(run_dir: Path):
    """The store of a run whose configuration names a database (``storage:``), else ``None``."""
    from codesign.search.loop import load_run_config
    from codesign.search.store import TrialStore

    if not (run_dir / "config.yaml").is_file():
        return None
    cfg = load_run_config(run_dir)
    if not cfg.storage:
        return None
    try:
        return cfg, TrialStore(cfg.storage, cfg.name, create=False)
    except Exception:  # noqa: BLE001 - the study does not exist yet
        return cfg, None


def settled_count(run_dir: Path) -> int:
    """Finished trials in the store (read-only; 0 while the store does not exist yet)."""
    shared = _shared_store(run_dir)
    if shared is not None:
        store = shared[1]
        return 0 if store is None else sum(t.state in ("COMPLETE", "FAIL") for t in store.trials())
    db = run_dir / "study.db"
    if not db.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("SELECT COUNT(*) FROM trials WHERE state IN ('COMPLETE', 'FAIL')").fetchone()[0]
    except sqlite3.Error:
        return 0


def finished_trials(run_dir: Path) -> dict[int, tuple[str, tuple]]:
    """index → (candidate, objective values) of every trial that counts towards the budget."""
    from codesign.search.loop import load_run_config
    from codesign.search.store import TrialStore

    shared = _shared_store(run_dir)
    if shared is not None:
        cfg, store = shared
        if store is None:
            return {}
    elif not (run_dir / "study.db").is_file():
        return {}
    else:
        cfg = load_run_config(run_dir)
        store = TrialStore(TrialStore.default_url(run_dir), cfg.name, create=False)
    return {i: (t.candidate, tuple(t.metrics[o.metric] for o in cfg.objectives) if t.metrics else ())
            for i, t in store.finished_by_index().items()}


@dataclass
class KillReport:
    kills: int = 0
    trials_lost: int = 0              # finished before a kill, missing or changed afterwards
    resumes: int = 0
    kill_points: list[int] = field(default_factory=list)   # finished trials in the store at each kill
    final: dict[int, tuple[str, tuple]] = field(default_factory=dict)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


SLOW_TRIALS = {"CODESIGN_FAULT": "delay:1"}   # every trial 0.1 s longer: a search slow enough to interrupt


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "codesign.cli.main", "search", *args, "--no-progress"]


def run_with_kills(config: Path, run_dir: Path, kills: int, rng: np.random.Generator,
                   timeout_s: float = 600.0) -> KillReport:
    """Start the search, SIGKILL it ``kills`` times (after a random number of further finished trials,
    0–3, plus a random 0–0.3 s), resume each time, and let the last resume finish."""
    rep = KillReport()
    start = time.perf_counter()
    seen: dict[int, tuple[str, tuple]] = {}
    while True:
        started = (run_dir / "config.yaml").is_file()
        proc = subprocess.Popen(_cli("--resume", str(run_dir)) if started else _cli(str(config), "--out", str(run_dir)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                env={**os.environ, **SLOW_TRIALS})
        if rep.kills < kills:
            target = settled_count(run_dir) + int(rng.integers(0, 4))
            while proc.poll() is None and settled_count(run_dir) < target:
                time.sleep(0.02)
                if time.perf_counter() - start > timeout_s:
                    break
            time.sleep(float(rng.uniform(0.0, 0.3)))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.communicate()
                rep.kills += 1
                rep.kill_points.append(settled_count(run_dir))
            else:
                proc.communicate()
        else:
            _, err = proc.communicate(timeout=timeout_s)
            if proc.returncode != 0:
                rep.problems.append(f"final resume exited {proc.returncode}: {err[-800:]}")
        now = finished_trials(run_dir)
        for index, record in seen.items():
            if now.get(index) != record:
                rep.trials_lost += 1
                rep.problems.append(f"trial index {index} lost or changed after a kill: {record} → {now.get(index)}")
        seen = now
        if proc.returncode == 0:
            break
        rep.resumes += 1
        if time.perf_counter() - start > timeout_s:
            rep.problems.append("timed out")
            break
    rep.final, rep.seconds = seen, time.perf_counter() - start
    return rep


def uninterrupted(config: Path, run_dir: Path) -> dict[int, tuple[str, tuple]]:
    subprocess.run(_cli(str(config), "--out", str(run_dir)), check=True, stdout=subprocess.DEVNULL, cwd=ROOT,
                   env={**os.environ, **SLOW_TRIALS})
    return finished_trials(run_dir)
