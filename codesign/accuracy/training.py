"""Proxy training of a stand-alone network: a fixed budget, deterministic on CPU under a seed."""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..arch import ArchConfig
from ..checks import Checker
from .datasets import DataSet, Split, augment
from .threads import torch_threads
from .devices import MixedPrecision, check_device, model_device, resolve_device, stage_split, to_device
from ..workload.model_builder import build_model

#: called after every epoch with (epoch, validation accuracy); return False to stop (successive halving)
EpochHook = Callable[[int, float], bool]


@dataclass(frozen=True)
class TrainConfig:
    """Budget and recipe. ``steps`` (if set) overrides ``epochs``; learning rate follows a cosine schedule."""

    epochs: int = 10
    steps: int | None = None
    batch_size: int = 64
    optimizer: str = "adamw"  # adamw | sgd
    lr: float = 3e-3
    weight_decay: float = 1e-2
    momentum: float = 0.9
    label_smoothing: float = 0.1
    augment: bool = True
    seed: int = 0
    threads: int | None = None  # torch threads while training; None: the cores this process may use
    device: str = "auto"  # auto | cpu | cuda | cuda:N (see codesign.accuracy.devices)

    @classmethod
    def from_dict(cls, data, source: str = "") -> TrainConfig:
        chk = Checker(source)
        names = list(cls.__dataclass_fields__)
        m = chk.mapping(data or {}, "", optional=names) or {}
        vals = {}
        if "epochs" in m:
            vals["epochs"] = chk.integer(m["epochs"], "epochs", 1, 10_000)
        if m.get("steps") is not None:
            vals["steps"] = chk.integer(m["steps"], "steps", 1, 10_000_000)
        if "batch_size" in m:
            vals["batch_size"] = chk.integer(m["batch_size"], "batch_size", 1, 65_536)
        if "optimizer" in m:
            vals["optimizer"] = chk.choice(m["optimizer"], "optimizer", ("adamw", "sgd"))
        for key, hi in (("lr", 10.0), ("weight_decay", 1.0), ("momentum", 0.999), ("label_smoothing", 0.5)):
            if key in m:
                vals[key] = chk.number(m[key], key, 0.0, hi)
        if "augment" in m:
            vals["augment"] = chk.boolean(m["augment"], "augment")
        if "seed" in m:
            vals["seed"] = chk.integer(m["seed"], "seed", 0, 2**31 - 1)
        if m.get("threads") is not None:
            vals["threads"] = chk.integer(m["threads"], "threads", 1, 1024)
        if "device" in m:
            vals["device"] = check_device(chk, m["device"], "device")
        chk.raise_if_any("invalid training configuration")
        return cls(**vals)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    val_accuracy: float
    seconds: float
    images_seen: int
    steps: int
    stopped_early: bool = False
    history: list[tuple[int, float]] = field(default_factory=list)
    device: str = "cpu float32"  # where and in which precision it trained
    checkpoint: TrainCheckpoint | None = None  # set when paused by ``train(stop_after_epochs=...)``


@torch.no_grad()
def accuracy(model: nn.Module, split: Split, batch_size: int = 512) -> float:
    """Top-1 accuracy (fraction) of ``model`` in eval mode (on the device its weights are on)."""
    model.eval()
    device = model_device(model)
    correct = 0
    for i in range(0, len(split), batch_size):
        x = to_device(split.x[i:i + batch_size], device)
        correct += int((model(x).argmax(1).cpu() == split.y[i:i + batch_size].cpu()).sum())
    return correct / max(len(split), 1)


def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, nesterov=True)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def total_steps(cfg: TrainConfig, n_train: int) -> int:
    return cfg.steps or cfg.epochs * math.ceil(n_train / cfg.batch_size)


def batches(split: Split, cfg: TrainConfig, gen: torch.Generator, steps: int, first_epoch: int = 0):
    """Shuffled mini-batches (augmented when configured), epoch after epoch, ``steps`` in all,
    numbering epochs from ``first_epoch``. Yields ``(epoch, end_of_epoch, x, y)``."""
    n, done, epoch = len(split), 0, first_epoch
    while done < steps:
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, cfg.batch_size):
            idx = perm[i:i + cfg.batch_size].to(split.x.device)
            x = split.x[idx]
            if cfg.augment:
                x = augment(x, gen)
            done += 1
            yield epoch, i + cfg.batch_size >= n or done == steps, x, split.y[idx]
            if done == steps:
                return
        epoch += 1


