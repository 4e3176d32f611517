"""The int8 part of an export: ``model_int8.onnx`` (static QDQ, calibrated on the run's training
images), checked against the float model with onnxruntime, timed on this host, and compiled with
TVM where its importer handles the graph (``tvm/model_int8.so``).

Nothing here can lose the float export: a graph the quantizer or TVM cannot handle is recorded in
the model card (``int8.error`` / ``int8.tvm.error``) with the reason, and the float files stay.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CodesignError
from ..quantization.fake_quant import QuantizedAccuracy
from ..quantization.onnx_int8 import onnx_predictions, quantize_onnx_int8
from . import files

INT8_FILE = "model_int8.onnx"
TVM_INT8_FILE = "tvm/model_int8.so"


def int8_files(staging: Path, data, calib_images: int, threads: int, float_test_accuracy: float,
               tvm: bool = True) -> dict[str, Any]:
    """Write ``model_int8.onnx`` beside ``model.onnx`` in ``staging``; returns the model card's
    ``int8`` section: the quantization scheme, its test accuracy and top-1 agreement with the float
    model on the test split, onnxruntime latency (ms) at ``threads``, and the TVM build or why not."""
    from latency_predictors.ort_runtime import measure_ort

    calib = QuantizedAccuracy(data, calib_images=calib_images).calib.numpy()
    out = files.inside(staging, INT8_FILE)
    try:
        info: dict[str, Any] = {"file": INT8_FILE, **quantize_onnx_int8(staging / "model.onnx", out, calib)}
    except CodesignError as exc:
        return {"file": None, "error": str(exc)}
    x, y = data.test.x.numpy(), data.test.y.numpy()
    float_top1 = onnx_predictions(staging / "model.onnx", x).argmax(1)
    int8_top1 = onnx_predictions(out, x).argmax(1)
    info.update({"test_accuracy": float(np.mean(int8_top1 == y)), "float_test_accuracy": float_test_accuracy,
                 "top1_agreement_with_float": float(np.mean(int8_top1 == float_top1)), "n_test": int(len(y)),
                 "onnxruntime": {**measure_ort(out, threads=threads).to_dict(), "threads": threads,
                                 "where": "export host"}})
    info["tvm"] = _tvm_int8(staging, out, threads) if tvm else {"skipped": "cross-compiled export"}
    return info


def _tvm_int8(staging: Path, int8_path: Path, threads: int) -> dict[str, Any]:
    """Compile the int8 file with TVM (untuned) and check it against onnxruntime on the sample input."""
    import onnx

    from latency_predictors.tvm_runtime import compile_model, export_library

    try:
        ex = compile_model(onnx.load(str(int8_path)), threads=threads)
        export_library(ex, files.inside(staging, TVM_INT8_FILE))
        import tvm
        from tvm import relax

        vm = relax.VirtualMachine(ex, tvm.cpu())
        sample = np.load(staging / "sample_input.npy")
        arg = tvm.runtime.tensor(sample)
        got = vm["main"](arg).numpy()
        want = onnx_predictions(int8_path, sample)
        times = []
        for _ in range(30):
            t = time.perf_counter()
            vm["main"](arg)
            times.append((time.perf_counter() - t) * 1e3)
    except Exception as exc:  # noqa: BLE001 - TVM's importer and compiler raise many types
        return {"file": None, "error": f"TVM cannot compile the int8 graph: {type(exc).__name__}: "
                                       f"{str(exc).splitlines()[0] if str(exc) else ''}"}
    return {"file": TVM_INT8_FILE, "max_abs_diff_vs_onnxruntime": float(np.max(np.abs(got - want))),
            "top1_agrees_with_onnxruntime": bool(got.argmax() == want.argmax()),
            "median_ms": float(np.median(times[5:])), "threads": threads, "tuned": False}
