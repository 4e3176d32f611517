"""What a one-shot searcher may use, handed to it by the loop (searchers never evaluate on their own):
a weight-sharing supernet to keep training, a validation batch to score a subnet on, and the
analytical cost model and reward of the run.

The supernet is the run's checkpoint, trained further here on the candidates the controller
samples (TuNAS interleaves weight and controller updates); the run's checkpoint on disk is left as
it was, so the final front is re-evaluated at the run's configured fidelity.

It runs on the supernet section's ``device`` (``auto``: CUDA when present), weight steps under the
same mixed precision as supernet training; validation batches are handed out on that device.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..arch import ArchConfig
from ..spaces.hp_space import HyperParams
from ..candidate import Candidate
from ..layer import workload_totals
from ..spaces.joint_space import JointSpace
from ..accuracy.devices import MixedPrecision, resolve_device, stage_split, to_device
from ..accuracy.training import batches, make_optimizer
from ..workload.from_arch import arch_workload
from ..accuracy.sources import load_supernet, load_search_data, supernet_path
from .config import SearchConfig
from .objectives import total_violation
from accel_models.registry import evaluate


class OneShotContext:
    def __init__(self, cfg: SearchConfig, joint: JointSpace, run_dir: Path, space, val_batch: int = 256):
        self.cfg, self.joint, self.space = cfg, joint, space
        self.data = load_search_data(cfg, joint.arch)
        self.net = load_supernet(supernet_path(cfg, run_dir), joint.arch)
        tcfg = cfg.accuracy.supernet.as_train_config()
        self.tcfg = tcfg.__class__(**{**tcfg.to_dict(), "lr": tcfg.lr * 0.1})  # fine-tuning a trained supernet
        self.device = resolve_device(self.tcfg.device, "accuracy.supernet.device")
        self.amp = MixedPrecision(self.device)
        self.net.to(self.device)
        self.opt = make_optimizer(self.net.parameters(), self.tcfg)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self._batches = batches(stage_split(self.data.train, self.device), self.tcfg, self.gen, 10**9)
        self._val = stage_split(self.data.val, self.device)
        self.val_batch = val_batch

    def train_step(self, arch: ArchConfig, hp: HyperParams | None = None) -> float:
        """One weight update of ``arch``'s subnet on the next training batch; returns its loss. With
        ``hp`` (a candidate's hyperparameters, AutoHAS) the step uses its learning rate (× 0.1, as the
        fine-tuning here), weight decay and label smoothing; batch, optimizer and augmentation stay
        the supernet's."""
        _, _, x, y = next(self._batches)
        x, y = to_device(x, self.device), to_device(y, self.device)
        given = hp.as_dict() if hp is not None else {}
        for group in self.opt.param_groups:
            group["lr"] = given["lr"] * 0.1 if "lr" in given else self.tcfg.lr
            group["weight_decay"] = given.get("weight_decay", self.tcfg.weight_decay)
        self.net.train()
        self.net.set_active_subnet(arch)
        self.opt.zero_grad(set_to_none=True)
        with self.amp.autocast():
            loss = F.cross_entropy(self.net(x), y, label_smoothing=given.get("label_smoothing", self.tcfg.label_smoothing))
        self.amp.backward(loss)
        self.amp.step(self.opt)
        return float(loss.detach())

    def val_batch_tensors(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(images, labels) of validation batch ``step`` (``val_batch`` images drawn by the step's seed),
        on the context's device."""
        val = self._val
        idx = torch.from_numpy(np.random.default_rng(step).permutation(len(val))[:self.val_batch]).to(val.x.device)
        return to_device(val.x[idx], self.device), to_device(val.y[idx], self.device)

    @torch.no_grad()
    def val_accuracy(self, arch: ArchConfig, step: int) -> float:
        """Accuracy of ``arch``'s subnet on one validation batch (batch statistics, as in TuNAS)."""
        x, y = self.val_batch_tensors(step)
        self.net.train()  # normalise with the batch's own statistics: running ones belong to other subnets
        self.net.set_active_subnet(arch)
        with self.amp.autocast():
            return float((self.net(x).argmax(1) == y).float().mean())

    def hardware(self, cand: Candidate) -> dict[str, float]:
        """Hardware cost of ``cand`` from the run's cost-model backend (its latency, energy, area)."""
        wl = arch_workload(cand.arch)
        rep = evaluate(wl, cand.accel, self.cfg.backend)
        totals = workload_totals(wl)
        return {"latency_ms": rep.latency_ms, "energy_mj": rep.energy_mj, "area_mm2": rep.area_mm2,
                "params": float(totals["params"]), "macs": float(totals["macs"])}

    def reward(self, flat: dict[str, float]) -> float:
        return self.cfg.reward(flat, total_violation(flat, list(self.cfg.constraints)))
