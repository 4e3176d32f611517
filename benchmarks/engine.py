"""The engine's own cost: what a trial costs beyond its evaluation, and how long a resume takes.

A constant evaluator (no work) on the default joint space (MBConv × NAHAS-like accelerator: the
random searcher draws ~100 choices and the space decodes them into a network and an accelerator),
the random searcher, the SQLite store in a run directory:

- ``engine_ms_per_trial_inline``: wall time of a 10,000-trial search in this process, per trial;
- ``engine_ms_per_trial_pool``: the same through the process pool with 2 workers;
- ``resume_s``: time for a new ``Study`` on the finished inline run to replay all its trials (load
  the store, re-propose every trial, check each against the store, score it) and stop;
  ``resume_s_10k`` is the same at 10,000 trials (null with ``--quick``);
- ``files_to_touch``: package files changed to add a searcher, a cost-model backend, a metric and a
  space from outside, measured by running the tests that do so (``tests/test_plugins.py``,
  ``tests/test_examples.py``) and diffing the package's files before and after (0 when they pass
  and nothing changed; null when a test fails).

    python benchmarks/engine.py [--quick]     # --quick: 1,000 trials, same keys
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_io import publish  # noqa: E402
from codesign import JointSpace, Study  # noqa: E402

PACKAGE_DIRS = ("codesign", "accel_models", "latency_predictors", "searchers", "hw_configs")
#: extension point -> the tests that add one from outside the package (--quick: the first of each)
PLUGIN_TESTS = {
    "searcher": "tests/test_plugins.py::test_entry_points_named_in_a_configuration_are_found_and_a_broken_one_is_named "
                "tests/test_examples.py::test_own_searcher_defined_in_the_example_runs_a_configured_search",
    "backend": "tests/test_plugins.py::test_a_backend_registered_from_a_test_module_scores_every_trial_even_in_worker_processes",
    "metric": "tests/test_plugins.py::test_bad_evaluator_answers_fail_their_trial_with_the_reason_and_the_search_goes_on "
              "tests/test_examples.py::test_custom_metric_is_an_objective_plotted_and_on_the_exported_model_card",
    "space": "tests/test_plugins.py::test_a_space_registered_by_name_is_searched_from_a_configuration "
             "tests/test_examples.py::test_tabular_benchmark_is_searched_resumed_and_reported_like_any_run",
}


def constant(candidate) -> dict[str, float]:
    """No work: the engine's overhead is all that is left."""
    return {"accuracy": 0.5, "latency_ms": 1.0}


def study(run_dir: Path) -> Study:
    return Study(JointSpace.default(), constant, ["accuracy", {"metric": "latency_ms", "reference": 10.0}],
                 searcher="random", run_dir=run_dir, seed=0, batch=8)


def timed_search(run_dir: Path, trials: int, executor: str) -> float:
    start = time.perf_counter()
    records = study(run_dir).optimize(trials=trials, executor=executor)
    seconds = time.perf_counter() - start
    assert len(records) == trials and all(r.feasible for r in records)
    return seconds


def package_digest() -> str:
    h = hashlib.sha256()
    for d in PACKAGE_DIRS:
        for p in sorted((ROOT / d).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(ROOT)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()


def files_to_touch(quick: bool) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for point, tests in PLUGIN_TESTS.items():
        before = package_digest()
        chosen = tests.split()[:1] if quick else tests.split()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *chosen],
                              cwd=ROOT, capture_output=True, text=True)
        changed = package_digest() != before
        out[point] = None if proc.returncode != 0 else int(changed)
        if proc.returncode != 0:
            print(proc.stdout[-2000:], file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 trials instead of 10,000 (same keys)")
    ap.add_argument("--trials", type=int, default=None)
    args = ap.parse_args(argv)
    trials = args.trials or (1000 if args.quick else 10_000)
    with tempfile.TemporaryDirectory() as tmp:
        inline_s = timed_search(Path(tmp) / "inline", trials, "inline")
        pool_s = timed_search(Path(tmp) / "pool", trials, "pool")
        start = time.perf_counter()
        replayed = study(Path(tmp) / "inline").optimize(trials=trials)
        resume_s = time.perf_counter() - start
        assert len(replayed) == trials
    results = {
        "trials": trials,
        "engine_ms_per_trial_inline": round(1000 * inline_s / trials, 3),
        "engine_ms_per_trial_pool": round(1000 * pool_s / trials, 3),
        "resume_s": round(resume_s, 2),
        "resume_s_10k": round(resume_s, 2) if trials == 10_000 else None,
        "files_to_touch": files_to_touch(args.quick),
        "space": "JointSpace.default() (ibn_32 x nahas_like)", "searcher": "random", "store": "SQLite (WAL)",
        "batch": 8, "pool_workers": 2,
    }
    publish("engine" + ("_quick" if args.quick else ""), results,
            "python benchmarks/engine.py" + (" --quick" if args.quick else ""),
            notes="Targets: ≤ 5 ms per trial inline at 10,000 trials; resume of a 10,000-trial run ≤ 10 s; "
                  "0 package files to add a searcher, backend, metric or space.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
