"""Post-training quantization: simulated in torch for any bit width (what the search scores) and
static int8 ONNX models for onnxruntime (what an export deploys)."""
from .fake_quant import QuantizedAccuracy, quantized_accuracy, quantized_copy
from .onnx_int8 import quantize_onnx_int8

__all__ = ["QuantizedAccuracy", "quantized_accuracy", "quantized_copy", "quantize_onnx_int8"]
