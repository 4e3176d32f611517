"""Where training runs: ``device: auto | cpu | cuda | cuda:N`` (``auto``: the first CUDA device when
torch sees one, else the CPU).

On CUDA, training runs under ``torch.autocast`` mixed precision — bfloat16 where the device supports
it, else float16 with a gradient scaler — and trained weights come back to the CPU, so batch-norm
recalibration, subnet extraction, quantization and export work the same whatever trained them. On the
CPU nothing changes: no autocast, the same operations in the same order, the same results.

Data: on CUDA a training split is copied to the device once when it fits (``RESIDENT_SHARE`` of the
device's free memory), so batches are cut and augmented there with no host-to-device copy per step;
a split too large for that stays in host memory and each batch is staged through pinned
(page-locked) memory and copied asynchronously. The random streams (shuffling, crops, flips) come
from the same CPU generator either way, so the batch sequence does not depend on the device.
"""
from __future__ import annotations

import contextlib
import re
from typing import Any

import torch

from ..checks import Checker
from ..errors import Problem, ValidationError
from .datasets import Split

DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def check_device(chk: Checker, value: Any, path: str) -> str | None:
    """A device name of the form above, usable on this machine (``cuda`` needs a CUDA device torch sees)."""
    if not isinstance(value, str) or not DEVICE_RE.match(value):
        chk.fail(path, f"expected auto, cpu, cuda or cuda:<index>, got {value!r}")
        return None
    try:
        resolve_device(value, path)
    except ValidationError as exc:
        chk.fail(path, exc.problems[0].message)
        return None
    return value


def device_option(value: str | None, where: str = "--device") -> str | None:
    """A command-line ``--device`` checked as a configuration's ``device`` field is (``None`` stays)."""
    if value is None:
        return None
    chk = Checker("command line")
    out = check_device(chk, value, where)
    chk.raise_if_any(f"invalid {where}")
    return out


def resolve_device(name: str, where: str = "device") -> torch.device:
    """The torch device ``name`` means here; CUDA where none is present is a ``ValidationError`` at ``where``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValidationError(Problem(where, f"`{name}` asked, but torch sees no CUDA device on this machine "
                                             "(use auto or cpu)"))
    index = int(name.split(":")[1]) if ":" in name else 0
    if index >= torch.cuda.device_count():
        raise ValidationError(Problem(where, f"`{name}` asked, but torch sees {torch.cuda.device_count()} CUDA "
                                             f"device(s)"))
    return torch.device("cuda", index)


class MixedPrecision:
    """Autocast and, for float16, a gradient scaler on CUDA; plain float32 steps on the CPU."""

    def __init__(self, device: torch.device):
        self.device = device
        self.enabled = device.type == "cuda"
        self.dtype = (torch.bfloat16 if self.enabled and torch.cuda.is_bf16_supported() else torch.float16)
        self.scaler = torch.amp.GradScaler("cuda") if self.enabled and self.dtype == torch.float16 else None

    def autocast(self):
        return torch.autocast("cuda", dtype=self.dtype) if self.enabled else contextlib.nullcontext()

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self, opt: torch.optim.Optimizer) -> None:
        if self.scaler is not None:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()

    @property
    def name(self) -> str:
        return f"cuda autocast {str(self.dtype).replace('torch.', '')}" if self.enabled else "cpu float32"


#: a split is kept on the GPU when its tensors take at most this share of the device's free memory
RESIDENT_SHARE = 0.25


def stage_split(split: Split, device: torch.device) -> Split:
    """The split batches are cut from on ``device``: on CUDA a device copy when it fits (see the
    module docstring), else the host split; on the CPU the split itself."""
    if device.type != "cuda" or split.x.device == device:
        return split
    nbytes = split.x.numel() * split.x.element_size() + split.y.numel() * split.y.element_size()
    free_bytes, _ = torch.cuda.mem_get_info(device)
    if nbytes > RESIDENT_SHARE * free_bytes:
        return split
    return Split(split.x.to(device), split.y.to(device))


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``t`` on ``device``; a host tensor bound for CUDA goes through pinned memory, asynchronously."""
    if t.device == device:
        return t
    if device.type == "cuda" and t.device.type == "cpu":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def model_device(model: torch.nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")
