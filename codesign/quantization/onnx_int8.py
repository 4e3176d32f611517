"""Static int8 ONNX models with onnxruntime's quantizer (``onnxruntime.quantization.quantize_static``).

QDQ format (QuantizeLinear/DequantizeLinear pairs around each quantized operator: what onnxruntime's
CPU kernels, TVM's importer and most NPU toolchains read), signed int8 weights with one scale per
output channel, unsigned int8 activations with one scale per tensor from a MinMax calibration on
real images: the same scheme the search simulates (:mod:`codesign.quantization.fake_quant`).
"""
from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

import numpy as np
import onnx

from ..errors import CodesignError, Problem, ValidationError


def _input_of(model: onnx.ModelProto) -> tuple[str, list]:
    inp = model.graph.input[0]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
    return inp.name, dims


def load_onnx(path: str | Path) -> onnx.ModelProto:
    """The ONNX model at ``path``; a missing or unreadable file is a ``ValidationError`` naming it."""
    try:
        model = onnx.load(str(path))
        _input_of(model)
    except Exception as exc:  # noqa: BLE001 - protobuf and onnx raise many types for a bad file
        raise ValidationError(Problem(str(path), f"not an ONNX model ({type(exc).__name__})")) from None
    return model


def check_calibration(model: onnx.ModelProto, images: np.ndarray, where: str) -> None:
    """``images`` must be a non-empty float32 N×… array whose image shape is the model input's."""
    _, dims = _input_of(model)
    ok = (isinstance(images, np.ndarray) and images.ndim == len(dims) and len(images) > 0
          and all(d is None or d == s for d, s in zip(dims[1:], images.shape[1:])))
    if not ok:
        got = images.shape if isinstance(images, np.ndarray) else type(images).__name__
        raise ValidationError(Problem(where, f"calibration data must be N×{'×'.join(str(d) for d in dims[1:])} "
                                             f"float images with N ≥ 1, got {got}"))


def quantize_onnx_int8(float_path: str | Path, out_path: str | Path, calib_images: np.ndarray,
                       per_channel: bool = True) -> dict:
    """Write ``out_path``: ``float_path`` quantized statically to int8 (QDQ), activation ranges
    calibrated on ``calib_images`` (N×C×H×W float32, fed one at a time). Returns what was done.
    Bad calibration data is a ``ValidationError``; a graph the quantizer cannot handle a
    ``CodesignError`` naming the file and, when the quantizer says it, the node."""
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    float_path, out_path = Path(float_path), Path(out_path)
    model = load_onnx(float_path)
    name, _ = _input_of(model)
    check_calibration(model, calib_images, f"calibration data for {float_path.name}")
    images = np.ascontiguousarray(calib_images, dtype=np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.rows = iter(range(len(images)))

        def get_next(self):
            i = next(self.rows, None)
            return None if i is None else {name: images[i:i + 1]}

    logging.getLogger("root").setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            quantize_static(str(float_path), str(out_path), Reader(), quant_format=QuantFormat.QDQ,
                            per_channel=per_channel, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
                            extra_options={"CalibTensorRangeSymmetric": False},
                            calibration_providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - the quantizer raises many types for a graph it cannot handle
        out_path.unlink(missing_ok=True)
        raise CodesignError(f"{float_path}: onnxruntime's quantizer cannot quantize this graph: "
                            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    q = onnx.load(str(out_path))
    ops = [n.op_type for n in q.graph.node]
    return {"format": "QDQ", "weights": "int8, symmetric, per output channel" if per_channel else "int8, per tensor",
            "activations": "uint8, asymmetric, per tensor", "calibration": "MinMax",
            "calib_images": int(len(images)), "quantize_nodes": ops.count("QuantizeLinear"),
            "dequantize_nodes": ops.count("DequantizeLinear")}


def onnx_predictions(path: str | Path, images: np.ndarray, threads: int = 1, batch: int = 64) -> np.ndarray:
    """Logits of the ONNX model at ``path`` for ``images`` (N×C×H×W), in batches."""
    from latency_predictors.ort_runtime import ort_session

    sess = ort_session(path, threads)
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: np.ascontiguousarray(images[i:i + batch], dtype=np.float32)})[0]
                           for i in range(0, len(images), batch)])


TIMING_CALIB_IMAGES = 8


def int8_for_timing(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """``model`` quantized to int8 QDQ for latency measurement only: calibrated on a few random
    N(0, 1) images, since the ranges change the values a kernel computes, not its time."""
    import tempfile

    _, dims = _input_of(model)
    shape = [TIMING_CALIB_IMAGES] + [d or 1 for d in dims[1:]]
    images = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        onnx.save(model, str(Path(tmp) / "float.onnx"))
        quantize_onnx_int8(Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx", images)
        return onnx.load(str(Path(tmp) / "int8.onnx"))


def runs_as_int8(quant) -> bool:
    """Whether a network with quantization policy ``quant`` (or None: float) runs as an int8 model on
    a CPU runtime: policies of at most 8 bits do (no runtime here has sub-8-bit kernels, so a
    4-bit network runs with int8 kernels); wider ones and float networks run in float."""
    return quant is not None and quant.max_bits <= 8
