"""Training the elastic supernet with the sandwich rule, and scoring its subnets."""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..arch import ArchConfig
from ..checks import Checker
from .datasets import DataSet
from .devices import MixedPrecision, resolve_device, stage_split, to_device
from ..workload.model_builder import IBNNet
from ..spaces.arch_space import ArchSpace
from .supernet import Supernet, recalibrate_batch_norm
from .threads import torch_threads
from .training import TrainConfig, accuracy, batches, make_optimizer


@dataclass(frozen=True)
class SupernetTrainConfig:
    """Sandwich rule: each step trains the largest, the smallest and ``random_subnets`` random
    subnets on one batch; with ``distill`` the others learn from the largest's soft predictions.
    Where the block type is a choice, the largest and smallest draw it at random per block, so both
    branches are trained at both extremes of kernel, expansion and width. The first
    ``warmup_fraction`` of the steps trains only the largest network (Once-for-All trains the full
    network before shrinking it), so that the teacher is good when distillation starts.

    ``fused_probability`` is the chance that a random subnet's block is ``fused_ibn`` where its stage
    offers both block types (0.5 is the space's uniform draw). A fused block's full k×k convolution
    has far more weights than the inverted bottleneck's depthwise one and learns slower when shared;
    at 0.5 the supernet ranked networks with many fused blocks well below where stand-alone training
    puts them (on digits_distorted, 20 subnets, supernet seed 0: Kendall τ 0.39 at 0.5, 0.62 at 0.75;
    seed 1 at 0.75: 0.53; BENCHMARKS.md ``supernet`` and ``supernet_seed1``)."""

    steps: int = 300
    batch_size: int = 64
    optimizer: str = "adamw"
    lr: float = 3e-3
    weight_decay: float = 1e-2
    momentum: float = 0.9
    label_smoothing: float = 0.1
    random_subnets: int = 2
    distill: bool = True
    warmup_fraction: float = 0.3
    fused_probability: float = 0.75
    augment: bool = True
    seed: int = 0
    threads: int | None = None  # torch threads while training; None: the cores this process may use
    device: str = "auto"  # auto | cpu | cuda | cuda:N (see codesign.accuracy.devices)

    @classmethod
    def from_dict(cls, data, source: str = "") -> SupernetTrainConfig:
        chk = Checker(source)
        m = chk.mapping(data or {}, "", optional=list(cls.__dataclass_fields__)) or {}
        base = TrainConfig.from_dict({k: v for k, v in m.items() if k in TrainConfig.__dataclass_fields__}, source)
        vals = {k: v for k, v in asdict(base).items() if k in cls.__dataclass_fields__ and k in m}
        if "random_subnets" in m:
            vals["random_subnets"] = chk.integer(m["random_subnets"], "random_subnets", 0, 16)
        if "warmup_fraction" in m:
            vals["warmup_fraction"] = chk.number(m["warmup_fraction"], "warmup_fraction", 0.0, 0.95)
        if "fused_probability" in m:
            vals["fused_probability"] = chk.number(m["fused_probability"], "fused_probability", 0.0, 1.0)
        if "distill" in m:
            vals["distill"] = chk.boolean(m["distill"], "distill")
        chk.raise_if_any("invalid supernet training configuration")
        return cls(**vals)

    def as_train_config(self) -> TrainConfig:
        fields = TrainConfig.__dataclass_fields__
        return TrainConfig(**{k: v for k, v in asdict(self).items() if k in fields})


@dataclass
class SupernetTrainResult:
    steps: int
    seconds: float
    images_seen: int
    subnet_passes: int

    @property
    def seconds_per_subnet_step(self) -> float:
        return self.seconds / max(self.subnet_passes, 1)


