"""REINFORCE controller over every categorical choice of the joint space (NAHAS / MnasNet
multi-trial searcher): sample from the policy, get the scalar reward (MNAS soft/hard or TuNAS
absolute, see ``codesign.search.rewards``), update with a moving-average baseline. A candidate
already proposed is not proposed again (another sample is drawn)."""
from __future__ import annotations

from .base import Feedback, Searcher, Values
from .policy import POLICY_OPTIONS, check_policy_options, LearnedReward, policy_from_options


class Reinforce(Searcher):
    name = "reinforce"
    OPTIONS = POLICY_OPTIONS

    def check_options(self) -> None:
        check_policy_options(self)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.policy = policy_from_options(self)
        self.learned_reward = LearnedReward()

    def ask(self) -> Values:
        return self.fresh(lambda: self.policy.sample(self.rng))

    def tell(self, values: Values, feedback: Feedback) -> None:
        reward = self.learned_reward(feedback)
        self.policy.update(values, self.space.active(values), reward)
