"""Latency benchmark: onnxruntime measurements of random networks, the lookup-table and learned
predictors tested on held-out networks, and TVM against onnxruntime.

    python benchmarks/latency_predictors.py [--quick] [--tune-trials N] [--save-measurements FILE.json]
    python benchmarks/latency_predictors.py --tvm-only --tvm-networks 1 --tune-trials 1000   # a tuning budget study

Networks come from the default space; each is exported to ONNX and measured with onnxruntime at 1
intra-op thread (warm-up, ≥ 50 timed runs, re-measured up to 3× while CV > 5%) in 5 rounds, all
networks one after the other per round, so slow drifts of this shared machine hit every network
alike; a network's latency is the median of its 5 rounds. ``repeat_within_10pct`` is the share of
networks whose first two rounds agree within 10%: the noise floor any predictor is judged against.
Predictors: the layer lookup table (every distinct layer of the training networks, measured alone;
test networks' missing layers measured on the spot), the learned linear model (fitted on the
training networks), and the block lookup table with its fitted network correction (every distinct
stem/block/head of the training networks measured alone — with its weights cached and, above 256 KiB
of weights, streaming from DRAM — correction fitted on the training networks, test networks'
missing units measured on the spot). TVM: the same networks compiled for this CPU (1 thread),
untuned (codesign's default channels-last schedules, :mod:`latency_predictors.tvm_schedules`) and
tuned with ``--tune-trials`` trials per network (default 300): the convolution tile choices of each
kernel measured first, MetaSchedule's search for the rest of the budget, the fastest record per
kernel applied (one database shared by all networks, so repeated kernels are tuned once).
"""
from __future__ import annotations

import os

