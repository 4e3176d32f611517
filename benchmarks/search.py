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
``gp`` runs at most ``GP_MAX_TRIALS`` trials (its cost grows with the cube of the trials seen; on
this 62-choice space 300 trials took over 15 minutes a seed), so its ``final_hv`` is at that budget,
not the others'; ``--quick`` skips it.

Differentiable against evolution at equal wall time, on the quickstart setup
(``examples/quickstart.yaml``: supernet accuracy, analytical costs, 10 mm² area budget; no host
measurement): one supernet is trained, then the ``differentiable`` searcher runs with
``DIFFERENTIABLE`` (2 λ × 40 steps after 20 warm-up steps, 6 candidates per λ, each evaluated at the
run's full fidelity) and its seconds
(``differentiable_s``, one-shot phase plus evaluations) become the wall-time budget of an evolution
run on the same supernet checkpoint. ``differentiable_hv`` / ``evolution_hv_same_wall_time`` are
their hypervolumes (same objectives and reference point). ``collapse`` is the share of stages at
their smallest depth in the final most likely candidate per λ, with the default warm-up and without
it (``--quick``: a 30-step supernet, one λ of 10 steps, 4 candidates and no run without warm-up, so
its figures only show the mechanics).

BOHB against TPE without pruning, on proxy training (each network trained on digits, quickstart's
spaces, objectives and area budget; no host measurement): both run for ``BOHB_WALL_S`` (300) seconds side
by side, one core each; TPE trains every candidate for the full 6 epochs, BOHB runs Hyperband rungs
of 2 and 6 epochs (eta 3; one epoch on digits is still at chance, so it is not a rung), each bracket
first screening three times as many candidates at 0 epochs on the cost model's latency, energy and
area alone (``untrained_rung``; the ``bohb`` variant of ``--multi-fidelity-variants`` goes without). Both leave
a candidate over the area budget untrained (``accuracy.skip_infeasible``, the default). Time is wall
time since the run's first trial started (training, cost model, the searcher's own proposals and the
store); hypervolume counts full-fidelity trials only. ``tpe_s_to_hv`` is when
TPE reaches its own final hypervolume, ``bohb_s_to_hv`` when BOHB reaches that same value (null if
it does not within its time). ``--quick``: 10 s each at 3 epochs, so only the mechanics (about two
minutes in all on 2 cores, most of it the supernet and its evaluations).
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
    "ppo": {},
    "gp": {"startup_trials": 20},
}
#: the GP's cost grows with the cube of the trials seen: it runs only where the budget is at most this
GP_MAX_TRIALS = 100
QUICKSTART = Path(__file__).resolve().parent.parent / "examples" / "quickstart.yaml"
BOHB_WALL_S = 300.0
MULTI_FIDELITY_NOTES = (
    "TPE (every candidate at 6 epochs) against BOHB variants: `bohb` (Hyperband brackets: rungs 2 and 6 epochs, "
    "eta 3, brackets s = 1, 0 in turn), `bohb_sh` (successive-halving brackets only: every bracket starts at 2 "
    "epochs), and each of them with `untrained_rung: true` (`bohb_untrained`, `bohb_sh_untrained`: every bracket "
    "first scores 3× its candidates at 0 epochs on the cost model alone and trains the best third), "
    "digits proxy training on the quickstart's spaces, objectives and area budget, each run "
    "BOHB_WALL_S seconds of one core, two runs at a time; a candidate over the area budget is not trained "
    "(`accuracy.skip_infeasible`, the default). Per seed: seconds of wall time since the first trial until TPE's "
    "own final hypervolume is reached (hypervolume of full-fidelity trials only); `ratio_to_tpe_per_seed` = "
    "BOHB's seconds / TPE's. `bohb_s_to_hv` / `tpe_s_to_hv` (the first variant run) are read off the seed-averaged "
    "anytime curves (hypervolume after each second of wall time, averaged over seeds): the first "
    "second each reaches TPE's seed-averaged final hypervolume. A promoted candidate continues its rung's "
    "training (rung checkpoints), so it costs 6 epochs in all.")
#: the BOHB variants the multi-fidelity comparison can run (name → options over the common ones)
BOHB_VARIANTS = {"bohb": {}, "bohb_sh": {"brackets": "successive_halving"},
                 "bohb_untrained": {"untrained_rung": True},
                 "bohb_sh_untrained": {"brackets": "successive_halving", "untrained_rung": True}}
