"""Search benchmark: how fast each searcher's hypervolume grows on a fixed cheap objective, and joint
versus phase search at equal budget.

    python benchmarks/search.py [--quick]
    python benchmarks/search.py --make-samples [--checkpoint supernet.pt]   # rebuild the objective's data

Objective (fixed, cheap): accuracy from the accuracy predictor fitted on
``benchmarks/data/compact_supernet_samples.json`` (300 random subnets of ``ibn_32_compact`` scored by
a supernet trained 600 steps on digits — real supernet accuracies, made by ``--make-samples``),
latency_ms and energy_mj from the analytical cost model, on the joint space ibn_32_compact ×
nahas_like with its 10 mm² area budget. Hypervolume over (accuracy ↑ linear, latency ↓ log,
energy ↓ log) relative to the space-derived reference point (see codesign.search.references).

For each seed, ``trials_to_random_hv`` is the first trial at which a searcher's hypervolume reaches
random search's hypervolume at its last trial (same seed); the key reports the mean over seeds
(null if some seed never reaches it; per-seed values are in ``details``). ``best_searcher`` is the one
needing the fewest trials for that. ``joint_hv`` / ``phase_hv`` are mean final hypervolumes of the
searcher with the highest final hypervolume (``joint_vs_phase_searcher``) run in joint mode and in phase mode (network on the
space's median accelerator for half the budget, then the accelerator for phase 1's front networks).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_io import publish  # noqa: E402
from codesign.search.config import SearchConfig  # noqa: E402
from codesign.search.loop import run_search  # noqa: E402
from codesign.pareto import hypervolume_history  # noqa: E402

SAMPLES = Path(__file__).resolve().parent / "data" / "compact_supernet_samples.json"
SEARCHERS = {
    "random": {},
    "evolution": {"population": 64, "sample": 16},
    "reinforce": {"lr": 0.05},
    "nsga2": {"population": 50},
    "tpe": {"startup_trials": 50},
}


def config(searcher: str, seed: int, trials: int, mode: str = "joint") -> SearchConfig:
    return SearchConfig.from_dict({
        "name": f"bench-{searcher}-{mode}-{seed}", "seed": seed, "mode": mode,
        "space": {"arch": "ibn_32_compact", "hw": "nahas_like"},
        "accuracy": {"fidelity": "predictor", "samples_file": str(SAMPLES)},
        "objectives": [{"metric": "accuracy"}, {"metric": "latency_ms"}, {"metric": "energy_mj"}],
        "reward": {"kind": "mnas_soft", "targets": {"latency_ms": 0.5, "energy_mj": 0.05}},
        "searcher": {"name": searcher, "batch": 1, **SEARCHERS[searcher]},
        "budget": {"trials": trials}, "storage": "memory://",
    }, source=f"benchmark {searcher}")


def hv_curve(searcher: str, seed: int, trials: int, mode: str = "joint") -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        state = run_search(config(searcher, seed, trials, mode), Path(tmp) / "run", progress=False)
    m = len(state.objectives)
    losses = np.array([o.losses if o.feasible else [np.inf] * m for o in state.records])
    return hypervolume_history(losses, np.array([o.feasible for o in state.records]))


def make_samples(checkpoint: str | None, n: int = 300) -> None:
    doc = config("random", 0, 1).to_dict()
    doc["accuracy"] = {"fidelity": "predictor", "predictor_samples": n,
                       "supernet": {"steps": 600, "batch_size": 64, "lr": 0.003, "random_subnets": 2,
                                    "distill": True, "seed": 0}}
    if checkpoint:
        doc["accuracy"]["checkpoint"] = checkpoint
    doc["storage"] = "memory://"
    with tempfile.TemporaryDirectory() as tmp:
        run_search(SearchConfig.from_dict(doc), Path(tmp) / "run", progress=True)
        shutil.copy(Path(tmp) / "run" / "predictor_samples.json", SAMPLES)
    print(f"wrote {SAMPLES}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 seed x 200 trials")
    ap.add_argument("--make-samples", action="store_true")
    ap.add_argument("--checkpoint", help="with --make-samples: an existing supernet checkpoint")
    args = ap.parse_args()
    if args.make_samples:
        make_samples(args.checkpoint)
        return
    seeds, trials = ([0], 200) if args.quick else ([0, 1, 2], 1000)
    start = time.perf_counter()
    curves: dict[str, list[np.ndarray]] = {name: [] for name in SEARCHERS}
    seconds: dict[str, float] = {}
    for name in SEARCHERS:
        t = time.perf_counter()
        for seed in seeds:
            curves[name].append(hv_curve(name, seed, trials))
        seconds[name] = round(time.perf_counter() - t, 1)
        print(f"{name}: final hv {[round(float(c[-1]), 4) for c in curves[name]]} ({seconds[name]} s)", flush=True)
    random_final = [float(c[-1]) for c in curves["random"]]
    per_seed = {}
    for name in SEARCHERS:
        hits = []
        for c, target in zip(curves[name], random_final):
            reached = np.flatnonzero(c >= target)
            hits.append(int(reached[0]) + 1 if len(reached) else None)
        per_seed[name] = hits
    trials_to = {n: (float(np.mean(h)) if all(x is not None for x in h) else None) for n, h in per_seed.items()}
    final = {n: float(np.mean([c[-1] for c in cs])) for n, cs in curves.items()}
    best = min((n for n in SEARCHERS if n != "random"),
               key=lambda n: (trials_to[n] is None, trials_to[n] or 0, -final[n]))
    best_final = max((n for n in SEARCHERS if n != "random"), key=lambda n: final[n])
    phase = [float(hv_curve(best_final, seed, trials, "phase")[-1]) for seed in seeds]
    results = {
        "trials": trials, "seeds": len(seeds),
        "random_hv_final": float(np.mean(random_final)),
        "trials_to_random_hv": trials_to,
        "best_searcher": best,
        "joint_vs_phase_searcher": best_final,
        "joint_hv": final[best_final], "phase_hv": float(np.mean(phase)),
        "final_hv": final,
        "details": {"trials_to_random_hv_per_seed": per_seed, "phase_hv_per_seed": phase,
                    "hv_at": {n: {str(k): float(np.mean([c[k - 1] for c in cs])) for k in (50, 100, 250, 500, trials)
                                  if k <= trials} for n, cs in curves.items()},
                    "seconds": seconds},
        "seconds": round(time.perf_counter() - start, 1),
    }
    command = "python benchmarks/search.py" + (" --quick" if args.quick else "")
    publish("Search" + (" (quick)" if args.quick else ""), results, command, notes=__doc__.split("\n\n", 2)[2])


if __name__ == "__main__":
    main()
