"""Reliability benchmark: fuzzed inputs, SIGKILL-and-resume, and trial isolation.

    python benchmarks/reliability.py [--quick]

Fuzz: malformed inputs from ``tests/fuzz_inputs.py`` (search configs, hardware templates, hardware and
architecture spaces, architecture/accelerator/candidate strings, broken ONNX for the workload
extractor and onnxruntime; plus broken ONNX for TVM's importer), each handed to the library loader
and to the CLI command a user would type. ``fuzz_cases`` counts (input, entry point) pairs;
``clear_errors`` those answered by codesign's own error naming the file/input (CLI: exit 2, message,
no traceback); ``accepted`` those still valid after mutation; ``unclear_errors`` codesign errors that
do not name their input; ``other_exceptions`` anything else (bugs).

Kills: real ``codesign search`` processes (evolution and NSGA-II, seeded) killed with SIGKILL by PID
after a random 0–3 further finished trials plus 0–0.3 s (so also during start-up and mid-batch), then
resumed, until the budget is done. ``trials_lost`` counts trials that had finished before a kill and
were missing or changed afterwards; ``resume_equals_uninterrupted`` says whether every killed run
ended with exactly the trials (candidates and objective values, by index) of an uninterrupted run
with the same seed; ``budget_exact`` whether each run settled exactly its budget, each index once.

Isolation: a search (pool executor, 2 workers, 6 s timeout, 3 GiB address-space limit) where the
testing hook ``CODESIGN_FAULT`` makes some candidates raise, hang or allocate without bound.
``failed_trials_isolated`` counts the failed trials recorded with their reason while the search
completed its budget.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks.bench_io import publish  # noqa: E402
from fuzz_inputs import KINDS, SLOW_KINDS, RandomChooser, make_case, verdict_api, verdict_cli  # noqa: E402
from kill_resume import FAULTS, run_with_kills, uninterrupted, write_config, write_faulty_config  # noqa: E402


def fuzz(n_inputs: int, n_slow: int, tmp: Path) -> dict:
    counts: collections.Counter = collections.Counter()
    examples: dict[str, str] = {}
    per_kind: collections.Counter = collections.Counter()
    plan = [(i, None) for i in range(n_inputs)] + [(n_inputs + i, SLOW_KINDS) for i in range(n_slow)]
    for seed, kinds in plan:
        ch = RandomChooser(seed)
        kind = ch.pick(kinds or KINDS)
        case = make_case(kind, ch, tmp, seed)
        judges = (verdict_api,) if kinds else (verdict_api, verdict_cli)
        for judge in judges:
            verdict, message = judge(case)
            counts[verdict] += 1
            per_kind[kind] += 1
            if verdict in ("other", "unclear") and verdict not in examples:
                examples[verdict] = f"{kind} via {judge.__name__}: {message[:300]}"
    return {"fuzz_cases": sum(counts.values()), "clear_errors": counts["clear"], "accepted": counts["accepted"],
            "unclear_errors": counts["unclear"], "other_exceptions": counts["other"],
            "fuzz_cases_per_input_kind": dict(sorted(per_kind.items())), "fuzz_failure_examples": examples}


def kills(runs: list[tuple[str, int, int]], tmp: Path) -> dict:
    """``runs``: (searcher, trials, kills) each."""
    total = lost = 0
    same = exact = True
    points, problems, seconds = [], [], 0.0
    for i, (searcher, trials, n_kills) in enumerate(runs):
        config = write_config(tmp / f"kill{i}.yaml", trials=trials, seed=i, searcher=searcher)
        straight = uninterrupted(config, tmp / f"straight{i}")
        rep = run_with_kills(config, tmp / f"killed{i}", kills=n_kills, rng=np.random.default_rng(100 + i))
        total += rep.kills
        lost += rep.trials_lost
        same &= rep.final == straight
        exact &= sorted(rep.final) == list(range(trials))
        points.append(rep.kill_points)
        problems += rep.problems
        seconds += rep.seconds
    return {"kills": total, "trials_lost": lost, "resume_equals_uninterrupted": same, "budget_exact": exact,
            "kill_points_finished_trials": points, "kill_problems": problems[:5], "kill_runs_s": round(seconds, 1)}


def isolation(tmp: Path, timeout_s: float) -> dict:
    config = write_faulty_config(tmp / "faulty.yaml", timeout_s)
    run = tmp / "isolated"
    env = {**os.environ, "CODESIGN_FAULT": FAULTS}
    proc = subprocess.run([sys.executable, "-m", "codesign.cli.main", "search", str(config), "--out", str(run),
                           "--no-progress"], env=env, capture_output=True, text=True, cwd=ROOT)
    rows = json.loads((run / "trials.json").read_text()) if proc.returncode == 0 else []
    failed = [r for r in rows if r["state"] == "FAIL" and r["error"]]
    reasons = collections.Counter("raised" if "injected fault" in r["error"] else
                                  "timed out" if "timed out" in r["error"] else
                                  "out of memory" if "out of memory" in r["error"] else "other" for r in failed)
    return {"failed_trials_isolated": len(failed), "isolation_reasons": dict(reasons),
            "isolation_budget_completed": proc.returncode == 0 and sorted(r["index"] for r in rows) == list(range(12))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    start = time.perf_counter()
    res: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        res.update(fuzz(60 if args.quick else 600, 2 if args.quick else 20, tmp))
        res["fuzz_s"] = round(time.perf_counter() - t, 1)
        runs = [("evolution", 24, 3)] if args.quick else [("evolution", 60, 10), ("nsga2", 60, 10)]
        res.update(kills(runs, tmp))
        res.update(isolation(tmp, 4.0 if args.quick else 6.0))
    res["seconds"] = round(time.perf_counter() - start, 1)
    publish("reliability_quick" if args.quick else "reliability", res,
            "python benchmarks/reliability.py" + (" --quick" if args.quick else ""),
            notes="Targets: other_exceptions = 0 and trials_lost = 0 (≥ 1,000 fuzz cases and ≥ 20 kills; "
                  "--quick ≥ 100 and ≥ 3).")


if __name__ == "__main__":
    main()
