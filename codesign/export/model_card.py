"""The model card of an export: metrics with their source and fidelity, candidate strings, checks,
files and how to reproduce — as JSON (``codesign.model_card.v1``) and as Markdown from the same dict."""
from __future__ import annotations

from typing import Any

from ..metric_registry import metric, metric_names
from ..search.config import SearchConfig
from ..accel import AccelConfig

CARD_FORMAT = "codesign.model_card.v1"


def accuracy_fidelity(cfg: SearchConfig) -> str:
    a = cfg.accuracy
    if a.fidelity == "supernet":
        return (f"supernet-inherited weights, batch norm recalibrated on {a.calib_images} training images, "
                f"{cfg.data} validation split")
    if a.fidelity == "predictor":
        return "regressor fitted on supernet accuracies of sampled subnets (an estimate, not a measurement)"
    return f"stand-alone training with the run's budget, {cfg.data} validation split"


def search_metrics(cfg: SearchConfig, row: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics the search recorded for the trial, each with where it came from."""
    hw = {"analytical": "codesign's analytical model (per-layer roofline of compute, buffers and DRAM; "
                        "its agreement with zigzag-dse is in BENCHMARKS.md)",
          "zigzag": "zigzag-dse (LOMA mapping search per conv/fc layer) + analytical vector unit"}.get(
        cfg.backend, cfg.backend)
    source = {"accuracy": (f"search ({cfg.accuracy.fidelity})", accuracy_fidelity(cfg)),
              "latency_ms": (f"search ({cfg.backend})", f"{hw}, on the accelerator below"),
              "energy_mj": (f"search ({cfg.backend})", f"{hw}, on the accelerator below"),
              "area_mm2": (f"search ({cfg.backend})", "technology table of the accelerator's PEs and SRAMs"),
              "params": ("network", "exact count"), "macs": ("network", "exact count"),
              "measured_latency_ms": (f"search ({cfg.measure.runtime})", "median measured on the search host"),
              "predicted_latency_ms": ("search (block_lut)", f"block latency table {cfg.measure.predictor} for the "
                                                            "search host (a prediction, not a measurement)"),
              "device_latency_ms": ("search (device model)", _device_fidelity(cfg.measure.device))}
    names = metric_names()
    return [{"name": m, "value": row[m], "unit": metric(m).unit,
             "source": source.get(m, ("search (evaluator)", ""))[0],
             "fidelity": source.get(m, ("", metric(m).description))[1]}
            for m in sorted(row, key=lambda k: names.index(k) if k in names else len(names))
            if m in names and row.get(m) is not None]


def _device_fidelity(path: str | None) -> str:
    if not path:
        return ""
    from latency_predictors.device_model import describe_device_model

    d = describe_device_model(path)
    if "error" in d:
        return f"device model {path} (cannot be read now: {d['error']})"
    return (f"device model of {d['device']} ({path}), batch {d['batch']}, fitted on {d['measurements']} measurements "
            f"with a prior from reference devices; leave-one-out median error {100 * d['loo_median_rel_err']:.1f}%")


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    return str(v)


def _table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c, "")).replace("|", "\\|") for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def _check_value(key: str, value: Any) -> Any:
    """Counts of images said as such: the export refuses to finish unless every image agrees."""
    if key.endswith("_agrees_on_images"):
        return f"{value} of {value} images"
    return value


def _accelerator_section(card: dict[str, Any]) -> str:
    accel = AccelConfig.from_string(card["accel"])
    rows = [{"field": k, "value": v} for k, v in accel.to_dict().items()]
    return ("The accelerator the metrics above refer to (`accelerator/accelerator.yaml`; zigzag-dse and "
            "Timeloop inputs beside it):\n\n" + _table(rows, ["field", "value"]))


def _int8_section(card: dict[str, Any]) -> str:
    q = card.get("int8") or {}
    if not q:
        return "(not made)"
    if q.get("error"):
        return f"Not written: {q['error']}. The float model above is complete."
    policy = card["arch"].split(":")[0].rsplit("_", 1)[-1] if "_w" in card["arch"].split(":")[0] else "float"
    lines = [f"`{q['file']}`: {q['format']}, weights {q['weights']}, activations {q['activations']}, "
             f"{q['calibration']} calibration on {q['calib_images']} training images "
             f"({q['quantize_nodes']} QuantizeLinear nodes)."]
    if policy not in ("float", "w8a8"):
        lines.append(f"The search scored this network at `{policy}` (simulated); this file is int8.")
    lines.append(_table([{"model": "float (model.onnx)", "test_accuracy": q["float_test_accuracy"]},
                         {"model": "int8 (model_int8.onnx)", "test_accuracy": q["test_accuracy"],
                          "top1_agreement_with_float": q["top1_agreement_with_float"]}],
                        ["model", "test_accuracy", "top1_agreement_with_float"])
                 + f"\n\nOn {q['n_test']} test images.")
    t = q.get("tvm") or {}
    if t.get("file"):
        lines.append(f"TVM: `{t['file']}` (untuned), {t['median_ms']:.4g} ms in process; largest logit difference "
                     f"from onnxruntime {t['max_abs_diff_vs_onnxruntime']:.3g}, top-1 "
                     f"{'agrees' if t['top1_agrees_with_onnxruntime'] else 'DIFFERS'} on the sample input.")
    else:
        lines.append(f"TVM: {t.get('error') or t.get('skipped') or 'not built'}.")
    return "\n\n".join(lines)


def card_markdown(card: dict[str, Any]) -> str:
    run, w, chk = card["run"], card["weights"], card["checks"]
    pre = w["preprocessing"]
    measured = [{"runtime": k, "median_ms": v["median_ms"], "iqr_ms": v.get("iqr_ms"), "cv": v.get("cv"),
                 "threads": v.get("threads"), "where": v.get("where")} for k, v in card["measured_on_host"].items()]
    parts = [
        f"# {card['title']}",
        f"Exported by codesign {card['versions'].get('codesign', '')} from run `{run['name']}` "
        f"(`{run['dir']}`), trial {run['trial']}. Picked by **{run['pick']}** — {run['rule']}.",
        "## Candidate",
        f"- candidate: `{card['candidate']}`\n- network: `{card['arch']}`\n- accelerator: `{card['accel']}`",
        "## Metrics",
        _table(card["metrics"], ["name", "value", "unit", "source", "fidelity"]),
        "## Exported weights",
        f"Source: **{w['source']}**. Accuracy of these weights, measured at export: validation "
        f"{w['val_accuracy']:.4f} ({w['n_val']} images), test {w['test_accuracy']:.4f} ({w['n_test']} images) "
        f"on `{w['data']}`.\n\nInput: {pre['dtype']} {pre['layout']} {pre['input_shape']}; {pre['rule']}; "
        f"mean {[round(m, 5) for m in pre['mean']]}, std {[round(s, 5) for s in pre['std']]}.",
        "Output index → class: " + ", ".join(f"{i} = `{c}`" for i, c in enumerate(w.get("class_names", []))) + ".",
        "## int8 model",
        _int8_section(card),
        "## Accelerator",
        _accelerator_section(card),
        "## Measured on the export host",
        _table(measured, ["runtime", "median_ms", "iqr_ms", "cv", "threads", "where"]) if measured else "(not measured)",
        f"Host: {card['host']}.",
        "## Checks",
        _table([{"check": k, "value": _check_value(k, v)} for k, v in chk.items()], ["check", "value"]),
        "## Network",
        f"{card['network']['params']} parameters, {card['network']['macs']} MACs.\n\n"
        + _table(card["network"]["blocks"], ["stage", "block", "channels"]),
        "## How to use",
        "```bash\n"
        "python tvm/run_tvm.py --time 50          # TVM library: check against sample_output.npy, time it\n"
        + "".join(f"python tvm/run_tvm.py --batch {b}         # the library compiled for batch {b}\n"
                  for b in (card.get("tvm", {}).get("batch_sizes") or [1]) if b > 1) +
        "python accelerator/zigzag/run_zigzag.py  # the accelerator with zigzag-dse\n"
        "```\n"
        "```python\n"
        "import numpy as np, onnxruntime as ort\n"
        "sess = ort.InferenceSession('model.onnx', providers=['CPUExecutionProvider'])\n"
        "logits = sess.run(None, {'input': np.load('sample_input.npy')})[0]\n\n"
        "from codesign.export import load_exported_model   # the torch network with its weights\n"
        "model = load_exported_model('weights.pt')\n"
        "```",
        "Timeloop: `accelerator/timeloop/` holds arch, ERT, constraints, mapper and one problem file per "
        "conv/fc layer (`timeloop-mapper arch.yaml ERT.yaml constraints.yaml mapper.yaml layers/<layer>.yaml`).",
        "## Reproduce",
        "```bash\n" + "\n".join(card["reproduce"]) + "\n```",
        "## Files",
        _table(card["files"], ["path", "bytes", "sha256"]),
        "## Timings (s)",
        _table([{"step": k, "seconds": v} for k, v in card["timings_s"].items()], ["step", "seconds"]),
    ]
    return "\n\n".join(parts) + "\n"
