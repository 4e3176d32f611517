"""A factorised categorical policy over named choices, trained by REINFORCE with a moving-average
baseline (as the MnasNet/NAHAS controller, factorised per decision as in TuNAS).

``logits[name]`` holds one logit per option. The gradient of ``log π(values)`` with respect to a
choice's logits is ``onehot(chosen) − softmax(logits)``; only the choices that were *active* for
the sampled values get it (an inactive choice did not influence the reward). Updates use Adam.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from codesign.spaces.choice import Choice


class CategoricalPolicy:
    def __init__(self, choices: list[Choice], lr: float = 0.05, baseline_decay: float = 0.9, entropy: float = 0.0):
        self.choices = choices
        self.logits = {c.name: np.zeros(len(c.options)) for c in choices}
        self.lr, self.decay, self.entropy = lr, baseline_decay, entropy
        self.baseline: float | None = None
        self._m = {k: np.zeros_like(v) for k, v in self.logits.items()}
        self._v = {k: np.zeros_like(v) for k, v in self.logits.items()}
        self._t = 0

    def probs(self, name: str) -> np.ndarray:
        z = self.logits[name] - self.logits[name].max()
        p = np.exp(z)
        return p / p.sum()

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        return {c.name: c.options[int(rng.choice(len(c.options), p=self.probs(c.name)))] for c in self.choices}

    def argmax(self) -> dict[str, Any]:
        return {c.name: c.options[int(np.argmax(self.logits[c.name]))] for c in self.choices}

    def update(self, values: dict[str, Any], active: list[str], reward: float) -> float:
        """One REINFORCE step; returns the advantage used."""
        if self.baseline is None:
            self.baseline = reward
        advantage = reward - self.baseline
        self.baseline = self.decay * self.baseline + (1 - self.decay) * reward
        self._t += 1
        index = {c.name: c for c in self.choices}
        for name in active:
            if name not in index:
                continue
            p = self.probs(name)
            grad = -p
            grad[index[name].index(values[name])] += 1.0
            grad = advantage * grad
            if self.entropy:
                logp = np.log(p + 1e-12)
                grad += self.entropy * (-p * (logp - np.sum(p * logp)))  # ∂H/∂logits
            self._adam(name, grad)
        return advantage

    def _adam(self, name: str, grad: np.ndarray, b1: float = 0.9, b2: float = 0.999) -> None:
        self._m[name] = b1 * self._m[name] + (1 - b1) * grad
        self._v[name] = b2 * self._v[name] + (1 - b2) * grad**2
        mhat = self._m[name] / (1 - b1**self._t)
        vhat = self._v[name] / (1 - b2**self._t)
        self.logits[name] += self.lr * mhat / (np.sqrt(vhat) + 1e-8)  # gradient ascent on reward


POLICY_OPTIONS = {"lr": 0.05, "baseline_decay": 0.9, "entropy": 0.0}


def check_policy_options(searcher) -> None:
    """Validate the policy's options (``lr``, ``baseline_decay``, ``entropy``) on a searcher."""
    searcher.option("lr", 1e-6, 10.0, integer=False)
    searcher.option("baseline_decay", 0.0, 0.9999, integer=False)
    searcher.option("entropy", 0.0, 10.0, integer=False)


def policy_from_options(searcher) -> CategoricalPolicy:
    o = searcher.options
    return CategoricalPolicy(searcher.choices, o["lr"], o["baseline_decay"], o["entropy"])
