"""A factorised categorical policy over named choices, trained by REINFORCE with a moving-average
baseline (as the MnasNet/NAHAS controller, factorised per decision as in TuNAS) or by PPO's clipped
surrogate over batches of rewards.

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

    def log_prob(self, values: dict[str, Any], active: list[str]) -> float:
        """log π(values) over the ``active`` choices (nats)."""
        index = {c.name: c for c in self.choices}
        return float(sum(np.log(self.probs(n)[index[n].index(values[n])] + 1e-12) for n in active if n in index))

    def update(self, values: dict[str, Any], active: list[str], reward: float) -> float:
        """One REINFORCE step; returns the advantage used."""
        if self.baseline is None:
            self.baseline = reward
        advantage = reward - self.baseline
        self.baseline = self.decay * self.baseline + (1 - self.decay) * reward
        self.step({n: advantage * g for n, g in self._score_grads(values, active).items()})
        return advantage

    def ppo_update(self, batch: list[tuple[dict[str, Any], list[str], float, float]], clip: float, epochs: int) -> None:
        """PPO (Schulman et al. 2017) on a batch of (values, active, old log π, reward): advantages are
        the rewards standardised over the batch; each of ``epochs`` passes takes one Adam step on the
        clipped surrogate ``mean(min(r·A, clip(r, 1 ± clip)·A))``, ``r = π(values) / π_old(values)``
        (a sample whose ratio left the clip range on the side its advantage pushes gives no gradient)."""
        rewards = np.array([b[3] for b in batch])
        adv = (rewards - rewards.mean()) / (rewards.std() + 1e-8)
        for _ in range(epochs):
            total: dict[str, np.ndarray] = {}
            for (values, active, old_logp, _), a in zip(batch, adv):
                ratio = float(np.exp(self.log_prob(values, active) - old_logp))
                if (a > 0 and ratio > 1 + clip) or (a < 0 and ratio < 1 - clip):
                    continue
                for n, g in self._score_grads(values, active).items():
                    total[n] = total.get(n, 0.0) + a * ratio * g / len(batch)
            self.step(total, entropy_over=[c.name for c in self.choices])

    def _score_grads(self, values: dict[str, Any], active: list[str]) -> dict[str, np.ndarray]:
        """∂ log π(values) / ∂ logits per active choice."""
        index = {c.name: c for c in self.choices}
        grads = {}
        for name in active:
            if name in index:
                grad = -self.probs(name)
                grad[index[name].index(values[name])] += 1.0
                grads[name] = grad
        return grads

    def step(self, grads: dict[str, np.ndarray], entropy_over: list[str] | None = None) -> None:
        """One Adam ascent step on the logits along ``grads`` plus ``entropy`` × ∂H/∂logits of the
        choices in ``grads`` (or ``entropy_over``)."""
        self._t += 1
        for name in entropy_over if entropy_over is not None else list(grads):
            grad = np.asarray(grads.get(name, np.zeros_like(self.logits[name])), dtype=float)
            if self.entropy:
                p = self.probs(name)
                logp = np.log(p + 1e-12)
                grad = grad + self.entropy * (-p * (logp - np.sum(p * logp)))  # ∂H/∂logits
            self._adam(name, grad)

    def _adam(self, name: str, grad: np.ndarray, b1: float = 0.9, b2: float = 0.999) -> None:
        self._m[name] = b1 * self._m[name] + (1 - b1) * grad
        self._v[name] = b2 * self._v[name] + (1 - b2) * grad**2
        mhat = self._m[name] / (1 - b1**self._t)
        vhat = self._v[name] / (1 - b2**self._t)
        self.logits[name] += self.lr * mhat / (np.sqrt(vhat) + 1e-8)  # gradient ascent on reward


POLICY_OPTIONS = {"lr": 0.05, "baseline_decay": 0.9, "entropy": 0.0}


class LearnedReward:
    """The reward a policy learns from one feedback: the run's scalar reward, or for a failed
    candidate one less than the lowest reward seen so far (so the policy learns to avoid it)."""

    def __init__(self) -> None:
        self.lowest: float | None = None

    def __call__(self, feedback) -> float:
        if feedback.reward is None:
            return (self.lowest if self.lowest is not None else 0.0) - 1.0
        self.lowest = feedback.reward if self.lowest is None else min(self.lowest, feedback.reward)
        return feedback.reward


def check_policy_options(searcher) -> None:
    """Validate the policy's options (``lr``, ``baseline_decay``, ``entropy``) on a searcher."""
    searcher.option("lr", 1e-6, 10.0, integer=False)
    searcher.option("baseline_decay", 0.0, 0.9999, integer=False)
    searcher.option("entropy", 0.0, 10.0, integer=False)


def policy_from_options(searcher) -> CategoricalPolicy:
    o = searcher.options
    return CategoricalPolicy(searcher.choices, o["lr"], o["baseline_decay"], o["entropy"])
