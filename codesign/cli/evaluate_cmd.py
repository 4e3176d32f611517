"""``codesign evaluate ARCH_STRING|MODEL.onnx --hw NAME|FILE``: a network's cost on an accelerator."""
from __future__ import annotations

import argparse
import json

from ..hw_files import resolve_accel
from ..workload.source import workload_source
from .table import format_table
from accel_models.report import LATENCY_TERMS
from accel_models.registry import evaluate


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="latency, energy and area of a network on an accelerator")
    p.add_argument("network", metavar="ARCH_STRING|MODEL.onnx", help="architecture string or shape-inferred ONNX")
    p.add_argument("--hw", required=True, metavar="NAME|FILE", help="hardware template name, YAML file or string")
    p.add_argument("--backend", default="analytical", metavar="NAME",
                   help="cost model: analytical (default), zigzag, timeloop, or a registered plug-in")
    p.add_argument("--batch", type=int, default=1, help="batch size (default 1)")
    p.add_argument("--device", metavar="DEVICE.json", help="also predict with a device model (codesign device fit)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    src = workload_source(args.network, batch=args.batch)
    accel = resolve_accel(args.hw)
    rep = evaluate(src.layers, accel, backend=args.backend)  # an unknown name is an error listing the known ones

    terms = any(l.terms_cycles for l in rep.layers)
    term_heads = [f"{t.replace('global_buffer', 'buffer')} cyc" for t in LATENCY_TERMS] + ["weights"] if terms else []
    rows = [[l.name, l.op, l.macs, l.cycles, l.latency_ms * 1e3, l.energy_total_pj / 1e6, l.utilization, l.bound,
             *([l.terms_cycles.get(t, 0.0) for t in LATENCY_TERMS] + ["resident" if l.weights_resident else
                                                                      ("streamed" if l.macs else "-")]
               if terms else []), l.source] for l in rep.layers]
    print(format_table(["layer", "op", "MACs", "cycles", "latency µs", "energy µJ", "util", "bound", *term_heads,
                        "source"], rows,
                       right=[False, False, True, True, True, True, True, False] + [True] * (len(term_heads) - 1)
                       + [False] * (2 if terms else 1)))
    if terms:
        print("terms (cycles, before calibration): compute = MAC array, dram = DRAM/host-link transfers, buffer = "
              "global-buffer transfers, vector = vector unit (activations, element-wise work fused into the layer), "
              "overhead = fixed per-layer cost; a layer takes their maximum plus the overhead (their sum on a "
              "sequential target); weights resident = held in the weight cache across inferences")
    parts = ", ".join(f"{k} {v / 1e9:.4g}" for k, v in rep.energy_by_component_pj.items() if v)
    print(f"total on {accel.key} ({rep.backend}): {rep.latency_ms:.4g} ms, {rep.energy_mj:.4g} mJ "
          f"({parts} mJ), {rep.area_mm2:.4g} mm²")
    for note in rep.notes:
        print(f"note: {note}")
    device = _device_prediction(args.device, args.network) if args.device else None
    if args.json:
        print(json.dumps({"device_model": device,
            "backend": rep.backend, "accel": rep.accel, "latency_ms": rep.latency_ms, "energy_mj": rep.energy_mj,
            "area_mm2": rep.area_mm2, "notes": rep.notes,
            "layers": [{"name": l.name, "op": l.op, "macs": l.macs, "cycles": l.cycles, "latency_ms": l.latency_ms,
                        "energy_pj": l.energy_total_pj, "energy_by_component_pj": l.energy_pj,
                        "utilization": l.utilization, "bound": l.bound, "source": l.source,
                        "terms_cycles": l.terms_cycles, "weights_resident": l.weights_resident, "fused": l.fused}
                       for l in rep.layers],
        }))
    return 0


def _device_prediction(path: str, network: str) -> dict:
    """A device model's prediction for ``network``, printed and returned for the JSON line."""
    from latency_predictors.device_model import DeviceModel, predict_networks

    model = DeviceModel.load(path)
    mean, std = predict_networks(model, [network])
    loo = model.loo_summary()
    unit = model.metric.rsplit("_", 1)[1]
    print(f"device model {model.name} ({path}): {model.metric} {mean[0]:.4g} ± {std[0]:.2g} {unit} "
          f"(batch {model.batch}, fitted on {loo['n']} measurements, leave-one-out median error "
          f"{100 * loo['median_rel_err']:.1f}%)")
    return {"file": path, "device": model.name, "metric": model.metric, "value": float(mean[0]),
            "uncertainty": float(std[0]), "measurements": loo["n"], "loo_median_rel_err": loo["median_rel_err"]}
