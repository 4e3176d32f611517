"""Supernet benchmark on digits: rank agreement with stand-alone training, step overhead, predictor error.

    python benchmarks/supernet.py [--quick]

The supernet covers the compact space (``ibn_32_compact``: the default space's per-block choices with
narrower, shallower stages) so that it trains on a CPU in minutes. For random subnets it compares the
supernet accuracy (inherited weights, batch norm recalibrated on 512 training images) with the
accuracy of the same architecture trained alone under a fixed budget, both on the 540 held-out
images (validation + test splits). The stand-alone accuracy is the mean over ``--sa-seeds`` training
seeds (default 3): on digits the subnets lie within ~2 points of each other, about the spread of one
network trained from two seeds (``standalone_seed_std``), so a single-seed ranking is mostly noise.
``standalone_seed_vs_rest_tau`` is the reference for ``kendall_tau``: the Kendall τ of one
stand-alone training run against the mean of the other seeds, i.e. what an estimator as good as one
more stand-alone training reaches on this task. ``step_overhead`` is the median over those subnets of
(forward+backward time with the subnet active in the supernet) / (the same on its extracted static
network), batch 64. ``predictor_rmse`` is the accuracy predictor's RMSE on held-out subnets.
``best_standalone_accuracy_default_space`` trains random networks of the *default* space.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_io import publish  # noqa: E402
from codesign.accuracy_predictor import AccuracyPredictor  # noqa: E402
from codesign.datasets import Split, load_dataset  # noqa: E402
from codesign.spaces.arch_space import ArchSpace  # noqa: E402
from codesign.supernet import Supernet, recalibrate_batch_norm  # noqa: E402
from codesign.supernet_training import SupernetTrainConfig, train_supernet  # noqa: E402
from codesign.training import TrainConfig, accuracy, train  # noqa: E402


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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sa-seeds", type=int, default=None, help="stand-alone training seeds per subnet (3; quick: 1)")
    ap.add_argument("--sa-epochs", type=int, default=None, help="stand-alone training epochs per subnet (6; quick: 1)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    q = args.quick
    n_subnets, sn_steps, sa_epochs, n_pred = (10, 80, 1, 30) if q else (20, 1200, 6, 120)
    sa_seeds = args.sa_seeds or (1 if q else 3)
    sa_epochs = args.sa_epochs or sa_epochs
    rng = np.random.default_rng(args.seed)
    space = ArchSpace.resolve("ibn_32_compact")
    data = load_dataset("digits", resolution=32, seed=args.seed)
    held_out = Split(torch.cat([data.val.x, data.test.x]), torch.cat([data.val.y, data.test.y]))

    net = Supernet(space)
    t0 = time.perf_counter()
    tr = train_supernet(net, data, SupernetTrainConfig(steps=sn_steps, seed=args.seed), progress=False)
    supernet_s = time.perf_counter() - t0

    calib = data.train.x[torch.from_numpy(rng.permutation(len(data.train))[:512])]

    def supernet_acc(arch):
        net.set_active_subnet(arch)
        sub = recalibrate_batch_norm(net.get_active_subnet(), calib)
        return accuracy(sub, held_out)

    archs = [space.sample(rng) for _ in range(n_subnets)]
    sn_acc, sa_runs, ratios = [], [], []
    x, y = data.train.x[:64], data.train.y[:64]
    t_sa = 0.0
    for i, arch in enumerate(archs):
        sn_acc.append(supernet_acc(arch))
        t = time.perf_counter()
        seeds = [accuracy(train(arch, data, TrainConfig(epochs=sa_epochs, seed=args.seed + i + 1000 * k))[0], held_out)
                 for k in range(sa_seeds)]
        t_sa += time.perf_counter() - t
        sa_runs.append(seeds)
        net.set_active_subnet(arch)
        ratios.append(step_seconds(net, x, y) / step_seconds(net.get_active_subnet(), x, y))
        print(f"subnet {i}: supernet {sn_acc[-1]:.4f} stand-alone {np.mean(seeds):.4f} overhead {ratios[-1]:.2f}",
              file=sys.stderr)

    runs = np.array(sa_runs)  # (subnets, seeds)
    sa_acc = runs.mean(axis=1)

    # accuracy predictor: fit on supernet accuracies of random subnets, test on held-out ones
    pred_archs = [space.sample(rng) for _ in range(n_pred)]
    pred_acc = [supernet_acc(a) for a in pred_archs]
    cut = int(0.7 * n_pred)
    predictor = AccuracyPredictor(space).fit(pred_archs[:cut], pred_acc[:cut], seed=args.seed)
    rmse = float(np.sqrt(np.mean((predictor.predict(pred_archs[cut:]) - np.array(pred_acc[cut:])) ** 2)))

    # best stand-alone accuracy in the default space
    default = ArchSpace.default()
    best = 0.0
    for i in range(1 if q else 3):
        model, _ = train(default.sample(rng), data, TrainConfig(epochs=1 if q else 15, seed=args.seed + i))
        best = max(best, accuracy(model, data.test))

    res = {
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
        "kendall_tau_first_seed_only": float(stats.kendalltau(sn_acc, runs[:, 0])[0]),
        "standalone_seed_vs_rest_tau": seed_vs_rest_tau(runs),
        "standalone_s_per_net": t_sa / n_subnets,
        "supernet_acc_range": [float(min(sn_acc)), float(max(sn_acc))],
        "standalone_acc_range": [float(min(sa_acc)), float(max(sa_acc))],
    }
    cmd = ("python benchmarks/supernet.py" + (" --quick" if q else "") + (f" --threads {args.threads}" if args.threads != 2 else "")
           + (f" --sa-seeds {args.sa_seeds}" if args.sa_seeds else "") + (f" --sa-epochs {args.sa_epochs}" if args.sa_epochs else ""))
    publish("supernet" + ("_quick" if q else ""), res, cmd,
            "Digits, compact space for the supernet; accuracies on the 540 held-out images.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
