"""Differentiable hardware-aware joint search (DARTS family: GDAS / SNAS relaxations, FBNet /
ProxylessNAS hardware term), over the network *and* the accelerator.

Every categorical choice ``c`` of the joint space gets architecture logits ``α_c``. ``prepare`` runs,
for each ``(λ_lat, λ_en)`` of ``lambdas``, ``steps`` first-order bilevel steps from the same warmed-up
supernet:

1. **weights**: a candidate drawn from ``softmax(α)`` trains the supernet for one training batch;
2. **architecture**: a Gumbel-softmax sample ``y_c = softmax((α_c + g_c) / τ)`` per choice at
   temperature ``τ`` (annealed geometrically from ``tau_start`` to ``tau_end``) picks the path
   ``k_c = argmax y_c``; the network of that path runs on a *validation* batch with each block's
   branch multiplied by the weights of the options that built it — ``gdas``: the straight-through
   one-hot (value 1, gradient of ``y``), ``snas``: the relaxed weight ``y_c[k_c]`` itself — so the
   cross-entropy reaches ``α`` (stem / head / a stage's first block for widths, block ``j`` of a
   stage for the depth options deeper than ``j``);
3. the loss is ``CE + λ_lat·log E[latency] + λ_en·log E[energy] + μ·Σ relu(log E[m] − log bound)``
   over the run's constraints on hardware metrics (``constraint_weight`` μ), and only ``α`` steps
   (Adam, ``arch_lr``).

``E[m]`` is the expected cost under the choice probabilities (``softmax(α)`` for ``gdas``, the
relaxed sample for ``snas``), from the run's analytical cost model on the current accelerator, in the
log-linear form ``log E[m] = log m(b) + Σ_c Σ_o p_c(o)·(log m(b | c=o) − log m(b))`` around the current
most likely candidate ``b``; the table ``m(b | c=o)`` (one cost-model call per option, network and
accelerator choices alike) is rebuilt every ``table_every`` steps.

**Collapse.** DARTS-style search drifts to parameter-free choices (skipped blocks here) because an
untrained branch only adds loss early on. The guards: ``warmup_steps`` weight-only steps on uniformly
sampled subnets before any ``α`` step, and the depth options reach the loss only through blocks that
ran (a skipped block gets no gradient in its favour). ``history`` records, per λ, the share of stages
at their smallest depth in the final most likely candidate, which the search benchmark reports with
and without the warm-up.

Afterwards ``ask`` proposes, per λ, the most likely candidate and then distinct samples of
``softmax(α)``, ``candidates`` in all per λ; the loop evaluates them at the run's full fidelity and
stores them as trials like any other searcher's.
"""
from __future__ import annotations

import copy
import re
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .base import Feedback, Searcher, Values

RELAXATIONS = ("gdas", "snas")
COST_METRICS = ("latency_ms", "energy_mj")


