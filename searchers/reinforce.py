"""REINFORCE controller over every categorical choice of the joint space (NAHAS / MnasNet
multi-trial searcher): sample from the policy, get the scalar reward (MNAS soft/hard or TuNAS
absolute, see ``codesign.search.rewards``), update with a moving-average baseline."""
from __future__ import annotations

from .base import Feedback, Searcher, Values
from .policy import CategoricalPolicy


class Reinforce(Searcher):
    name = "reinforce"
    OPTIONS = {"lr": 0.05, "baseline_decay": 0.9, "entropy": 0.0}

    def check_options(self) -> None:
        self.option("lr", 1e-6, 10.0, integer=False)
        self.option("baseline_decay", 0.0, 0.9999, integer=False)
        self.option("entropy", 0.0, 10.0, integer=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        o = self.options
        self.policy = CategoricalPolicy(self.choices, o["lr"], o["baseline_decay"], o["entropy"])

    def ask(self) -> Values:
        return self.policy.sample(self.rng)

    def tell(self, values: Values, feedback: Feedback) -> None:
        if feedback.reward is None:  # failed: the lowest reward seen so far teaches the policy to avoid it
            reward = self.policy.baseline - 1.0 if self.policy.baseline is not None else 0.0
        else:
            reward = feedback.reward
        self.policy.update(values, self.space.active(values), reward)