#: the differentiable searcher's options here (its defaults run 4 λ × 150 steps: ~25 min on 2 cores)
DIFFERENTIABLE = {"steps": 40, "warmup_steps": 20, "table_every": 20, "candidates": 6,
                  "lambdas": [[0.05, 0.05], [0.5, 0.5]]}


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


def differentiable_vs_evolution(quick: bool) -> dict:
    base = SearchConfig.from_yaml(QUICKSTART).to_dict()
    base["measure"] = {"runtime": "none"}
    if quick:
        base["accuracy"]["supernet"] = {**base["accuracy"]["supernet"], "steps": 30}
    diff_opts = ({"steps": 10, "warmup_steps": 5, "table_every": 5, "lambdas": [[0.2, 0.2]]} if quick else DIFFERENTIABLE)
    trials = 4 if quick else 12
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def run(name: str, searcher: dict, budget: dict, checkpoint: str | None = None):
            doc = {**base, "name": name, "searcher": searcher, "budget": budget}
            if checkpoint:
                doc["accuracy"] = {**base["accuracy"], "checkpoint": checkpoint}
            t = time.perf_counter()
            state = run_search(SearchConfig.from_dict(doc, source=f"benchmark {name}"), tmp / name, progress=False)
            return state, time.perf_counter() - t

        run("supernet", {"name": "random", "batch": 8}, {"trials": 1})
        ckpt = str(tmp / "supernet" / "supernet.pt")
        diff, diff_s = run("differentiable", {"name": "differentiable", "batch": 8, **diff_opts}, {"trials": trials}, ckpt)
        evo, _ = run("evolution", {"name": "evolution", "batch": 8, "population": 48, "sample": 12},
                     {"trials": 100_000, "wall_time_s": diff_s}, ckpt)
        plain = None if quick else run("no-warmup", {"name": "differentiable", "batch": 8, **diff_opts, "warmup_steps": 0},
                                       {"trials": trials}, ckpt)[0]
    return {"differentiable_hv": diff.hypervolume(), "evolution_hv_same_wall_time": evo.hypervolume(),
            "differentiable_s": round(diff_s, 1), "evolution_trials_same_wall_time": len(evo.records),
            "collapse": {"min_depth_share_with_warmup": _min_depth(diff),
                         "min_depth_share_without_warmup": _min_depth(plain) if plain is not None else None}}