class Differentiable(Searcher):
    name = "differentiable"
    TRAINS_SUPERNET = True
    OPTIONS = {"steps": 150, "warmup_steps": 50, "relaxation": "gdas", "tau_start": 5.0, "tau_end": 0.5,
               "arch_lr": 0.05, "lambdas": [[0.0, 0.0], [0.05, 0.05], [0.2, 0.2], [0.5, 0.5]],
               "candidates": 4, "table_every": 25, "constraint_weight": 1.0}

    def check_options(self) -> None:
        self.option("steps", 1, 10_000_000)
        self.option("warmup_steps", 0, 10_000_000)
        self.option("candidates", 1, 100_000)
        self.option("table_every", 1, 10_000_000)
        for key in ("tau_start", "tau_end"):
            value = self.options[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                self.checker.fail(f"searcher.{key}", f"the Gumbel-softmax temperature must be > 0, got {value!r}")
        self.option("arch_lr", 1e-6, 10.0, integer=False)
        self.option("constraint_weight", 0.0, 1e6, integer=False)
        if self.options["relaxation"] not in RELAXATIONS:
            self.checker.fail("searcher.relaxation", f"expected one of {', '.join(RELAXATIONS)}, "
                                                     f"got {self.options['relaxation']!r}")
        lambdas = self.options["lambdas"]
        if not isinstance(lambdas, list) or not lambdas:
            self.checker.fail("searcher.lambdas", f"expected a non-empty list of [λ_latency, λ_energy], got {lambdas!r}")
            return
        for i, pair in enumerate(lambdas):
            ok = (isinstance(pair, (list, tuple)) and len(pair) == 2
                  and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in pair))
            if not ok:
                self.checker.fail(f"searcher.lambdas[{i}]", f"expected [λ_latency, λ_energy], each ≥ 0, got {pair!r}")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.queue: list[Values] = []
        self.history: list[dict[str, Any]] = []
        self.alphas: dict[str, Any] = {}

    # ---- the differentiable phase --------------------------------------------------------------
    def prepare(self, ctx, progress: bool = True) -> None:
        """Warm up the supernet, then one bilevel search per λ from the warmed-up weights (see the
        module docstring); ``ctx`` is a ``OneShotContext``. Fills the proposal queue."""
        import torch

        o = self.options
        torch_gen = torch.Generator().manual_seed(self.seed)
        for _ in tqdm(range(o["warmup_steps"]), desc="differentiable: warm-up", disable=not progress):
            ctx.train_step(*_net_and_hp(ctx.space.decode(self.random_values())))
        start_weights = copy.deepcopy(ctx.net.state_dict())
        start_opt = copy.deepcopy(ctx.opt.state_dict())
        seen: set[str] = set()
        for lam in o["lambdas"]:
            ctx.net.load_state_dict(start_weights)
            ctx.opt.load_state_dict(start_opt)
            search = _BilevelSearch(self, ctx, tuple(float(v) for v in lam), torch_gen)
            search.run(progress)
            self.history.append(search.summary())
            self._queue_from(search, ctx, seen)

    def _queue_from(self, search: _BilevelSearch, ctx, seen: set[str]) -> None:
        proposals = [search.most_likely()] + [search.sample(self.rng) for _ in range(50 * self.options["candidates"])]
        added = 0
        for values in proposals:
            key = ctx.space.decode(values).to_string()
            if key not in seen:
                seen.add(key)
                self.queue.append(values)
                added += 1
            if added == self.options["candidates"]:
                break
        self.alphas = {n: a.detach().numpy().copy() for n, a in search.alpha.items()}

    def ask(self) -> Values:
        if self.queue:
            return self.queue.pop(0)
        return self.fresh(self._sample_last)

    def _sample_last(self) -> Values:
        if not self.alphas:
            return self.random_values()
        return _sample(self.choices, self.alphas, self.rng)

    def tell(self, values: Values, feedback: Feedback) -> None:
        pass


