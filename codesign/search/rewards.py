"""Scalar rewards for the RL and one-shot searchers (MnasNet, TuNAS), over several cost metrics at once.

With quality ``Q`` (accuracy), cost ``T_i`` and target ``T0_i``, exponent/weight ``β_i`` (< 0):

- ``mnas_soft``:  ``Q · ∏ (T_i / T0_i) ^ β_i``          (MnasNet, Tan et al. 2019, soft constraint)
- ``mnas_hard``:  ``Q · ∏ min((T_i / T0_i) ^ β_i, 1)``  (no bonus for beating the target)
- ``tunas_abs``:  ``Q + Σ β_i · |T_i / T0_i − 1|``      (TuNAS absolute-value reward, Bender et al. 2020)

Infeasible candidates (constraint broken) get ``reward − (1 + violation)``, which ranks them below
any feasible candidate with the same costs and still tells the searcher how far off they are.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REWARD_KINDS = ("mnas_soft", "mnas_hard", "tunas_abs")


@dataclass(frozen=True)
class Reward:
    kind: str = "mnas_soft"
    quality: str = "accuracy"
    targets: dict[str, float] = field(default_factory=dict)  # metric → T0 (metric units)
    betas: dict[str, float] = field(default_factory=dict)    # metric → β (defaults to -0.07)

    def beta(self, metric: str) -> float:
        return self.betas.get(metric, -0.07)

    def __call__(self, flat: dict[str, float], violation: float = 0.0) -> float:
        q = flat[self.quality]
        ratios = {m: max(flat[m], 1e-30) / t0 for m, t0 in self.targets.items()}
        if self.kind == "mnas_soft":
            r = q
            for m, x in ratios.items():
                r *= x ** self.beta(m)
        elif self.kind == "mnas_hard":
            r = q
            for m, x in ratios.items():
                r *= min(x ** self.beta(m), 1.0)
        else:
            r = q + sum(self.beta(m) * abs(x - 1.0) for m, x in ratios.items())
        return r - (1.0 + violation) if violation > 0 else r

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "quality": self.quality, "targets": dict(self.targets), "beta": dict(self.betas)}