os.environ.setdefault("TVM_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_io import publish  # noqa: E402
from codesign import arch_workload  # noqa: E402
from codesign.workload.onnx_export import export_onnx  # noqa: E402
from codesign.spaces import ArchSpace  # noqa: E402
from latency_predictors.block_lut_predictor import BlockLutPredictor  # noqa: E402
from latency_predictors.learned_predictor import LearnedPredictor  # noqa: E402
from latency_predictors.lut_predictor import LutPredictor  # noqa: E402
from latency_predictors.ort_runtime import measure_ort  # noqa: E402


ROUNDS = 5  # measurement rounds per network (quick: 3); its latency is the median over them


def scores(pred: np.ndarray, measured: np.ndarray) -> tuple[float, float, float]:
    rel = np.abs(pred - measured) / measured
    return float((rel <= 0.10).mean()), float(stats.spearmanr(pred, measured)[0]), \
        float(np.sqrt(np.mean((pred - measured) ** 2)))


def within_by_weight_size(archs, pred: np.ndarray, measured: np.ndarray) -> dict:
    """Share within ±10% for test networks whose float32 weights fit in half the last-level cache and
    for the rest (the table is exact-ish for the former; the latter pay DRAM traffic that depends on
    how much of the shared cache the machine's other tenants hold at the time)."""
    from latency_predictors.weight_streaming import last_level_cache_bytes

    half_llc_mib = last_level_cache_bytes() / 2 / 2**20
    weight_mib = np.array([sum(l.weight_elems for l in arch_workload(a)) * 4 / 2**20 for a in archs])
    ok = np.abs(pred - measured) / measured <= 0.10
    fits = weight_mib <= half_llc_mib
    return {"half_llc_mib": half_llc_mib,
            "within_10pct_block_lut_weights_fit_half_llc": float(ok[fits].mean()) if fits.any() else None,
            "n_test_weights_fit_half_llc": int(fits.sum()),
            "within_10pct_block_lut_weights_exceed_half_llc": float(ok[~fits].mean()) if (~fits).any() else None,
            "n_test_weights_exceed_half_llc": int((~fits).sum())}


def save_measurements(path: str, archs, per_round: np.ndarray, n_train: int, test_predictions: dict) -> None:
    """Per-network data behind the figures, for analysis without re-measuring: architecture strings,
    each round's median latency (ms) and, for the test networks, every predictor's prediction (ms)."""
    rows = [{"arch": a.to_string(), "split": "train" if i < n_train else "test",
             "rounds_ms": [float(v) for v in per_round[:, i]], "measured_ms": float(np.median(per_round[:, i]))}
            for i, a in enumerate(archs)]
    for name, pred in test_predictions.items():
        for row, value in zip(rows[n_train:], pred):
            row[f"{name}_ms"] = float(value)
    Path(path).write_text(json.dumps(rows, indent=1))


def tvm_against_ort(protos, ort_ms, tune_trials: int) -> tuple[list[float], list[float], float]:
    """TVM/onnxruntime latency ratios untuned and tuned (one database shared by the networks), and the
    seconds spent tuning."""
    from latency_predictors.tvm_runtime import measure_tvm

    untuned, tuned, tune_s = [], [], 0.0
    with tempfile.TemporaryDirectory(prefix="codesign-ms-") as db:
        for p, ort in zip(protos, ort_ms):
            untuned.append(measure_tvm(p, threads=1).median_ms / ort)
            if tune_trials:
                t = time.perf_counter()
                tuned.append(measure_tvm(p, threads=1, tune_trials=tune_trials, db_dir=db).median_ms / ort)
                tune_s += time.perf_counter() - t
    return untuned, tuned, tune_s


def tvm_budget(args) -> int:
    """TVM against onnxruntime on the first networks of the default space at one tuning budget."""
    rng = np.random.default_rng(args.seed)
    space = ArchSpace.default()
    protos = [export_onnx(space.sample(rng)) for _ in range(args.tvm_networks or 1)]
    ort = [measure_ort(p, threads=1).median_ms for p in protos]
    trials = args.tune_trials if args.tune_trials is not None else 1000
    untuned, tuned, tune_s = tvm_against_ort(protos, ort, trials)
    res = {"ort_ms": ort, "tvm_untuned_over_ort": untuned, "tvm_tuned_over_ort": tuned,
           "tune_trials_per_network": trials, "tune_s": tune_s, "networks": len(protos)}
    publish("latency_tvm_budget", res, f"python benchmarks/latency_predictors.py --tvm-only --tvm-networks "
                                       f"{len(protos)} --tune-trials {trials}",
            "How far MetaSchedule tuning brings TVM towards onnxruntime (1 thread, per network).")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tune-trials", type=int, default=None, help="per network (default 300; quick: 0)")
    ap.add_argument("--tvm-only", action="store_true", help="only TVM against onnxruntime (section latency_tvm_budget)")
    ap.add_argument("--tvm-networks", type=int, default=None, help="networks compared with TVM (5; quick: 2)")
    ap.add_argument("--save-measurements", metavar="PATH", default=None,
                    help="also write every network's measured rounds and predictions (ms) to this JSON file")
    args = ap.parse_args(argv)
    if args.tvm_only:
        return tvm_budget(args)
    q = args.quick
    n_train, n_test, n_tvm = (30, 20, 2) if q else (100, 60, 5)
    n_tvm = args.tvm_networks or n_tvm
    tune_trials = args.tune_trials if args.tune_trials is not None else (0 if q else 300)
    rng = np.random.default_rng(args.seed)
    space = ArchSpace.default()
    archs = [space.sample(rng) for _ in range(n_train + n_test)]
    protos = [export_onnx(a) for a in archs]
    t0 = time.perf_counter()
    n_rounds = 3 if q else ROUNDS
    rounds = [[measure_ort(p, threads=1) for p in protos] for _ in range(n_rounds)]
    measure_s = (time.perf_counter() - t0) / n_rounds
    meas = rounds[0]
    per_round = np.array([[m.median_ms for m in r] for r in rounds])
    measured = np.median(per_round, axis=0)
    repeat = float(np.mean(np.abs(per_round[0] - per_round[1]) / per_round[1] <= 0.10))
    workloads = [arch_workload(a) for a in archs]
    train, test = slice(0, n_train), slice(n_train, None)

    lut = LutPredictor("ort", 1)
    t0 = time.perf_counter()
    for w in workloads[train]:
        lut.extend(w)
    lut_build_s = time.perf_counter() - t0
    lut.fit_overhead(workloads[train], list(measured[train]))
    lut_pred = np.array([lut.predict(w, measure_missing=True) for w in workloads[test]])
    learned = LearnedPredictor().fit(workloads[train], list(measured[train]))
    learned_pred = np.array([learned.predict(w) for w in workloads[test]])
    block = BlockLutPredictor(threads=1)
    t0 = time.perf_counter()
    for a in archs[train]:
        block.extend(a)
    block_build_s = time.perf_counter() - t0
    block.fit(archs[train], list(measured[train]))
    block_pred = np.array([block.predict(a, measure_missing=True) for a in archs[test]])
    if args.save_measurements:
        save_measurements(args.save_measurements, archs, per_round, n_train,
                          {"block_lut": block_pred, "lut": lut_pred, "learned": learned_pred})
    w_block, s_block, r_block = scores(block_pred, measured[test])
    by_size = within_by_weight_size(archs[test], block_pred, measured[test])
    w_lut, s_lut, r_lut = scores(lut_pred, measured[test])
    w_learned, s_learned, r_learned = scores(learned_pred, measured[test])

    untuned, tuned, _ = tvm_against_ort(protos[:n_tvm], [m.median_ms for m in meas[:n_tvm]], tune_trials)

    res = {
        "within_10pct_block_lut": w_block, "spearman_block_lut": s_block, "rmse_ms_block_lut": r_block,
        **by_size,
        "within_10pct_lut": w_lut, "within_10pct_learned": w_learned,
        "spearman_lut": s_lut, "spearman_learned": s_learned,
        "rmse_ms_lut": r_lut, "rmse_ms_learned": r_learned, "repeat_within_10pct": repeat,
        "n_train": n_train, "n_test": n_test,
        "median_cv_measurement": float(np.median([m.cv for m in meas])),
        "median_iqr_over_median": float(np.median([m.iqr_ms / m.median_ms for m in meas])),
        "remeasured_share": float(np.mean([m.attempts > 1 for m in meas])),
        "measured_ms_range": [float(measured.min()), float(measured.max())],
        "lut_layers": len(lut.table_ms), "lut_build_s": lut_build_s,
        "block_lut_units": len(block.table_ms), "block_lut_streamed_units": len(block.streamed_ms),
        "block_lut_build_s": block_build_s, "measure_s_per_network": measure_s / len(meas),
        "learned_cv_within_10pct_train": learned.cv_within_10pct,
        "tvm_untuned_over_ort": float(np.median(untuned)),
        "tvm_tuned_over_ort": float(np.median(tuned)) if tuned else None,
        "tvm_tune_trials_per_network": tune_trials, "tvm_networks": n_tvm,
    }
    publish("latency_predictors" + ("_quick" if q else ""), res,
            "python benchmarks/latency_predictors.py" + (" --quick" if q else ""),
            "onnxruntime 1 thread; ratios are TVM median / onnxruntime median on the same networks "
            "(median over networks); `tvm_tuned_over_ort` is null when no tuning was run.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
