"""Objectives, constraints and the scalar reward over a candidate's flat metrics.

A trial's *flat metrics* are one number per metric name (units in the names; every name is declared
in :mod:`codesign.metric_registry`). The built-in evaluator gives:

- ``accuracy`` (fraction), from the configured accuracy fidelity;
- ``latency_ms``, ``energy_mj``, ``area_mm2`` from the configured cost-model backend on the
  candidate's accelerator;
- ``params``, ``macs`` of the network;
- ``measured_latency_ms``, the median measured on the host/remote runtime (when measured);
- ``predicted_latency_ms``, the block-level latency predictor's estimate for the host (when configured);
- ``device_latency_ms``, a device model's prediction for the user's target (``measure: {device: DEVICE.json}``).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..metric_registry import metric
from ..metrics import Metrics



@dataclass(frozen=True)
class Objective:
    """One axis of the Pareto front. ``reference`` is the worst value that still counts towards the
    hypervolume (the reference point); ``scale`` says whether the axis is compared in log10 (for
    quantities spanning decades such as latency and energy) or linearly (accuracy)."""

    metric: str
    direction: str
    reference: float | None = None
    scale: str = "linear"

    def loss(self, value: float) -> float:
        """Minimisation form relative to the reference: < 0 is better than the reference."""
        ref = self.reference if self.reference is not None else (0.0 if self.scale == "linear" else 1.0)
        if self.scale == "log":
            a, b = math.log10(max(value, 1e-30)), math.log10(max(ref, 1e-30))
        else:
            a, b = value, ref
        return (a - b) if self.direction == "minimize" else (b - a)

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "direction": self.direction, "reference": self.reference, "scale": self.scale}


@dataclass(frozen=True)
class Constraint:
    """``lo <= metric <= hi`` (either bound optional)."""

    metric: str
    hi: float | None = None
    lo: float | None = None

    def violation(self, value: float) -> float:
        """Relative amount by which ``value`` breaks the bound (0 when satisfied)."""
        if self.hi is not None and value > self.hi:
            return (value - self.hi) / max(abs(self.hi), 1e-12)
        if self.lo is not None and value < self.lo:
            return (self.lo - value) / max(abs(self.lo), 1e-12)
        return 0.0

    def margin(self, value: float) -> float:
        """Signed relative distance to the bound: ≤ 0 when satisfied (how much room is left), > 0 by
        how much it is broken (then equal to :meth:`violation`)."""
        sides = []
        if self.hi is not None:
            sides.append((value - self.hi) / max(abs(self.hi), 1e-12))
        if self.lo is not None:
            sides.append((self.lo - value) / max(abs(self.lo), 1e-12))
        return max(sides, default=0.0)

    def describe(self) -> str:
        parts = [f"{self.lo} <=" if self.lo is not None else "", self.metric,
                 f"<= {self.hi}" if self.hi is not None else ""]
        return " ".join(p for p in parts if p)

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "max": self.hi, "min": self.lo}


def flat_metrics(metrics: Metrics, backend: str, runtime: str | None = None) -> dict[str, float]:
    """The metrics objectives and constraints refer to, for one cost-model backend and runtime."""
    out: dict[str, float] = {}
    if metrics.accuracy is not None:
        out["accuracy"] = metrics.accuracy
    if backend in metrics.latency_ms:
        out["latency_ms"] = metrics.latency_ms[backend]
    if backend in metrics.energy_mj:
        out["energy_mj"] = metrics.energy_mj[backend]
    for name in ("accuracy_float", "precision_supported", "area_mm2", "params", "macs"):
        if getattr(metrics, name) is not None:
            out[name] = float(getattr(metrics, name))
    if runtime and runtime in metrics.measured_latency_ms:
        out["measured_latency_ms"] = metrics.measured_latency_ms[runtime]
    if metrics.predicted_latency_ms:  # one predictor per run
        out["predicted_latency_ms"] = next(iter(metrics.predicted_latency_ms.values()))
    if metrics.device_latency_ms:  # one device model per run
        out["device_latency_ms"] = next(iter(metrics.device_latency_ms.values()))
    return out


def total_violation(flat: dict[str, float], constraints: list[Constraint]) -> float:
    """Sum of relative violations; a constraint on a metric the trial lacks is not checked."""
    return sum(c.violation(flat[c.metric]) for c in constraints if c.metric in flat)


def constraint_margin(flat: dict[str, float], constraints: list[Constraint]) -> float | None:
    """The largest :meth:`Constraint.margin` (≤ 0: every constraint holds); ``None`` without constraints."""
    margins = [c.margin(flat[c.metric]) for c in constraints if c.metric in flat]
    return max(margins) if margins else None


def losses(flat: dict[str, float], objectives: list[Objective]) -> list[float]:
    return [o.loss(flat[o.metric]) for o in objectives]


def objective(spec: str | Objective | dict[str, Any], where: str | None = None) -> Objective:
    """An :class:`Objective` from a metric name (direction, scale and reference from the metric
    registry), a dict with any of those overridden, or an Objective (returned as is)."""
    if isinstance(spec, Objective):
        metric(spec.metric, where)
        return spec
    d = {"metric": spec} if isinstance(spec, str) else dict(spec)
    m = metric(d["metric"], where)
    scale = d.get("scale") or m.scale
    reference = d.get("reference")
    if reference is None and scale == m.scale:  # the registry's reference is on the registry's scale
        reference = m.reference
    return Objective(m.name, d.get("direction") or m.direction, reference, scale)


def default_reward(losses: Sequence[float], violation: float) -> float:
    """Higher is better: minus the sum of the objectives' losses, below any feasible point when a
    constraint is broken (the reward of a search that configures none)."""
    r = -float(sum(losses))
    return r - (1.0 + violation) if violation > 0 else r


@dataclass(frozen=True)
class Scoring:
    """How a trial's flat metrics become its losses (one per objective), its constraint violation
    and its scalar reward. ``reward(flat, violation)`` is e.g. :class:`~codesign.search.rewards.Reward`;
    ``None`` uses :func:`default_reward`."""

    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...] = ()
    reward: Callable[[dict[str, float], float], float] | None = None

    def score(self, flat: dict[str, float]) -> tuple[tuple[float, ...], float, float]:
        """(losses, violation, reward); a metric an objective needs but ``flat`` lacks is a KeyError."""
        ls = tuple(losses(flat, list(self.objectives)))
        violation = total_violation(flat, list(self.constraints))
        reward = self.reward(flat, violation) if self.reward is not None else default_reward(ls, violation)
        return ls, violation, reward

    @property
    def metrics(self) -> list[str]:
        """Every metric named by an objective or a constraint, objectives first."""
        names = [o.metric for o in self.objectives]
        return names + [c.metric for c in self.constraints if c.metric not in names]
