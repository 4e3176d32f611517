"""``codesign device plan|measure|fit|predict``: a latency model of your own target from a few measurements."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from ..errors import Problem, ValidationError
from latency_predictors.environment import cpu_model
from .table import format_table
from latency_predictors.device_measurements import MeasurementFile, network_layers
from latency_predictors.device_plan import export_network, onnx_files, sample_space, spread_subset
from latency_predictors.workload_features import feature_matrix
from latency_predictors.device_measurements import read_measurements
from latency_predictors.device_measurements import measured_features

PLAN_FILE = "measurements.csv"


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("device", help="device latency models from a few measurements of your own target")
    dsub = d.add_subparsers(dest="device_cmd", required=True)
    p = dsub.add_parser("plan", help="pick N networks spread over the workload space; write their ONNX and a CSV")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--space", metavar="NAME|FILE", help="ibn_32_compact, ibn_32, a space YAML, nasbench201 or fbnet")
    src.add_argument("--onnx-dir", metavar="DIR", help="choose among the .onnx files of DIR")
    p.add_argument("-n", type=int, default=10, help="networks to measure (default 10)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=plan)
    m = dsub.add_parser("measure", help="fill a plan's CSV by measuring on this CPU (ort) or TVM (local or RPC)")
    m.add_argument("dir", metavar="DIR")
    m.add_argument("--runtime", choices=["ort", "tvm"], default="ort")
    m.add_argument("--threads", type=int, default=1)
    m.add_argument("--rpc", metavar="HOST:PORT")
    m.add_argument("--target", metavar="TVM_TARGET", help="e.g. 'llvm -mtriple=aarch64-linux-gnu -mattr=+neon'")
    m.add_argument("--cc", metavar="COMPILER", help="cross compiler, e.g. aarch64-linux-gnu-g++")
    m.set_defaults(func=measure)
    f = dsub.add_parser("fit", help="fit a device model from a measurement CSV")
    f.add_argument("measurements", metavar="MEAS.csv")
    f.add_argument("--out", required=True, metavar="DEVICE.json")
    f.add_argument("--metric", choices=["latency_ms", "energy_mj"], default="latency_ms")
    f.add_argument("--prior", metavar="PRIOR.json", help="a device prior (default: the shipped one)")
    f.set_defaults(func=fit)
    q = dsub.add_parser("predict", help="predict networks' latency with a device model")
    q.add_argument("model", metavar="DEVICE.json")
    q.add_argument("networks", nargs="+", metavar="NETWORK")
    q.add_argument("--json", action="store_true", help="last line: a JSON list of {network, latency_ms, uncertainty_ms}")
    q.set_defaults(func=predict)


def plan(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise ValidationError(Problem("-n", f"must be at least 1, got {args.n}"))
    out = Path(args.out)
    if (out / PLAN_FILE).exists():
        raise ValidationError(Problem(str(out / PLAN_FILE), "exists already: measure it, or plan into another folder"))
    pool = onnx_files(args.onnx_dir) if args.onnx_dir else sample_space(args.space, max(40 * args.n, 200), args.seed)
    feats = feature_matrix([network_layers(net, args.batch) for net in pool])
    chosen = [pool[i] for i in spread_subset(feats, args.n, args.seed)]
    out.mkdir(parents=True, exist_ok=True)
    networks = []
    for i, net in enumerate(chosen):
        if args.onnx_dir:
            networks.append(str(Path(net).resolve()))
        else:
            export_network(net, out / f"net_{i:03d}.onnx", args.batch)
            networks.append(net)
    nan = [math.nan] * len(networks)
    import numpy as np
    MeasurementFile(out / PLAN_FILE, {"device": "FILL-IN", "batch": args.batch}, networks, list(range(len(networks))),
                    np.array(nan), np.array(nan),
                    ["row i's network is net_<i>.onnx in this folder; fill in latency_ms (and energy_mj if known)"]
                    if not args.onnx_dir else []).write()
    print(f"wrote {len(networks)} networks and {out / PLAN_FILE}: measure them on your target and fill in "
          f"latency_ms (or `codesign device measure {out}`), then `codesign device fit {out / PLAN_FILE} --out DEVICE.json`")
    return 0


def measure(args: argparse.Namespace) -> int:
    import os


    if (args.rpc or args.target or args.cc) and args.runtime != "tvm":
        raise ValidationError(Problem("--rpc/--target/--cc", "apply to --runtime tvm only"))
    path = Path(args.dir) / PLAN_FILE
    meas = read_measurements(path)
    if meas.device.get("device") in (None, "", "FILL-IN"):
        meas.device["device"] = f"rpc {args.rpc}" if args.rpc else cpu_model()
    meas.device["runtime"] = f"{args.runtime}, {args.threads} thread(s)"
    todo = [i for i in range(len(meas.networks)) if math.isnan(meas.latency_ms[i])]
    for n, i in enumerate(todo, start=1):
        model = Path(args.dir) / f"net_{i:03d}.onnx"
        if not model.is_file():
            model = Path(meas.resolve(meas.networks[i]))
        if args.runtime == "ort":
            from latency_predictors.ort_runtime import measure_ort
            m = measure_ort(str(model), threads=args.threads)
        else:
            os.environ["TVM_NUM_THREADS"] = str(args.threads)
            from latency_predictors.tvm_runtime import measure_tvm
            m = measure_tvm(str(model), threads=args.threads, rpc=args.rpc, target=args.target, cc=args.cc)
        meas.latency_ms[i] = m.median_ms
        meas.write()  # after every row: an interrupted run keeps what it measured
        print(f"[{n}/{len(todo)}] row {i}: {m.median_ms:.4f} ms (CV {m.cv:.3f})")
    print(f"{path}: {len(meas.networks)} networks measured")
    return 0


def fit(args: argparse.Namespace) -> int:
    from latency_predictors.device_model import DeviceModel
    from latency_predictors.device_prior import DevicePrior

    meas = read_measurements(args.measurements)
    networks, feats, values = measured_features(meas, args.metric)
    prior = DevicePrior.load(args.prior) if args.prior else DevicePrior.load()
    model = DeviceModel(dict(meas.device), args.metric, networks, feats, values, prior)
    model.save(args.out)
    loo = model.loo_summary()
    print(f"device model of {meas.device.get('device', '?')} ({args.metric}) from {loo['n']} measurements: "
          f"leave-one-out median error {100 * loo['median_rel_err']:.1f}%, max {100 * loo['max_rel_err']:.1f}%, "
          f"{100 * loo['within_10pct']:.0f}% within ±10%; wrote {args.out}")
    return 0


def predict(args: argparse.Namespace) -> int:
    from latency_predictors.device_model import DeviceModel, predict_networks

    model = DeviceModel.load(args.model)
    mean, std = predict_networks(model, args.networks)
    unit = model.metric.rsplit("_", 1)[1]
    rows = [[net if len(net) <= 60 else net[:57] + "...", float(m), float(s)] for net, m, s in zip(args.networks, mean, std)]
    print(format_table(["network", model.metric, f"± {unit} (1 sd)"], rows))
    if args.json:
        print(json.dumps([{"network": n, model.metric: float(m), f"uncertainty_{unit}": float(s)}
                          for n, m, s in zip(args.networks, mean, std)]))
    return 0
