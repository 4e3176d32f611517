"""``export_trial``: one trial of a search run as a deployable directory.

Layout of the directory (all written to a staging directory first, moved into place at the end, so
an interrupted export leaves no half-written bundle behind and never touches the run):

    model.onnx                 opset 17, batch 1, checked against torch with onnxruntime
    model_int8.onnx            static int8 QDQ, calibrated on the run's training images, checked against
                               model.onnx on the test split (see codesign.export.int8)
    weights.pt                 {"arch", "state_dict"}; torch.load(..., weights_only=True)
    sample_input.npy           one real test image (normalised, 1×C×H×W float32)
    sample_output.npy          onnxruntime's logits for it
    tvm/model.so, run_tvm.py   TVM library for this host's CPU (tuned with --tune) and its loader;
                               tvm/model_b<N>.so for each other batch size asked (--batch-sizes);
                               tvm/model_int8.so where TVM's importer handles the int8 graph
    accelerator/accelerator.yaml              codesign's accelerator YAML
    accelerator/zigzag/{accelerator,mapping,workload}.yaml, run_zigzag.py
    accelerator/timeloop/{arch,ERT,constraints,mapper}.yaml, layers/*.yaml
    search_config.yaml         the run's resolved configuration
    model_card.json, model_card.md
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..arch import block_rows
from ..candidate import Candidate
from ..errors import CodesignError, Problem, ValidationError
from ..json_io import write_json_atomic
from ..workload.model_builder import count_params
from ..workload.onnx_export import export_onnx
from ..run_data import RunData, load_run, versions
from ..search.loop import joint_space
from ..workload.from_arch import arch_workload
from . import files
from ..metric_registry import metric
from ..run import Run, TUNING_DB_DIR
from .model_card import CARD_FORMAT, card_markdown, search_metrics
from ..picks import pick_row
from .int8 import int8_files
from .weights import save_weights, trained_network
from ..accuracy.sources import load_search_data
from accel_models.zigzag_backend import evaluate_zigzag

ONNX_TOLERANCE = 1e-4  # max |logit difference| onnxruntime vs torch
TVM_CHECK_TIMEOUT_S = 300.0


def default_out(run_dir: Path, trial: int) -> Path:
    return Run(run_dir).export_dir(trial)


def _check_onnx(model: torch.nn.Module, sess, onnx_path: Path, images: torch.Tensor) -> dict[str, Any]:
    """Largest logit difference and top-1 agreement between torch and onnxruntime (``sess`` on
    ``onnx_path``) over ``images``."""
    worst, agree = 0.0, True
    with torch.no_grad():
        for x in images:
            x = x[None]
            want = model(x).numpy()
            (got,) = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})
            worst = max(worst, float(np.max(np.abs(got - want))))
            agree &= bool(got.argmax() == want.argmax())
    if worst > ONNX_TOLERANCE or not agree:
        raise CodesignError(f"{onnx_path}: onnxruntime's output differs from torch's by {worst:.3g} "
                            f"(tolerance {ONNX_TOLERANCE}); the ONNX file was not exported")
    return {"onnx_vs_torch_max_abs_diff": worst, "onnx_top1_agrees_on_images": len(images)}


def _run_loader(root: Path, threads: int, batch: int) -> dict[str, Any]:
    """Run the bundle's TVM loader in a fresh process on the sample input repeated ``batch`` times."""
    env = {**os.environ, "TVM_NUM_THREADS": str(threads)}
    cmd = [sys.executable, str(root / "tvm" / "run_tvm.py"), "--time", "30"] + (["--batch", str(batch)] if batch > 1 else [])
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TVM_CHECK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise CodesignError(f"the exported TVM library (batch {batch}) did not finish one run in "
                            f"{TVM_CHECK_TIMEOUT_S:.0f} s") from None
    lines = proc.stdout.strip().splitlines()
    if not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise CodesignError(f"the exported TVM library (batch {batch}) failed to load or run in a fresh process:\n{tail}")
    result = json.loads(lines[-1])
    if proc.returncode != 0 or not result.get("matches"):
        raise CodesignError(f"the exported TVM library's output (batch {batch}) differs from onnxruntime's by "
                            f"{result.get('max_abs_diff')} (tolerance 1e-3)")
    return result


