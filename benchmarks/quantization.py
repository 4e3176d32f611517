"""Quantization: int8 against float accuracy and latency of trained networks, the int8 export check,
and a joint search over precision against the same search with precision fixed at 8 bits.

    python benchmarks/quantization.py [--quick]

**Networks.** ``NETWORKS`` (20) networks drawn (seed 0) from the search's default network space
``ibn_32_compact``, each trained stand-alone for ``EPOCHS`` (2) epochs on ``digits_distorted`` (two
processes, one core each). For each: float test accuracy (onnxruntime on the float ONNX file), int8
test accuracy of the static QDQ model an export writes (per-channel int8 weights, per-tensor uint8
activations, MinMax ranges from 256 training images), the torch simulation of the same scheme the
search scores (``int8_sim_vs_ort_points``: |simulated − onnxruntime int8| accuracy, median),
top-1 agreement int8 vs float on the test split (``int8_top1_agreement``: median over networks),
and onnxruntime latency at 1 thread, float and int8, measured one network at a time after all
training has finished (``int8_speedup_ort``: median of float / int8 latency). Accuracy drops are in
points (float − int8, ×100): median and max.

**Precision search.** The quickstart setup (supernet fidelity on digits, analytical costs, 10 mm² area
budget, evolution; ``SUPERNET_STEPS`` (300) supernet steps, ``SEARCH_TRIALS`` (120) trials a search) on ``ibn_32_compact_quant`` × ``nahas_like_precision`` (network policy w4a4 /
w8a8 / w16a16 × datapath 4 / 8 / 16 bits; a network wider than the datapath is infeasible), against
the same search restricted to w8a8 × 8-bit (same supernet checkpoint, same seed, same trials).
Hypervolumes of accuracy (quantized) × latency × energy, both against the searched run's reference
point (``hv_precision_searched``, ``hv_precision_fixed_8``); ``front_precision_mix`` counts the
searched front's points per (policy, datapath). ``mac_energy_pj_by_bits``: the 45 nm technology
table's energy per MAC (Horowitz, ISSCC 2014, scaled by (bits/8)^2).

``--quick``: 2 networks × 1 epoch on digits, a 30-step supernet and 16 trials a search (mechanics only).
"""
from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_io import publish  # noqa: E402

NETWORKS, EPOCHS, DATA = 20, 2, "digits_distorted"
SEARCH_TRIALS, SUPERNET_STEPS = 120, 300
ROOT = Path(__file__).resolve().parent.parent


def _train_and_quantize(job: tuple) -> dict:
    """Train one network; write its float and int8 ONNX files into ``tmp``; accuracies."""
    import torch

    from codesign.accuracy.datasets import load_dataset
    from codesign.accuracy.training import TrainConfig, train
    from codesign.arch import ArchConfig, QuantPolicy
    from codesign.quantization import QuantizedAccuracy, quantize_onnx_int8, quantized_accuracy
    from codesign.quantization.onnx_int8 import onnx_predictions
    from codesign.workload.onnx_export import export_onnx

    torch.set_num_threads(1)
    i, arch_s, epochs, data_name, tmp = job
    data = load_dataset(data_name, 32, 3, 0)
    model, _ = train(ArchConfig.from_string(arch_s), data, TrainConfig(epochs=epochs, threads=1))
    model.eval()
    calib = QuantizedAccuracy(data, calib_images=512).calib
    f, q = Path(tmp) / f"n{i}.onnx", Path(tmp) / f"n{i}_int8.onnx"
    export_onnx(model, f, dynamic_batch=True)
    quantize_onnx_int8(f, q, calib.numpy())
    x, y = data.test.x.numpy(), data.test.y.numpy()
    pf, pq = onnx_predictions(f, x).argmax(1), onnx_predictions(q, x).argmax(1)
    return {"arch": arch_s, "float_acc": float(np.mean(pf == y)), "int8_acc": float(np.mean(pq == y)),
            "sim_int8_acc": quantized_accuracy(model, QuantPolicy(8, 8), calib, data.test),
            "agreement": float(np.mean(pf == pq)), "float": str(f), "int8": str(q)}


