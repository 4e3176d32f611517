"""Supernet benchmark on digits: rank agreement with stand-alone training, step overhead, predictor error.

    python benchmarks/supernet.py [--quick] [--data digits_distorted|digits] [--threads N]

The supernet covers the compact space (``ibn_32_compact``: the default space's per-block choices with
narrower, shallower stages) so that it trains on a CPU in minutes. For random subnets it compares the
supernet accuracy (inherited weights, batch norm recalibrated on 512 training images) with the
accuracy of the same architecture trained alone under a fixed budget, both on the held-out images
(validation + test splits). The stand-alone accuracy is the mean over ``--sa-seeds`` training seeds
(default 3). ``standalone_seed_vs_rest_tau`` is the reference for ``kendall_tau``: the Kendall τ of
one stand-alone training run against the mean of the other seeds, i.e. what an estimator as good as
one more stand-alone training reaches on this task.

The rank comparison runs on ``digits_distorted`` (the bundled digits, each drawn four times under
random warps, clutter and noise; 2,160 held-out images) by default. On plain ``digits`` every
subnet gets 98–99.5% of the 540 held-out images right: the 20 subnets differ by 7 images, as much as
one network trained from two seeds does, and one stand-alone run ranks them against the others'
mean with τ ≈ 0.47 only (measured, BENCHMARKS.md history), so a τ on plain digits mostly measures
noise. ``--data digits`` runs that comparison anyway. ``--quick`` is a smoke run on plain digits (10
subnets, 3 stand-alone epochs, 160 supernet steps): its τ is not the figure to quote.

``kendall_tau_finetuned_100_steps`` scores each subnet again after 100 training steps (AdamW, lr
1e-3, cosine) from its inherited, recalibrated weights: 6,400 images, against 3 × 6 epochs of ~5,000
images for the stand-alone truth. ``step_overhead`` is the median over those subnets of
(forward+backward time with the subnet active in the supernet) / (the same on its extracted static
network), batch 64. ``predictor_rmse`` is the accuracy predictor's RMSE on held-out subnets. ``best_standalone_accuracy_default_space`` trains
random networks of the *default* space on plain digits and reports the best test accuracy.
``--standalone-cache FILE`` keeps stand-alone accuracies between runs (keyed by data set,
architecture, epochs, seed and threads), since they do not depend on the supernet.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_io import publish  # noqa: E402
from codesign.accuracy.predictor import AccuracyPredictor  # noqa: E402
from codesign.accuracy.datasets import Split, load_dataset  # noqa: E402
from codesign.spaces.arch_space import ArchSpace  # noqa: E402
from codesign.accuracy.supernet import Supernet, recalibrate_batch_norm  # noqa: E402
from codesign.accuracy.supernet_training import SupernetTrainConfig, train_supernet  # noqa: E402
from codesign.accuracy.training import TrainConfig, accuracy, train  # noqa: E402


def step_seconds(model, x, y, reps: int = 5) -> float:
    model.train()
    F.cross_entropy(model(x), y).backward()  # warm-up
    t = time.perf_counter()
    for _ in range(reps):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
    return (time.perf_counter() - t) / reps


def seed_vs_rest_tau(runs: np.ndarray) -> float | None:
    """How well one stand-alone training run ranks the subnets as the mean of the other seeds does:
    Kendall τ of seed k against the mean of the rest, averaged over k. The reference figure for
    ``kendall_tau``: an estimator as good as one more stand-alone training reaches about this."""
    if runs.shape[1] < 2:
        return None
    rest = [np.delete(runs, k, axis=1).mean(axis=1) for k in range(runs.shape[1])]
    return float(np.mean([stats.kendalltau(runs[:, k], r)[0] for k, r in enumerate(rest)]))


class StandaloneCache:
    """Stand-alone accuracies keyed by data set, architecture, epochs, seed and threads, kept in a
    JSON file, so that a re-run with another supernet recipe does not retrain the same networks (they
    do not depend on the supernet). Training is deterministic under a seed on CPU at a given thread
    count, so a cached value is the value a fresh run computes. The file is re-read before each
    training and merged on each write (atomic rename), so several processes can share it, e.g. a
    ``--standalone-only --reverse`` worker filling it from the last subnet."""

    def __init__(self, path: str | None):
        self.path = Path(path) if path else None
        self.hits = 0
        self.train_s: list[float] = []  # seconds of each training, cached ones included where known

    def _read(self) -> dict:
        return json.loads(self.path.read_text()) if self.path and self.path.exists() else {}

    def get(self, key: str, compute) -> float:
        known = self._read()
        if key in known:
            self.hits += 1
            value, seconds = known[key]
            if seconds is not None:
                self.train_s.append(seconds)
            return value
        t = time.perf_counter()
        value = compute()
        self.train_s.append(time.perf_counter() - t)
        if self.path:
            merged = {**self._read(), key: [value, self.train_s[-1]]}
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(merged, indent=0, sort_keys=True))
            tmp.replace(self.path)
        return value


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sa-seeds", type=int, default=None, help="stand-alone training seeds per subnet (3; quick: 1)")
    ap.add_argument("--sa-epochs", type=int, default=None, help="stand-alone training epochs per subnet (6; quick: 3)")
    ap.add_argument("--data", default=None, choices=("digits", "digits_distorted"),
                    help="data set for the rank comparison (digits_distorted; quick: digits; see the module docstring)")
    ap.add_argument("--supernet-steps", type=int, default=None, help="supernet training steps (2400; quick: 160)")
    ap.add_argument("--finetune-steps", type=int, default=None,
                    help="also score each subnet after this many fine-tuning steps from its inherited weights (100; quick: 0)")
    ap.add_argument("--standalone-cache", default=None, help="JSON file of stand-alone accuracies to reuse and extend")
    ap.add_argument("--standalone-only", action="store_true", help="only train the stand-alone networks (fills the cache)")
    ap.add_argument("--reverse", action="store_true", help="train the stand-alone networks last subnet first")
    ap.add_argument("--supernet-seed", type=int, default=None,
                    help="seed of the supernet's initial weights and training draws (default --seed); the subnets and "
                         "the stand-alone truth stay those of --seed, and the result is published as supernet_seed<N>")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    q = args.quick
    n_subnets, sn_steps, sa_epochs, n_pred = (10, 160, 3, 30) if q else (20, 2400, 6, 120)
    args.data = args.data or ("digits" if q else "digits_distorted")
    sa_seeds = args.sa_seeds or (1 if q else 3)
    sa_epochs = args.sa_epochs or sa_epochs
    sn_steps = args.supernet_steps or sn_steps
    ft_steps = (0 if q else 100) if args.finetune_steps is None else args.finetune_steps
    rng = np.random.default_rng(args.seed)
    space = ArchSpace.resolve("ibn_32_compact")
    data = load_dataset(args.data, resolution=32, seed=args.seed)
    held_out = Split(torch.cat([data.val.x, data.test.x]), torch.cat([data.val.y, data.test.y]))
    archs = [space.sample(rng) for _ in range(n_subnets)]
    cache = StandaloneCache(args.standalone_cache)

    sa_runs = [None] * n_subnets
    for i in (reversed(range(n_subnets)) if args.reverse else range(n_subnets)):
        arch = archs[i]
        seeds = []
        for k in range(sa_seeds):
            seed = args.seed + i + 1000 * k
            seeds.append(cache.get(f"{args.data}|{arch.key}|epochs={sa_epochs}|seed={seed}|threads={args.threads}",
                                   lambda arch=arch, seed=seed: accuracy(
                                       train(arch, data, TrainConfig(epochs=sa_epochs, seed=seed))[0], held_out)))
        sa_runs[i] = seeds
        print(f"subnet {i}: stand-alone {np.mean(seeds):.4f} ({', '.join(f'{a:.4f}' for a in seeds)})", file=sys.stderr)
    if args.standalone_only:
        return 0

    sn_seed = args.seed if args.supernet_seed is None else args.supernet_seed
    net = Supernet(space, seed=sn_seed)  # the supernet's initial weights
    t0 = time.perf_counter()
    tr = train_supernet(net, data, SupernetTrainConfig(steps=sn_steps, seed=sn_seed), progress=False)
    supernet_s = time.perf_counter() - t0

    calib = data.train.x[torch.from_numpy(rng.permutation(len(data.train))[:512])]

    def inherited(arch):
        net.set_active_subnet(arch)
        return recalibrate_batch_norm(net.get_active_subnet(), calib)

    def supernet_acc(arch):
        return accuracy(inherited(arch), held_out)

    sn_acc, ft_acc, ratios = [], [], []
    x, y = data.train.x[:64], data.train.y[:64]
    for i, arch in enumerate(archs):
        sub = inherited(arch)
        sn_acc.append(accuracy(sub, held_out))
        if ft_steps:  # fine-tunes this recalibrated copy in place; its plain accuracy is already taken
            sub, _ = train(sub, data, TrainConfig(steps=ft_steps, lr=1e-3, seed=args.seed + i))
            ft_acc.append(accuracy(sub, held_out))
        ratios.append(step_seconds(net, x, y) / step_seconds(net.get_active_subnet(), x, y))
        print(f"subnet {i}: supernet {sn_acc[-1]:.4f} stand-alone {np.mean(sa_runs[i]):.4f} overhead {ratios[-1]:.2f}",
              file=sys.stderr)

    runs = np.array(sa_runs)  # (subnets, seeds)
    sa_acc = runs.mean(axis=1)

    # accuracy predictor: fit on supernet accuracies of random subnets, test on held-out ones
    pred_archs = [space.sample(rng) for _ in range(n_pred)]
    pred_acc = [supernet_acc(a) for a in pred_archs]
    cut = int(0.7 * n_pred)
    predictor = AccuracyPredictor(space).fit(pred_archs[:cut], pred_acc[:cut], seed=args.seed)
    rmse = float(np.sqrt(np.mean((predictor.predict(pred_archs[cut:]) - np.array(pred_acc[cut:])) ** 2)))

    # best stand-alone accuracy in the default space, on plain digits
    default = ArchSpace.default()
    digits = data if args.data == "digits" else load_dataset("digits", resolution=default.resolution, seed=args.seed)
    best = 0.0
    for i in range(1 if q else 3):
        model, _ = train(default.sample(rng), digits, TrainConfig(epochs=3 if q else 15, seed=args.seed + i))
        best = max(best, accuracy(model, digits.test))

    res = {
        "data": args.data,
        "supernet_seed": sn_seed,
        "kendall_tau": float(stats.kendalltau(sn_acc, sa_acc)[0]),
        "spearman_rho": float(stats.spearmanr(sn_acc, sa_acc)[0]),
        "n_subnets": n_subnets,
        "step_overhead": float(np.median(ratios)),
        "predictor_rmse": rmse,
        "predictor_model": predictor.model_name,
        "predictor_cv_rmse": predictor.cv_rmse,
        "best_standalone_accuracy_default_space": best,
        "supernet_steps": tr.steps,
        "supernet_train_s": supernet_s,
        "supernet_s_per_subnet_pass": tr.seconds_per_subnet_step,
        "standalone_epochs": sa_epochs,
        "standalone_seeds": sa_seeds,
        "standalone_seed_std": float(np.median(runs.std(axis=1, ddof=1))) if sa_seeds > 1 else None,
        f"kendall_tau_finetuned_{ft_steps}_steps": float(stats.kendalltau(ft_acc, sa_acc)[0]) if ft_steps else None,
        "kendall_tau_first_seed_only": float(stats.kendalltau(sn_acc, runs[:, 0])[0]),
        "standalone_seed_vs_rest_tau": seed_vs_rest_tau(runs),
        "standalone_s_per_net": float(np.mean(cache.train_s)) * sa_seeds if cache.train_s else None,
        "supernet_acc_range": [float(min(sn_acc)), float(max(sn_acc))],
        "standalone_acc_range": [float(min(sa_acc)), float(max(sa_acc))],
    }
    cmd = " ".join(["python benchmarks/supernet.py", *(sys.argv[1:] if argv is None else argv)])
    name = "supernet" + ("_quick" if q else "") + (f"_seed{sn_seed}" if sn_seed != args.seed else "")
    publish(name, res, cmd,
            f"Data `{args.data}` ({len(held_out)} held-out images), compact space for the supernet; "
            "best_standalone_accuracy_default_space on plain digits."
            + (f" {cache.hits} of {n_subnets * sa_seeds} stand-alone trainings read from `{args.standalone_cache}`,"
               " computed by this script's code at the same thread count." if cache.hits else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