def train_supernet(net: Supernet, data: DataSet, cfg: SupernetTrainConfig = SupernetTrainConfig(),
                   progress: bool = False) -> SupernetTrainResult:
    """Train ``net`` with the sandwich rule on ``cfg.device`` (mixed precision on CUDA); its weights
    end on the CPU."""
    device = resolve_device(cfg.device, "supernet.device")
    amp = MixedPrecision(device)
    net.to(device)
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    tcfg = cfg.as_train_config()
    opt = make_optimizer(net.parameters(), tcfg)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, cfg.steps) / cfg.steps)))
    largest = net.largest()
    result = SupernetTrainResult(0, 0.0, 0, 0)
    start = time.perf_counter()
    bar = tqdm(total=cfg.steps, desc="supernet", disable=not progress, leave=False)
    with torch.random.fork_rng(devices=[]), torch_threads(cfg.threads):
        torch.manual_seed(cfg.seed)
        net.train()
        warmup = int(cfg.warmup_fraction * cfg.steps)
        for _, _, x, y in batches(stage_split(data.train, device), tcfg, gen, cfg.steps):
            x, y = to_device(x, device), to_device(y, device)
            opt.zero_grad(set_to_none=True)
            if result.steps < warmup:
                net.active = largest
                with amp.autocast():
                    loss = F.cross_entropy(net(x), y, label_smoothing=cfg.label_smoothing)
                amp.backward(loss)
                amp.step(opt)
                sched.step()
                result.steps += 1
                result.images_seen += len(y)
                result.subnet_passes += 1
                bar.update(1)
                continue
            net.active = net.space.decode(net.space.extreme_values(largest=True, rng=rng))
            with amp.autocast():
                logits = net(x)
                loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
            amp.backward(loss)
            soft = F.softmax(logits.detach().float(), dim=1)
            smallest = net.space.decode(net.space.extreme_values(largest=False, rng=rng))
            randoms = [sample_training_subnet(net.space, rng, cfg.fused_probability) for _ in range(cfg.random_subnets)]
            for arch in [smallest] + randoms:
                net.active = arch
                with amp.autocast():
                    out = net(x)
                    if cfg.distill:
                        loss = F.kl_div(F.log_softmax(out.float(), dim=1), soft, reduction="batchmean")
                    else:
                        loss = F.cross_entropy(out, y, label_smoothing=cfg.label_smoothing)
                amp.backward(loss)
            amp.step(opt)
            sched.step()
            result.steps += 1
            result.images_seen += len(y) * (2 + cfg.random_subnets)
            result.subnet_passes += 2 + cfg.random_subnets
            bar.update(1)
    bar.close()
    result.seconds = time.perf_counter() - start
    net.cpu()
    net.set_active_subnet(largest)
    return result


def sample_training_subnet(space: ArchSpace, rng: np.random.Generator, fused_probability: float = 0.5) -> ArchConfig:
    """A uniform draw from ``space`` whose blocks are then ``fused_ibn`` with ``fused_probability``
    where their stage offers both types: a uniform ``ibn`` block turns fused with probability
    (p − 0.5)/0.5 (or a fused one turns ``ibn`` with (0.5 − p)/0.5)."""
    arch = space.sample(rng)
    if fused_probability == 0.5:
        return arch
    turn, into = ("ibn", "fused_ibn") if fused_probability > 0.5 else ("fused_ibn", "ibn")
    flip = abs(fused_probability - 0.5) / 0.5
    stages = []
    for st, blocks in zip(space.stages, arch.stages):
        both = {"ibn", "fused_ibn"} <= set(st.block_type)
        stages.append(tuple(replace(b, type=into) if both and b.type == turn and rng.random() < flip else b
                            for b in blocks))
    return replace(arch, stages=tuple(stages))


def inherited_subnet(net: Supernet, arch: ArchConfig, data: DataSet, calib_images: int = 512,
                     seed: int = 0) -> IBNNet:
    """``arch``'s static network with the supernet's weights, batch norm recalibrated on
    ``calib_images`` training images (drawn from ``seed``); in eval mode."""
    net.set_active_subnet(arch)
    sub = net.get_active_subnet()
    idx = torch.from_numpy(np.random.default_rng(seed).permutation(len(data.train))[:calib_images])
    return recalibrate_batch_norm(sub, data.train.x[idx])


def subnet_accuracy(net: Supernet, arch: ArchConfig, data: DataSet, split: str = "val",
                    calib_images: int = 512, seed: int = 0) -> float:
    """Accuracy of ``arch``'s subnet with inherited weights (see :func:`inherited_subnet`)."""
    return accuracy(inherited_subnet(net, arch, data, calib_images, seed), getattr(data, split))