def networks(n: int, epochs: int, data_name: str) -> dict:
    from codesign.spaces.arch_space import ArchSpace
    from latency_predictors.ort_runtime import measure_ort

    rng = np.random.default_rng(0)
    space = ArchSpace.resolve("ibn_32_compact")
    archs = [space.sample(rng).to_string() for _ in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        with ProcessPoolExecutor(2) as pool:
            rows = list(pool.map(_train_and_quantize, [(i, a, epochs, data_name, tmp) for i, a in enumerate(archs)]))
        train_s = time.perf_counter() - t
        for r in rows:  # one at a time, nothing else running
            r["float_ms"] = measure_ort(r.pop("float"), threads=1).median_ms
            r["int8_ms"] = measure_ort(r.pop("int8"), threads=1).median_ms
    drops = np.array([100 * (r["float_acc"] - r["int8_acc"]) for r in rows])
    speed = np.array([r["float_ms"] / r["int8_ms"] for r in rows])
    print(f"{n} networks: int8 drop median {np.median(drops):.2f} pts, max {drops.max():.2f}; speed-up median "
          f"{np.median(speed):.2f}x; train {train_s:.0f} s", flush=True)
    return {"int8_accuracy_drop_points": {"median": float(np.median(drops)), "max": float(drops.max())},
            "int8_speedup_ort": float(np.median(speed)),
            "int8_top1_agreement": float(np.median([r["agreement"] for r in rows])),
            "int8_sim_vs_ort_points": float(np.median([100 * abs(r["sim_int8_acc"] - r["int8_acc"]) for r in rows])),
            "networks": {"n": n, "epochs": epochs, "data": data_name,
                         "float_accuracy_median": float(np.median([r["float_acc"] for r in rows])),
                         "int8_speedup_ort_min_max": [float(speed.min()), float(speed.max())],
                         "per_network": [{k: (round(v, 5) if isinstance(v, float) else v) for k, v in r.items()}
                                         for r in rows]}}


def _search(doc: dict, out: Path):
    from codesign.search.config import SearchConfig
    from codesign.search.loop import run_search

    return run_search(SearchConfig.from_dict(doc, source=f"benchmark {out.name}"), out, progress=False)


def precision_search(trials: int, steps: int) -> dict:
    from codesign.candidate import Candidate
    from codesign.search.config import SearchConfig
    from codesign.search.objectives import losses
    from codesign.pareto import hypervolume, pareto_mask

    base = SearchConfig.from_yaml(ROOT / "examples" / "precision.yaml").to_dict()
    base["accuracy"]["supernet"]["steps"] = steps
    base["budget"] = {"trials": trials}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        searched = _search(base, tmp / "searched")
        searched_s = time.perf_counter() - t
        (tmp / "fixed_arch.yaml").write_text("extends: ibn_32_compact_quant\nquant: w8a8\n")
        (tmp / "fixed_hw.yaml").write_text("extends: nahas_like_precision\nprecision_bits: 8\n")
        fixed_doc = {**base, "name": "precision-fixed-8",
                     "space": {"arch": str(tmp / "fixed_arch.yaml"), "hw": str(tmp / "fixed_hw.yaml")},
                     "accuracy": {**base["accuracy"], "checkpoint": str(next((tmp / "searched").rglob("supernet*.pt")))}}
        t = time.perf_counter()
        fixed = _search(fixed_doc, tmp / "fixed")
        fixed_s = time.perf_counter() - t
    objectives = searched.objectives

    def hv(study) -> float:
        rows = [r for r in study.records if r.feasible]
        return hypervolume(np.array([losses(r.metrics, objectives) for r in rows])) if rows else 0.0

    feas = [r for r in searched.records if r.feasible]
    mask = pareto_mask(np.array([losses(r.metrics, objectives) for r in feas])) if feas else []
    cands = [Candidate.from_string(r.candidate) for r in feas]
    mix = collections.Counter(f"{c.arch.quant.key}@{c.accel.precision_bits}b" for c, on in zip(cands, mask) if on)
    out = {"hv_precision_searched": hv(searched), "hv_precision_fixed_8": hv(fixed),
           "front_precision_mix": dict(sorted(mix.items())),
           "precision_search": {"trials": trials, "supernet_steps": steps, "searched_s": round(searched_s, 1),
                                "fixed_s": round(fixed_s, 1),
                                "feasible": {"searched": len(feas), "fixed": sum(r.feasible for r in fixed.records)},
                                "infeasible_precision": sum(r.metrics.get("precision_supported") == 0
                                                            for r in searched.records)}}
    print(f"precision searched hv {out['hv_precision_searched']:.3f} vs fixed-8 {out['hv_precision_fixed_8']:.3f}; "
          f"front {out['front_precision_mix']}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 networks x 1 epoch, 30-step supernet, 16 trials")
    args = ap.parse_args()
    from accel_models.tech import load_tech

    t0 = time.perf_counter()
    tech = load_tech("45nm")
    results = {"mac_energy_pj_by_bits": {b: float(tech.mac_energy_pj(b)) for b in (4, 8, 16)}}
    results.update(networks(2, 1, "digits") if args.quick else networks(NETWORKS, EPOCHS, DATA))
    results.update(precision_search(16, 30) if args.quick else precision_search(SEARCH_TRIALS, SUPERNET_STEPS))
    results["seconds"] = round(time.perf_counter() - t0)
    publish("quantization" + ("_quick" if args.quick else ""), results,
            "python benchmarks/quantization.py" + (" --quick" if args.quick else ""), notes=__doc__.split("\n\n", 2)[2])
    import json

    print(json.dumps(results))


if __name__ == "__main__":
    main()
