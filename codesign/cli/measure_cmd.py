"""``codesign measure`` (onnxruntime or TVM, local or RPC) and ``codesign predictor build|eval``."""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from ..arch import ArchConfig
from ..errors import Problem, ValidationError
from ..spaces import ArchSpace
from ..workload.from_arch import arch_workload
from ..workload.source import resolve_network


def register(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser("measure", help="measure a network's latency with onnxruntime or TVM")
    m.add_argument("network", metavar="ARCH_STRING|MODEL.onnx")
    m.add_argument("--runtime", choices=["ort", "tvm"], default="ort")
    m.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    m.add_argument("--tune", type=int, default=0, metavar="TRIALS", help="TVM MetaSchedule trials (default 0)")
    m.add_argument("--tune-db", default=str(Path.home() / ".cache" / "codesign" / "tvm-tuning"),
                   help="persistent MetaSchedule database directory")
    m.add_argument("--rpc", metavar="HOST:PORT", help="measure on a TVM RPC server (tvm runtime only)")
    m.add_argument("--target", metavar="TVM_TARGET", help="compile for this target, e.g. 'llvm -mtriple=aarch64-linux-"
                                                          "gnu -mattr=+neon' (default: this host)")
    m.add_argument("--cc", metavar="COMPILER", help="cross compiler linking the library, e.g. aarch64-linux-gnu-g++")
    m.add_argument("--precision", choices=["float", "int8"], default="float",
                   help="int8: time the network quantized to a static int8 QDQ model (default float)")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=measure)

    p = sub.add_parser("predictor", help="build or evaluate latency predictors for this CPU")
    psub = p.add_subparsers(dest="predictor_cmd", required=True)
    b = psub.add_parser("build", help="measure random networks and their layers; fit the LUT and learned predictors")
    b.add_argument("--runtime", choices=["ort"], default="ort")
    b.add_argument("--networks", type=int, default=50)
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--out", default="latency_predictor", help="directory for lut.json and learned.json")
    b.set_defaults(func=build)
    e = psub.add_parser("eval", help="predicted vs measured latency on fresh random networks")
    e.add_argument("--dir", default="latency_predictor", help="directory written by `predictor build`")
    e.add_argument("--networks", type=int, default=20)
    e.add_argument("--seed", type=int, default=1)
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=evaluate_predictors)


def _onnx_of(spec: str):
    """The ONNX model to time: the named file, or the export of an architecture string."""
    network = resolve_network(spec)
    if not isinstance(network, ArchConfig):
        return network
    from ..workload.onnx_export import export_onnx

    return export_onnx(network)


def measure(args: argparse.Namespace) -> int:
    model = _onnx_of(args.network)
    if args.precision == "int8":
        from ..quantization.onnx_int8 import int8_for_timing, load_onnx

        model = int8_for_timing(load_onnx(model) if isinstance(model, str) else model)
    if args.runtime == "ort":
        if args.rpc or args.tune or args.target or args.cc:
            raise ValidationError(Problem("--runtime ort", "--rpc, --tune, --target and --cc apply to --runtime tvm only"))
        from latency_predictors.ort_runtime import measure_ort

        m = measure_ort(model, threads=args.threads)
    else:
        os.environ["TVM_NUM_THREADS"] = str(args.threads)
        from latency_predictors.tvm_runtime import measure_tvm

        m = measure_tvm(model, threads=args.threads, tune_trials=args.tune, db_dir=args.tune_db, rpc=args.rpc,
                        target=args.target, cc=args.cc)
    print(f"{args.runtime} ({args.precision}): median {m.median_ms:.4f} ms, IQR {m.iqr_ms:.4f} ms, CV {m.cv:.3f} "
          f"({m.samples} samples, {m.attempts} attempt(s)) on {m.env.get('cpu')}, {args.threads} thread(s)")
    if args.json:
        print(json.dumps(m.to_dict()))
    return 0


def sample_networks(n: int, seed: int):
    space, rng = ArchSpace.default(), np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


def measure_networks(archs, threads: int) -> list[float]:
    from latency_predictors.ort_runtime import measure_ort

    from ..workload.onnx_export import export_onnx

    return [measure_ort(export_onnx(a), threads=threads).median_ms for a in archs]


def build(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from latency_predictors.block_lut_predictor import BlockLutPredictor
    from latency_predictors.learned_predictor import LearnedPredictor
    from latency_predictors.lut_predictor import LutPredictor


    archs = sample_networks(args.networks, args.seed)
    measured = measure_networks(tqdm(archs, desc="networks", leave=False), args.threads)
    workloads = [arch_workload(a) for a in archs]
    lut = LutPredictor("ort", args.threads)
    for w in tqdm(workloads, desc="layers", leave=False):
        lut.extend(w)
    lut.fit_overhead(workloads, measured)
    learned = LearnedPredictor(env=lut.env).fit(workloads, measured)
    block = BlockLutPredictor(args.threads)
    for a in tqdm(archs, desc="blocks", leave=False):
        block.extend(a)
    block.fit(archs, measured)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lut.save(out / "lut.json")
    learned.save(out / "learned.json")
    block.save(out / "block_lut.json")
    print(f"{len(lut.table_ms)} layers in {out / 'lut.json'}; {len(block.table_ms)} blocks in "
          f"{out / 'block_lut.json'}; learned predictor {out / 'learned.json'} "
          f"(cross-validated: {learned.cv_within_10pct:.0%} within ±10%, MAPE {learned.cv_mape:.1%})")
    return 0


def evaluate_predictors(args: argparse.Namespace) -> int:
    from scipy import stats

    from latency_predictors.block_lut_predictor import BlockLutPredictor
    from latency_predictors.learned_predictor import LearnedPredictor
    from latency_predictors.lut_predictor import LutPredictor


    lut = LutPredictor.load(Path(args.dir) / "lut.json")
    learned = LearnedPredictor.load(Path(args.dir) / "learned.json")
    block = BlockLutPredictor.load(Path(args.dir) / "block_lut.json")
    archs = sample_networks(args.networks, args.seed)
    measured = np.array(measure_networks(archs, lut.threads))
    workloads = [arch_workload(a) for a in archs]
    res = {}
    for name, predict in (("block_lut", lambda i: block.predict(archs[i], measure_missing=True)),
                          ("lut", lambda i: lut.predict(workloads[i], measure_missing=True)),
                          ("learned", lambda i: learned.predict(workloads[i]))):
        pred = np.array([predict(i) for i in range(len(archs))])
        rel = np.abs(pred - measured) / measured
        res[name] = {"within_10pct": float((rel <= 0.1).mean()), "spearman": float(stats.spearmanr(pred, measured)[0]),
                     "rmse_ms": float(np.sqrt(np.mean((pred - measured) ** 2)))}
        print(f"{name:8s} within ±10%: {res[name]['within_10pct']:.0%}, Spearman {res[name]['spearman']:.3f}, "
              f"RMSE {res[name]['rmse_ms']:.4f} ms over {len(archs)} networks")
    if args.json:
        print(json.dumps(res))
    return 0