def _tvm_library(root: Path, run_dir: Path, threads: int, tune: int, model, target_spec: str | None = None,
                 cc: str | None = None, batch_sizes: tuple[int, ...] = (1,)) -> dict[str, Any]:
    """Compile ``model`` once per batch size (static shapes: TVM's default schedules want them; the
    ONNX file's batch is symbolic; the tuning database is shared by the run's exports) for this host,
    or for ``target_spec`` linked by the cross compiler ``cc``; export the libraries (``model.so`` for
    batch 1, ``model_b<N>.so`` otherwise), and — when they are for this host — run each in a fresh
    process on the sample input against sample_output.npy (and time it)."""
    from latency_predictors.tvm_runtime import compile_model, export_library, is_host_target, parse_target

    target = parse_target(target_spec, threads)
    db = run_dir / TUNING_DB_DIR
    if tune and not is_host_target(target):
        raise ValidationError(Problem("--tune", f"MetaSchedule tuning measures on this machine; tuning for "
                                                f"`{target_spec}` is not supported (export with --tune 0)"))
    for batch in batch_sizes:
        ex = compile_model(export_onnx(model, batch=batch), threads=threads, tune_trials=tune, db_dir=db,
                           target=target)
        export_library(ex, files.inside(root, "tvm/model.so" if batch == 1 else f"tvm/model_b{batch}.so"), cc)
    files.copy_template(root, "run_tvm.py", "tvm/run_tvm.py")
    if not is_host_target(target):
        return {"target": str(target_spec), "tune_trials": 0, "tuning_db": None, "max_abs_diff": None,
                "median_ms": None, "cross_compiled": True, "batch_sizes": list(batch_sizes)}
    results = {batch: _run_loader(root, threads, batch) for batch in batch_sizes}
    first = results[batch_sizes[0]]
    return {"target": str(target), "tune_trials": tune, "tuning_db": str(db) if tune else None,
            "max_abs_diff": max(r["max_abs_diff"] for r in results.values()), "median_ms": first["median_ms"],
            "batch_sizes": list(batch_sizes), "median_ms_by_batch": {b: r["median_ms"] for b, r in results.items()}}


def _onnx_files(staging: Path, model: torch.nn.Module, images: torch.Tensor, threads: int, lap) -> tuple[dict, dict]:
    """``model.onnx`` (any batch), a sample input and its output, the ONNX-vs-torch checks and the
    onnxruntime latency on this host."""
    from latency_predictors.ort_runtime import measure_ort, ort_session

    t = time.perf_counter()
    export_onnx(model, files.inside(staging, "model.onnx"), dynamic_batch=True)
    sess = ort_session(staging / "model.onnx", threads=1)
    checks = _check_onnx(model, sess, staging / "model.onnx", images)
    sample = images[:1].numpy()
    np.save(files.inside(staging, "sample_input.npy"), sample)
    np.save(files.inside(staging, "sample_output.npy"), sess.run(None, {"input": sample})[0])
    t = lap("onnx_s", t)
    ort_m = measure_ort(staging / "model.onnx", threads=threads)
    lap("measure_ort_s", t)
    return checks, {"onnxruntime": {**ort_m.to_dict(), "threads": threads, "where": "export host"}}


def _int8_part(staging: Path, cfg, space, threads: int, winfo: dict, tvm: bool, measured: dict,
               lap) -> tuple[dict, float]:
    """``model_int8.onnx`` and its checks (:func:`~codesign.export.int8.int8_files`), and when it
    ended; its onnxruntime latency joins ``measured``."""
    t = time.perf_counter()
    int8 = int8_files(staging, load_search_data(cfg, space), cfg.accuracy.calib_images, threads,
                      winfo["test_accuracy"], tvm=tvm)
    if int8.get("onnxruntime"):
        measured["onnxruntime int8"] = int8["onnxruntime"]
    return int8, lap("int8_s", t)


def _zigzag_metrics(workload, accel) -> list[dict[str, Any]]:
    rep = evaluate_zigzag(workload, accel)
    how = {"source": "export (zigzag)", "fidelity": "zigzag-dse per conv/fc layer + analytical rest"}
    return [{"name": "latency_ms", "value": rep.latency_ms, "unit": metric("latency_ms").unit, **how},
            {"name": "energy_mj", "value": rep.energy_mj, "unit": metric("energy_mj").unit, **how}]


def _checked_batch_sizes(batch_sizes: tuple[int, ...]) -> tuple[int, ...]:
    out = tuple(sorted(set(batch_sizes)))
    if not out or min(out) < 1 or max(out) > 1024:
        raise ValidationError(Problem("--batch-sizes", f"expected batch sizes from 1 to 1024, got {list(out)}"))
    return out