def _bohb_or_tpe(job: tuple) -> tuple[str, int, list[float], list[float]]:
    """(searcher, seed, wall seconds since the first trial started, hypervolume of full-fidelity trials)
    after each trial."""
    import torch

    torch.set_num_threads(1)
    name, seed, wall_s, epochs, tmp = job
    doc = SearchConfig.from_yaml(QUICKSTART).to_dict()
    bohb = {"name": "bohb", "batch": 1, "min_epochs": max(1, epochs // 3), "eta": 3, "min_points": 6,
            **BOHB_VARIANTS.get(name, {})}
    doc.update({"name": f"proxy-{name}-{seed}", "seed": seed, "measure": {"runtime": "none"},
                "budget": {"trials": 100_000, "wall_time_s": wall_s},
                "accuracy": {"fidelity": "proxy", "train": {"epochs": epochs, "batch_size": 64, "threads": 1}},
                "searcher": bohb if name in BOHB_VARIANTS else {"name": "tpe", "batch": 1, "startup_trials": 6}})
    state = run_search(SearchConfig.from_dict(doc, source=f"benchmark {name}"), Path(tmp) / f"{name}-{seed}",
                       progress=False)
    frozen = {t.number: t for t in state.store.study.get_trials(deepcopy=False)}
    done = sorted((t for t in state.trials() if t.settled), key=lambda t: frozen[t.number].datetime_complete)
    start = min(t.datetime_start for t in frozen.values() if t.datetime_start is not None)
    seconds = [(frozen[t.number].datetime_complete - start).total_seconds() for t in done]
    m = len(state.objectives)
    losses = np.array([t.losses if t.feasible else [np.inf] * m for t in done])
    hv = hypervolume_history(losses, np.array([t.feasible for t in done]))
    return name, seed, seconds, hv.tolist()


def _mean_or_none(values: list) -> float | None:
    return None if not values or any(v is None for v in values) else round(float(np.mean(values)), 3)


def bohb_vs_tpe(quick: bool, seeds: tuple[int, ...] = (0,), variants: tuple[str, ...] = ("bohb_untrained",)) -> dict:
    """TPE and each BOHB variant (``BOHB_VARIANTS``) for the
    same wall time per seed, two runs at a time (one core each); per seed, the seconds each needs to
    reach TPE's final hypervolume, on wall seconds since each run's first trial. ``bohb_s_to_hv`` / ``tpe_s_to_hv``
    are means over seeds for the first variant (null if some seed never reaches it)."""
    from concurrent.futures import ProcessPoolExecutor

    wall_s, epochs = (10.0, 3) if quick else (BOHB_WALL_S, 6)
    names = ("tpe", *variants)
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(2) as pool:
        runs = {(name, seed): (sec, hv) for name, seed, sec, hv in
                pool.map(_bohb_or_tpe, [(n, seed, wall_s, epochs, tmp) for seed in seeds for n in names])}
    per_seed: dict[str, list] = {n: [] for n in names}
    for seed in seeds:
        target = runs["tpe", seed][1][-1] if runs["tpe", seed][1] else 0.0
        for name in names:
            sec, hv = runs[name, seed]
            hit = [s for s, h in zip(sec, hv) if h >= target - 1e-12 and target > 0]
            per_seed[name].append(round(hit[0], 1) if hit else None)
    ratios = {n: [None if b is None or t is None else round(b / t, 3) for b, t in zip(per_seed[n], per_seed["tpe"])]
              for n in variants}
    mean_curve = _seed_mean_curves(runs, names, seeds, wall_s)
    return {"bohb_s_to_hv": mean_curve[variants[0]], "tpe_s_to_hv": mean_curve["tpe"],
            "bohb_vs_tpe": {"seeds": list(seeds), "wall_s_each": wall_s, "full_epochs": epochs,
                            "s_to_tpe_mean_hv_on_seed_mean_curves": mean_curve,
                            "ratio_on_seed_mean_curves": {n: (None if mean_curve[n] is None or not mean_curve["tpe"]
                                                              else round(mean_curve[n] / mean_curve["tpe"], 3))
                                                          for n in variants},
                            "s_to_tpe_hv_per_seed": per_seed, "ratio_to_tpe_per_seed": ratios,
                            "mean_ratio_to_tpe": {n: _mean_or_none(r) for n, r in ratios.items()},
                            "trials": {f"{n}/{s}": len(r[0]) for (n, s), r in runs.items()},
                            "final_hv": {f"{n}/{s}": (r[1][-1] if r[1] else 0.0) for (n, s), r in runs.items()}}}


def _seed_mean_curves(runs: dict, names: tuple[str, ...], seeds: tuple[int, ...], wall_s: float) -> dict:
    """Per searcher, the first second (on a 1 s grid of wall time since the first trial) at which its
    hypervolume averaged over the seeds reaches TPE's seed-averaged hypervolume at the end (``None``
    if it never does): anytime curves averaged over seeds, as the multi-fidelity papers plot them."""
    # the last trial of a run may end a little after wall_s: the grid covers it
    end = max([wall_s] + [sec[-1] for sec, _ in runs.values() if sec])
    grid = np.arange(0.0, np.ceil(end) + 1.0, 1.0)

    def curve(name: str, seed: int) -> np.ndarray:
        sec, hv = runs[name, seed]
        idx = np.searchsorted(np.asarray(sec), grid, side="right") - 1  # hypervolume after the last trial done
        return np.where(idx >= 0, np.asarray([0.0, *hv])[idx + 1], 0.0)

    means = {n: np.mean([curve(n, s) for s in seeds], axis=0) for n in names}
    target = float(max(np.mean([runs["tpe", s][1][-1] if runs["tpe", s][1] else 0.0 for s in seeds]), 0.0))
    out = {}
    for n in names:
        hit = np.nonzero(means[n] >= target - 1e-12)[0] if target > 0 else []
        out[n] = float(grid[hit[0]]) if len(hit) else None
    return out


def _min_depth(state) -> list:
    """Per λ, the share of stages at their smallest depth in the most likely candidate."""
    return [h.get("min_depth_share") for h in state.last_searcher.history]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 seed x 200 trials")
    ap.add_argument("--make-samples", action="store_true")
    ap.add_argument("--checkpoint", help="with --make-samples: an existing supernet checkpoint")
    ap.add_argument("--one-shot-and-multi-fidelity", action="store_true",
                    help="only the differentiable-vs-evolution and BOHB-vs-TPE comparisons (own section)")
    ap.add_argument("--multi-fidelity-seeds", type=int, default=0, metavar="N",
                    help="only BOHB variants against TPE over N seeds (own section)")
    ap.add_argument("--multi-fidelity-variants", default="bohb_untrained,bohb",
                    help=f"with --multi-fidelity-seeds: the BOHB variants, comma-separated ({', '.join(BOHB_VARIANTS)})")
    args = ap.parse_args()
    if args.make_samples:
        make_samples(args.checkpoint)
        return
    if args.multi_fidelity_seeds:
        start = time.perf_counter()
        variants = tuple(v for v in args.multi_fidelity_variants.split(",") if v)
        if not variants or set(variants) - set(BOHB_VARIANTS):
            ap.error(f"--multi-fidelity-variants: expected some of {', '.join(BOHB_VARIANTS)}, "
                     f"got {args.multi_fidelity_variants!r}")
        results = {**bohb_vs_tpe(args.quick, tuple(range(args.multi_fidelity_seeds)), variants),
                   "seconds": round(time.perf_counter() - start, 1)}
        publish("Search: BOHB vs TPE" + (" (quick)" if args.quick else ""), results,
                f"python benchmarks/search.py --multi-fidelity-seeds {args.multi_fidelity_seeds}"
                + (f" --multi-fidelity-variants {','.join(variants)}" if variants != ("bohb_untrained", "bohb") else "")
                + (" --quick" if args.quick else ""), notes=MULTI_FIDELITY_NOTES)
        return
    if args.one_shot_and_multi_fidelity:
        start = time.perf_counter()
        results = {**differentiable_vs_evolution(args.quick), **bohb_vs_tpe(args.quick),
                   "seconds": round(time.perf_counter() - start, 1)}
        publish("Search: differentiable and BOHB" + (" (quick)" if args.quick else ""), results,
                "python benchmarks/search.py --one-shot-and-multi-fidelity" + (" --quick" if args.quick else ""),
                notes=__doc__.split("\n\n", 2)[2])
        return
    seeds, trials = ([0], 200) if args.quick else ([0, 1, 2], 1000)
    start = time.perf_counter()
    curves: dict[str, list[np.ndarray]] = {}
    seconds: dict[str, float] = {}
    names = [n for n in SEARCHERS if not (n == "gp" and args.quick)]
    for name in names:
        t = time.perf_counter()
        for seed in seeds:
            curves.setdefault(name, []).append(hv_curve(name, seed, min(trials, GP_MAX_TRIALS) if name == "gp" else trials))
        seconds[name] = round(time.perf_counter() - t, 1)
        print(f"{name}: final hv {[round(float(c[-1]), 4) for c in curves[name]]} ({seconds[name]} s)", flush=True)
    random_final = [float(c[-1]) for c in curves["random"]]
    per_seed = {}
    for name in names:
        hits = []
        for c, target in zip(curves[name], random_final):
            reached = np.flatnonzero(c >= target)
            hits.append(int(reached[0]) + 1 if len(reached) else None)
        per_seed[name] = hits
    trials_to = {n: (float(np.mean(h)) if all(x is not None for x in h) else None) for n, h in per_seed.items()}
    final = {n: float(np.mean([c[-1] for c in cs])) for n, cs in curves.items()}
    best = min((n for n in names if n != "random"),
               key=lambda n: (trials_to[n] is None, trials_to[n] or 0, -final[n]))
    best_final = max((n for n in names if n != "random" and len(curves[n][0]) == trials), key=lambda n: final[n])
    phase = [float(hv_curve(best_final, seed, trials, "phase")[-1]) for seed in seeds]
    results = {
        "trials": trials, "seeds": len(seeds),
        "random_hv_final": float(np.mean(random_final)),
        "trials_to_random_hv": trials_to,
        "best_searcher": best,
        "joint_vs_phase_searcher": best_final,
        "joint_hv": final[best_final], "phase_hv": float(np.mean(phase)),
        "final_hv": final,
        **differentiable_vs_evolution(args.quick),
        **bohb_vs_tpe(args.quick),
        "details": {"trials_to_random_hv_per_seed": per_seed, "phase_hv_per_seed": phase,
                    "hv_at": {n: {str(k): float(np.mean([c[k - 1] for c in cs])) for k in (50, 100, 250, 500, trials)
                                  if k <= len(cs[0])} for n, cs in curves.items()},
                    "seconds": seconds},
        "seconds": round(time.perf_counter() - start, 1),
    }
    command = "python benchmarks/search.py" + (" --quick" if args.quick else "")
    publish("Search" + (" (quick)" if args.quick else ""), results, command, notes=__doc__.split("\n\n", 2)[2])


if __name__ == "__main__":
    main()
