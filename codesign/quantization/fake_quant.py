"""Post-training quantization simulated in torch ("fake quantization"), for any bit width.

The scheme is the one onnxruntime's static QDQ quantizer applies to an exported network
(:mod:`codesign.quantization.onnx_int8`), so the accuracy the search scores at 8 bits is the accuracy
of the int8 file an export writes (``benchmarks/quantization.py`` measures how close they are):

* weights of every convolution and fully connected layer: signed, symmetric, one scale per output
  channel (``max |w| / (2^(b-1) - 1)``). Per-channel symmetric quantization is unchanged by a positive
  or negative per-channel factor, so quantizing before or after folding batch norm is the same;
* activations: unsigned, asymmetric, one scale and zero point per tensor, the range (always
  including 0) from the minimum and maximum seen on calibration images (a MinMax observer, as
  onnxruntime's default) at the input of every convolution and fully connected layer and at the
  output of every batch norm (the output of the folded convolution);
* biases stay in float (int32 with the product scale in a deployed model: a negligible difference).

Below 8 bits this is the usual fake-quantized evaluation of a network no runtime here executes.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from ..arch import QuantPolicy
from ..errors import Problem, ValidationError

CALIB_BATCH = 128  # images per calibration forward pass


def _quantize_weight(w: torch.Tensor, bits: int) -> torch.Tensor:
    qmax = 2 ** (bits - 1) - 1
    scale = w.abs().amax(dim=tuple(range(1, w.dim())), keepdim=True).clamp_min(1e-12) / qmax
    return (w / scale).round().clamp(-qmax, qmax) * scale


class _Observer:
    """Running min/max of one activation tensor; then its asymmetric ``bits``-bit fake quantization."""

    def __init__(self, bits: int):
        self.levels = 2 ** bits - 1
        self.lo, self.hi = 0.0, 0.0
        self.calibrating = True

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.calibrating:
            self.lo = min(self.lo, float(x.min()))
            self.hi = max(self.hi, float(x.max()))
            return x
        scale = max(self.hi - self.lo, 1e-12) / self.levels
        zero = round(-self.lo / scale)
        return ((x / scale).round() + zero).clamp(0, self.levels).sub(zero).mul(scale)


@dataclass
class QuantizedModel:
    """A quantized copy of a network and its activation observers (see :func:`quantized_copy`)."""

    model: nn.Module
    observers: list[_Observer]

    def calibrate(self, images: torch.Tensor) -> QuantizedModel:
        """Set every activation range from ``images`` (N×C×H×W), then switch quantization on."""
        for o in self.observers:
            o.calibrating = True
        with torch.no_grad():
            for i in range(0, len(images), CALIB_BATCH):
                self.model(images[i:i + CALIB_BATCH])
        for o in self.observers:
            o.calibrating = False
        return self


def quantized_copy(model: nn.Module, policy: QuantPolicy) -> QuantizedModel:
    """A copy of ``model`` (eval mode) with quantized weights and activation observers attached;
    call :meth:`QuantizedModel.calibrate` before using it."""
    q = copy.deepcopy(model).eval()
    observers: list[_Observer] = []

    def observe_input(_module, args):
        return (observers_of[id(_module)](args[0]), *args[1:])

    def observe_output(_module, _args, out):
        return observers_of[id(_module)](out)

    observers_of: dict[int, _Observer] = {}
    with torch.no_grad():
        for m in q.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.copy_(_quantize_weight(m.weight, policy.weight_bits))
                observers_of[id(m)] = _Observer(policy.act_bits)
                m.register_forward_pre_hook(observe_input)
            elif isinstance(m, nn.BatchNorm2d):
                observers_of[id(m)] = _Observer(policy.act_bits)
                m.register_forward_hook(observe_output)
    observers = list(observers_of.values())
    return QuantizedModel(q, observers)


def check_calibration_images(images: torch.Tensor, input_shape: tuple[int, ...], where: str) -> None:
    """Calibration images must be a non-empty N×C×H×W float tensor of the network's input shape."""
    shape = tuple(images.shape[1:]) if isinstance(images, torch.Tensor) and images.dim() == 4 else None
    if shape is None or len(images) == 0 or shape != tuple(input_shape):
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValidationError(Problem(where, f"calibration images must be N×{'×'.join(map(str, input_shape))} "
                                             f"with N ≥ 1, got {got}"))


def quantized_accuracy(model: nn.Module, policy: QuantPolicy, calib_images: torch.Tensor, split) -> float:
    """Top-1 accuracy on ``split`` (a :class:`~codesign.accuracy.datasets.Split`) of ``model`` quantized
    with ``policy``, activation ranges calibrated on ``calib_images``."""
    from ..accuracy.training import accuracy

    arch = getattr(model, "arch", None)
    if arch is not None:
        check_calibration_images(calib_images, (arch.in_channels, arch.resolution, arch.resolution),
                                 f"calibration data for {arch.to_string()[:60]}…")
    return accuracy(quantized_copy(model, policy).calibrate(calib_images).model, split)


MAX_CALIB_IMAGES = 256  # activation ranges from at most this many training images


class QuantizedAccuracy:
    """Float and quantized validation accuracy of trained networks: the calibration images are the
    first ``min(calib_images, MAX_CALIB_IMAGES)`` of a fixed permutation of the training split (``seed``)."""

    def __init__(self, data, calib_images: int = 512, seed: int = 0):
        import numpy as np

        self.data = data
        idx = np.random.default_rng(seed).permutation(len(data.train))[:min(calib_images, MAX_CALIB_IMAGES)]
        self.calib = data.train.x[torch.from_numpy(idx)]

    def __call__(self, model: nn.Module, policy: QuantPolicy | None, float_accuracy: float) -> dict[str, float]:
        """``{"accuracy": …, "accuracy_float": …}``: the deployed (quantized when ``policy`` is given)
        and the float accuracy of ``model`` on the validation split."""
        if policy is None:
            return {"accuracy": float_accuracy, "accuracy_float": float_accuracy}
        return {"accuracy": quantized_accuracy(model, policy, self.calib, self.data.val),
                "accuracy_float": float_accuracy}
