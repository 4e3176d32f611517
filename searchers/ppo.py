"""PPO controller (Schulman et al. 2017; the NAHAS / MnasNet controller's update) over every
categorical choice of the space: the factorised policy of ``reinforce``, updated once every
``rollouts`` rewards by ``epochs`` Adam steps on the clipped surrogate (clip ``clip``), with the
rewards standardised over the batch as advantages and an entropy bonus (``entropy``) that keeps the
policy exploring. A candidate already proposed is not proposed again (another sample is drawn).
"""
from __future__ import annotations

from .base import Feedback, Searcher, Values, values_key
from .policy import POLICY_OPTIONS, check_policy_options, LearnedReward, policy_from_options


class PPO(Searcher):
    name = "ppo"
    OPTIONS = {**POLICY_OPTIONS, "lr": 0.1, "entropy": 0.01, "rollouts": 8, "epochs": 4, "clip": 0.2}

    def check_options(self) -> None:
        check_policy_options(self)
        self.option("rollouts", 2, 100_000)
        self.option("epochs", 1, 1000)
        self.option("clip", 1e-3, 10.0, integer=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.policy = policy_from_options(self)
        self.batch: list[tuple[Values, list[str], float, float]] = []
        self.old_logp: dict[tuple, float] = {}
        self.learned_reward = LearnedReward()

    def ask(self) -> Values:
        values = self.fresh(lambda: self.policy.sample(self.rng))
        self.old_logp[values_key(values)] = self.policy.log_prob(values, self.space.active(values))
        return values

    def tell(self, values: Values, feedback: Feedback) -> None:
        reward = self.learned_reward(feedback)
        active = self.space.active(values)
        old = self.old_logp.pop(values_key(values), None)
        self.batch.append((values, active, old if old is not None else self.policy.log_prob(values, active), reward))
        if len(self.batch) >= self.options["rollouts"]:
            self.policy.ppo_update(self.batch, self.options["clip"], self.options["epochs"])
            self.batch = []
