"""Searchers on a real tabular benchmark: NAS-Bench-201 CIFAR-10 accuracy × measured latency of the
same networks on a device (HELP / HW-NAS-Bench measurements), through the open engine.

    python benchmarks/search_tabular.py [--quick] [--device pixel3] [--latency-csv PATH]

Two problems over the 15,625 networks (``codesign.tabular.nasbench201``):

- **two objectives**: accuracy ↑ (linear) and latency ↓ (log10), reference point the table's worst
  accuracy and worst latency. ``hv_share`` (searcher → budget → mean over seeds) is the hypervolume of
  the front found within the budget over that of the true front (every network of the table).
  ``evals_to_random_hv_200`` is, per searcher, the mean over seeds of the first evaluation whose
  hypervolume reaches random search's mean hypervolume at 200 evaluations (null when some seed does
  not reach it within the budget; ``reached`` counts the seeds that did).
- **one objective under a budget**: accuracy subject to latency ≤ the table's median latency on the
  device. ``regret`` (searcher → budget → mean) is, in accuracy points, the best feasible accuracy of
  the table minus the best feasible accuracy found.

Every evaluation is a trial of the engine (a repeated network counts again); the evaluator is the
benchmark's own, deterministic per network. Seeds 0..19 (``--quick``: 3 seeds, budgets 50/100).
Searcher options are their defaults
except NSGA-II's population (20, so that 200 evaluations are 10 generations, not 4).
"""
from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_io import publish  # noqa: E402
from codesign import Constraint, Study  # noqa: E402
from codesign.pareto import hypervolume, hypervolume_history, pareto_mask  # noqa: E402
from codesign.tabular.nasbench201 import NasBench201Evaluator, nb201_space, table_rows  # noqa: E402

DEFAULT_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "device_latency" / "nb201_latency_ms.csv"
#: searcher → options used here (the rest are the searcher's defaults)
SEARCHERS = {
    "random": {},
    "evolution": {},
    "reinforce": {},
    "ppo": {},
    "nsga2": {"population": 20},
    "tpe": {},
    "gp": {},
}
BUDGETS = (50, 100, 200)


def problem(csv: str, device: str) -> dict:
    """The true front's hypervolume, the objectives and the latency budget for ``device``."""
    evaluator = NasBench201Evaluator(csv, device)
    rows = table_rows(evaluator)
    acc = np.array([m["accuracy"] for _, m in rows])
    lat = np.array([m["measured_latency_ms"] for _, m in rows])
    objectives = [{"metric": "accuracy", "reference": float(acc.min())},
                  {"metric": "measured_latency_ms", "reference": float(lat.max()), "scale": "log"}]
    study = Study(nb201_space(), evaluator, objectives)
    losses = np.array([study.scoring.score(m)[0] for _, m in rows])
    budget_ms = float(np.median(lat))
    return {"csv": csv, "device": device, "objectives": objectives, "true_hv": hypervolume(losses[pareto_mask(losses)]),
            "budget_ms": budget_ms, "best_feasible": float(acc[lat <= budget_ms].max())}


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)  # one process per core


def run_one(job: tuple) -> tuple:
    """(searcher, seed, kind, curve): hypervolume (kind ``front``) or best feasible accuracy (kind
    ``budget``) after each evaluation."""
    name, seed, kind, trials, prob = job
    evaluator = NasBench201Evaluator(prob["csv"], prob["device"])
    if kind == "front":
        study = Study(nb201_space(), evaluator, prob["objectives"], searcher=name, seed=seed, batch=1,
                      searcher_options=SEARCHERS[name])
        records = study.optimize(trials=trials)
        losses = np.array([r.losses for r in records])
        return name, seed, kind, hypervolume_history(losses) / prob["true_hv"]
    study = Study(nb201_space(), evaluator, ["accuracy"], searcher=name, seed=seed, batch=1,
                  constraints=[Constraint("measured_latency_ms", hi=prob["budget_ms"])],
                  searcher_options=SEARCHERS[name])
    records = study.optimize(trials=trials)
    acc = np.array([r.metrics["accuracy"] if r.feasible else -np.inf for r in records])
    return name, seed, kind, np.maximum.accumulate(acc)


def first_reaching(curve: np.ndarray, target: float) -> int | None:
    hit = np.flatnonzero(curve >= target - 1e-12)
    return int(hit[0]) + 1 if len(hit) else None


def summarise(prob: dict, curves: dict, budgets: tuple[int, ...], names: list[str]) -> dict:
    front = {n: np.array(curves[(n, "front")]) for n in names}
    best = {n: np.array(curves[(n, "budget")]) for n in names}
    last = budgets[-1]
    random_target = float(front["random"][:, last - 1].mean())
    evals, reached = {}, {}
    for n in names:
        hits = [first_reaching(c, random_target) for c in front[n]]
        reached[n] = sum(h is not None for h in hits)
        evals[n] = float(np.mean(hits)) if reached[n] == len(hits) else None
    hv_share = {n: {str(b): round(float(front[n][:, b - 1].mean()), 4) for b in budgets} for n in names}
    regret = {n: {str(b): round(float((prob["best_feasible"] - best[n][:, b - 1]).mean() * 100), 3) for b in budgets}
              for n in names}
    fastest = min((n for n in names if n != "random"), key=lambda n: (evals[n] is None, evals[n] or 0))
    return {"hv_share": hv_share, f"evals_to_random_hv_{last}": evals, "reached": reached, "regret": regret,
            "best_searcher": fastest,
            "below_random_at_final": [n for n in names if hv_share[n][str(last)] < hv_share["random"][str(last)]]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 seeds, budgets 50/100")
    ap.add_argument("--device", default="pixel3", help="a column of the latency CSV")
    ap.add_argument("--latency-csv", default=str(DEFAULT_CSV))
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--searchers", help="comma-separated subset (random is always run); prints, does not publish")
    args = ap.parse_args()
    start = time.perf_counter()
    seeds, budgets = (range(3), (50, 100)) if args.quick else (range(args.seeds), BUDGETS)
    prob = problem(args.latency_csv, args.device)
    names = [n for n in SEARCHERS if args.searchers is None or n == "random" or n in args.searchers.split(",")]
    jobs = [(n, s, k, budgets[-1], prob) for n in names for k in ("front", "budget") for s in seeds]
    curves: dict = {}
    with ProcessPoolExecutor(args.workers, initializer=_one_thread) as pool:
        for name, _seed, kind, curve in pool.map(run_one, jobs):
            curves.setdefault((name, kind), []).append(curve)
    elapsed = round(time.perf_counter() - start, 1)
    results = {"device": args.device, "seeds": len(seeds), "budgets": list(budgets),
               "latency_budget_ms": round(prob["budget_ms"], 4), **summarise(prob, curves, budgets, names),
               "seconds": elapsed}
    if args.searchers:
        print(results)
        return
    command = "python benchmarks/search_tabular.py" + (" --quick" if args.quick else "") + \
        (f" --device {args.device}" if args.device != "pixel3" else "")
    publish("Search on NAS-Bench-201 × device latency" + (" (quick)" if args.quick else ""), results, command,
            notes=__doc__.split("\n\n", 2)[2])


if __name__ == "__main__":
    main()