@dataclass
class TrainCheckpoint:
    """A training run paused at the end of an epoch, everything needed to continue it exactly:
    weights, optimizer and schedule state, the batch generator's and torch's random state, and the
    result so far (CPU tensors, numbers and lists: stored field by field as a plain dict, loadable
    with ``torch.load(weights_only=True)``)."""

    epochs_done: int
    model: dict
    optimizer: dict
    schedule: dict
    batch_rng: torch.Tensor
    torch_rng: torch.Tensor
    steps: int
    images_seen: int
    history: list[tuple[int, float]]


def train(model: nn.Module | ArchConfig, data: DataSet, cfg: TrainConfig = TrainConfig(),
          on_epoch: EpochHook | None = None, progress: bool = False, *, stop_after_epochs: int | None = None,
          resume: TrainCheckpoint | None = None) -> tuple[nn.Module, TrainResult]:
    """Train ``model`` (or a fresh network of an ``ArchConfig``, initialised from ``cfg.seed``) on
    ``cfg.device``; the trained model is returned on the CPU.

    ``stop_after_epochs``: pause after that many epochs of ``cfg``'s schedule (the learning rate
    follows the whole schedule) and return the pause as ``result.checkpoint``; ``resume``: continue
    such a pause. Paused and continued, a run ends with the weights of one trained straight through
    (on the CPU, bit for bit)."""
    if isinstance(model, ArchConfig):
        model = build_model(model, seed=cfg.seed)
    device = resolve_device(cfg.device, "train.device")
    amp = MixedPrecision(device)
    model.to(device)
    gen = torch.Generator().manual_seed(cfg.seed)
    steps = total_steps(cfg, len(data.train))
    opt = make_optimizer(model.parameters(), cfg)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    result = TrainResult(0.0, 0.0, 0, 0)
    if resume is not None:
        _restore(resume, model, opt, sched, gen, result)
    start = time.perf_counter()
    bar = tqdm(total=steps, initial=result.steps, desc="train", disable=not progress, leave=False)
    with torch.random.fork_rng(devices=[]), torch_threads(cfg.threads):
        torch.manual_seed(cfg.seed)
        if resume is not None:
            torch.set_rng_state(resume.torch_rng)
        first = resume.epochs_done if resume is not None else 0
        for epoch, end_of_epoch, x, y in batches(stage_split(data.train, device), cfg, gen, steps - result.steps, first):
            model.train()
            x, y = to_device(x, device), to_device(y, device)
            with amp.autocast():
                loss = F.cross_entropy(model(x), y, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            amp.backward(loss)
            amp.step(opt)
            sched.step()
            result.steps += 1
            result.images_seen += len(y)
            bar.update(1)
            if end_of_epoch:
                acc = accuracy(model, data.val)
                result.history.append((epoch, acc))
                bar.set_postfix(val_acc=f"{acc:.3f}", loss=f"{loss.item():.3f}")
                if stop_after_epochs is not None and epoch + 1 >= stop_after_epochs and result.steps < steps:
                    result.checkpoint = _pause(epoch + 1, model, opt, sched, gen, result)
                    break
                if on_epoch is not None and on_epoch(epoch, acc) is False:
                    result.stopped_early = True
                    break
    bar.close()
    result.val_accuracy = result.history[-1][1] if result.history else accuracy(model, data.val)
    result.seconds = time.perf_counter() - start
    result.device = amp.name
    return model.cpu(), result


def _cpu(tree):
    """``tree`` (a state dict, nested) with every tensor copied to the CPU."""
    if isinstance(tree, torch.Tensor):
        return tree.detach().cpu().clone()
    if isinstance(tree, dict):
        return {k: _cpu(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_cpu(v) for v in tree]
    return tree


def _pause(epochs_done: int, model: nn.Module, opt, sched, gen: torch.Generator, result: TrainResult) -> TrainCheckpoint:
    return TrainCheckpoint(epochs_done, _cpu(model.state_dict()), _cpu(opt.state_dict()), sched.state_dict(),
                           gen.get_state(), torch.get_rng_state(), result.steps, result.images_seen,
                           list(result.history))


def _restore(ckpt: TrainCheckpoint, model: nn.Module, opt, sched, gen: torch.Generator, result: TrainResult) -> None:
    model.load_state_dict(ckpt.model)
    opt.load_state_dict(ckpt.optimizer)  # moves the state to the parameters' device
    sched.load_state_dict(ckpt.schedule)
    gen.set_state(ckpt.batch_rng)
    result.steps, result.images_seen, result.history = ckpt.steps, ckpt.images_seen, list(ckpt.history)