def export_trial(run_dir: str | Path, pick: str = "knee", out: str | Path | None = None, tune: int = 0,
                 weights: str = "auto", threads: int = 1, zigzag: bool = False, force: bool = False,
                 progress: bool = False, target: str | None = None, cc: str | None = None,
                 batch_sizes: tuple[int, ...] = (1,)) -> dict[str, Any]:
    """Export the trial ``pick`` names (see :mod:`codesign.picks`) of the run in ``run_dir``;
    returns the model card (also written as ``model_card.json``/``.md`` in the bundle). ``target`` and
    ``cc`` build the TVM library for another board (e.g. ``llvm -mtriple=aarch64-linux-gnu
    -mattr=+neon`` with ``aarch64-linux-gnu-g++``); it is then not run here. ``batch_sizes``: one TVM
    library per batch size (the ONNX file takes any batch)."""
    batch_sizes = _checked_batch_sizes(batch_sizes)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(step: str, since: float) -> float:
        now = time.perf_counter()
        timings[step] = round(now - since, 3)
        return now

    run_dir = Path(run_dir)
    run: RunData = load_run(run_dir)
    cfg = run.cfg
    if cfg is None:
        raise ValidationError(Problem(str(run_dir), "export needs a network × accelerator run made from a search "
                                                    "configuration (this run was made through the Python API with "
                                                    f"its own space: {run.info['run_info'].get('space')})"))
    row, rule = pick_row(run.rows, run.objectives, pick)
    cand = Candidate.from_string(row["candidate"])
    out = Path(out) if out is not None else default_out(run_dir, row["trial"])
    staging = files.prepare_out_dir(out, force)
    try:
        t = lap("load_run_s", t0)
        space = joint_space(cfg).arch
        model, winfo, images = trained_network(cfg, space, run_dir, cand.arch, weights, progress=progress)
        save_weights(model, files.inside(staging, "weights.pt"))
        t = lap("weights_s", t)
        checks, measured = _onnx_files(staging, model, images, threads, lap)
        int8, t = _int8_part(staging, cfg, space, threads, winfo, target is None, measured, lap)
        tvm_info = _tvm_library(staging, run_dir, threads, tune, model, target, cc, batch_sizes)
        if not tvm_info.get("cross_compiled"):
            checks["tvm_vs_onnxruntime_max_abs_diff_fresh_process"] = tvm_info["max_abs_diff"]
            for batch, ms in tvm_info["median_ms_by_batch"].items():
                measured["tvm" + (f" (tuned, {tune} trials)" if tune else " (untuned)")
                         + (f", batch {batch}" if batch > 1 else "")] = {
                    "median_ms": ms, "threads": threads, "where": "export host, fresh process"}
        t = lap("tvm_s", t)
        workload = arch_workload(cand.arch)
        files.write_accelerator_files(staging, cand.accel, workload, name=f"{cfg.name}-trial{row['trial']}")
        files.write_text(staging, "search_config.yaml", Run(run_dir).config_path.read_text())
        metrics = search_metrics(cfg, row)
        if zigzag:
            metrics += _zigzag_metrics(workload, cand.accel)
        t = lap("accelerator_files_s", t)
        card = {
            "format": CARD_FORMAT, "title": f"{cfg.name}: trial {row['trial']} ({pick})",
            "run": {"dir": str(run_dir), "name": cfg.name, "trial": row["trial"], "index": row["index"],
                    "pick": pick, "rule": rule, "on_front": row["on_front"], "searcher": cfg.searcher,
                    "seed": cfg.seed},
            "candidate": cand.key, "arch": cand.arch.to_string(), "accel": cand.accel.to_string(),
            "network": {"params": count_params(cand.arch), "macs": int(row.get("macs") or 0),
                        "blocks": block_rows(cand.arch)},
            "metrics": metrics, "weights": winfo, "checks": checks, "measured_on_host": measured, "int8": int8,
            "tvm": {k: tvm_info.get(k) for k in ("target", "tune_trials", "tuning_db", "cross_compiled", "batch_sizes")},
            "host": f"{run.info['host']}, {os.cpu_count()} logical cores",
            "versions": versions(),
            "reproduce": [f"codesign search search_config.yaml --out {run_dir}    # the search (config in this bundle)",
                          f"codesign export {run_dir} --pick {pick}" + (f" --tune {tune}" if tune else "")
                          + f" --weights {winfo['source'].split('-')[0]} --out {out}"],
            "platform": platform.platform(),
        }
        lap("total_s", t0)
        card["timings_s"] = timings
        card["files"] = files.file_list(staging)  # before the card itself is written
        write_json_atomic(files.inside(staging, "model_card.json"), card, indent=1)
        files.write_text(staging, "model_card.md", card_markdown(card))
        files.publish(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    card["out"] = str(out)
    return card