class _BilevelSearch:
    """One λ's first-order bilevel search on the shared supernet."""

    def __init__(self, owner: Differentiable, ctx, lam: tuple[float, float], gen):
        import torch

        self.owner, self.ctx, self.lam, self.gen = owner, ctx, lam, gen
        self.choices = owner.choices
        self.alpha = {c.name: torch.zeros(len(c.options), requires_grad=True) for c in self.choices}
        self.opt = torch.optim.Adam(self.alpha.values(), lr=owner.options["arch_lr"], betas=(0.5, 0.999))
        self.table: dict[str, dict[str, np.ndarray]] = {}
        self.base_cost: dict[str, float] = {}
        self.bounds = [(c.metric, c.hi) for c in ctx.cfg.constraints if c.hi is not None]
        self.last: dict[str, float] = {}

    def run(self, progress: bool) -> None:
        o = self.owner.options
        steps = o["steps"]
        for step in tqdm(range(steps), desc=f"differentiable λ={list(self.lam)}", disable=not progress):
            if step % o["table_every"] == 0:
                self._build_table()
            tau = o["tau_start"] * (o["tau_end"] / o["tau_start"]) ** (step / max(steps - 1, 1))
            self.ctx.train_step(*_net_and_hp(self.ctx.space.decode(self.sample(self.owner.rng))))
            self._arch_step(tau, step)

    def _arch_step(self, tau: float, step: int) -> None:
        import torch
        import torch.nn.functional as F

        weights, picked = {}, {}
        for c in self.choices:
            u = torch.rand(len(c.options), generator=self.gen).clamp_(1e-9, 1 - 1e-9)
            y = F.softmax((self.alpha[c.name] - torch.log(-torch.log(u))) / tau, dim=0)
            k = int(torch.argmax(y))
            hard = torch.zeros_like(y)
            hard[k] = 1.0
            weights[c.name] = (hard - y.detach() + y) if self.owner.options["relaxation"] == "gdas" else y
            picked[c.name] = k
        values = {c.name: c.options[picked[c.name]] for c in self.choices}
        cand = self.ctx.space.decode(values)
        x, y_true = self.ctx.val_batch_tensors(step)
        net = self.ctx.net
        net.train()
        net.set_active_subnet(cand.arch)
        gates = _gates(values, {n: w[picked[n]] for n, w in weights.items()}, self.choices, weights)
        gates = {key: g.to(x.device) for key, g in gates.items()}  # α stays on the CPU; the supernet may not
        ce = F.cross_entropy(net(x, gates), y_true)
        probs = ({n: F.softmax(a, dim=0) for n, a in self.alpha.items()}
                 if self.owner.options["relaxation"] == "gdas" else weights)
        log_cost = {m: self._log_expected(m, probs) for m in self.table}
        loss = ce + sum(lam * log_cost[m] for lam, m in zip(self.lam, COST_METRICS) if m in log_cost)
        for metric, bound in self.bounds:
            if metric in log_cost:
                loss = loss + self.owner.options["constraint_weight"] * F.relu(log_cost[metric] - float(np.log(bound)))
        self.opt.zero_grad(set_to_none=True)
        self.ctx.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.ctx.opt.zero_grad(set_to_none=True)  # the weights only learn from training batches
        self.last = {"ce": float(ce.detach()), **{f"log_expected_{m}": float(v.detach()) for m, v in log_cost.items()}}

    def _log_expected(self, metric: str, probs: dict[str, Any]):
        import torch

        base = float(np.log(self.base_cost[metric]))
        total = torch.tensor(base)
        for name, delta in self.table[metric].items():
            total = total + torch.dot(probs[name], torch.from_numpy(delta).float())
        return total

    def _build_table(self) -> None:
        """``log m(b | c=o) − log m(b)`` for every choice ``c`` and option ``o`` around the most likely ``b``."""
        base_values = self.most_likely()
        base = self.ctx.hardware(self.ctx.space.decode(base_values))
        metrics = [m for m in (*COST_METRICS, *(b[0] for b in self.bounds)) if m in base and base[m] > 0]
        self.base_cost = {m: float(base[m]) for m in metrics}
        table: dict[str, dict[str, np.ndarray]] = {m: {} for m in metrics}
        for c in self.choices:
            rows = []
            for opt in c.options:
                if opt == base_values[c.name]:
                    rows.append(base)
                    continue
                try:
                    rows.append(self.ctx.hardware(self.ctx.space.decode({**base_values, c.name: opt})))
                except Exception:  # an option that does not decode around b (e.g. a width rule): no pull
                    rows.append(base)
            for m in metrics:
                table[m][c.name] = np.log(np.maximum([r[m] for r in rows], 1e-30)) - np.log(base[m])
        self.table = table

    def most_likely(self) -> Values:
        return {c.name: c.options[int(np.argmax(self.alpha[c.name].detach().numpy()))] for c in self.choices}

    def sample(self, rng: np.random.Generator) -> Values:
        return _sample(self.choices, {n: a.detach().numpy() for n, a in self.alpha.items()}, rng)

    def summary(self) -> dict[str, Any]:
        best = self.most_likely()
        depth = [n for n in best if re.fullmatch(r"arch\.s\d+\.depth", n)]
        options = {c.name: c.options for c in self.choices}
        at_min = [best[n] == min(options[n]) for n in depth]
        return {"lambdas": list(self.lam), **self.last,
                "min_depth_share": float(np.mean(at_min)) if at_min else None}


def _sample(choices, logits: dict[str, np.ndarray], rng: np.random.Generator) -> Values:
    """One option per choice drawn from ``softmax(logits[choice])``."""
    out = {}
    for c in choices:
        p = np.exp(logits[c.name] - logits[c.name].max())
        out[c.name] = c.options[int(rng.choice(len(p), p=p / p.sum()))]
    return out


def _net_and_hp(candidate) -> tuple:
    """(network, hyperparameters) of a joint candidate: what one supernet training step takes."""
    return candidate.arch, getattr(candidate, "hp", None)


def _gates(values: Values, chosen: dict[str, Any], choices, weights) -> dict:
    """Supernet gates (see ``Supernet.forward``) from each choice's weight of the picked option."""
    gates: dict = {}

    def mul(key, w):
        gates[key] = gates[key] * w if key in gates else w

    depth_options = {c.name: c.options for c in choices if re.fullmatch(r"arch\.s\d+\.depth", c.name)}
    for name, w in chosen.items():
        if name == "arch.stem.channels":
            mul("stem", w)
        elif name == "arch.head.channels":
            mul("head", w)
        elif m := re.fullmatch(r"arch\.s(\d+)\.channels", name):
            mul((int(m.group(1)), 0), w)
        elif m := re.fullmatch(r"arch\.s(\d+)\.b(\d+)\.\w+", name):
            mul((int(m.group(1)), int(m.group(2))), w)
        elif name in depth_options:
            stage = int(re.fullmatch(r"arch\.s(\d+)\.depth", name).group(1))
            opts = depth_options[name]
            for j in range(1, int(values[name])):  # block j ran: weigh it by the options deeper than j
                deeper = [i for i, d in enumerate(opts) if d > j]
                mul((stage, j), weights[name][deeper].sum())
    return gates
