"""One-shot joint search, TuNAS-style (Bender et al., CVPR 2020), extended to the accelerator.

``prepare`` runs the one-shot phase: for ``steps`` steps, sample a candidate (network and
accelerator) from a factorised policy, train the supernet's weights on it for one batch, score it
with the supernet's accuracy on a validation batch and the analytical cost model, and update the
policy by REINFORCE on the scalar reward. The first ``warmup_steps`` train weights on uniformly
sampled candidates without touching the policy. Afterwards ``ask`` proposes the policy's most likely
candidate, then ``candidates`` − 1 distinct samples from it, and then further samples; the loop
evaluates them at the run's full fidelity and stores them as trials (``tell`` keeps refining the
policy on those full-fidelity rewards).
"""
from __future__ import annotations

from tqdm.auto import tqdm

from .base import Feedback, Searcher, Values
from .policy import POLICY_OPTIONS, check_policy_options, policy_from_options


class OneShot(Searcher):
    name = "oneshot"
    TRAINS_SUPERNET = True
    OPTIONS = {"steps": 300, "warmup_steps": 0, "candidates": 16, **POLICY_OPTIONS}

    def check_options(self) -> None:
        self.option("steps", 1, 10_000_000)
        self.option("warmup_steps", 0, 10_000_000)
        self.option("candidates", 1, 100_000)
        check_policy_options(self)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.policy = policy_from_options(self)
        self.queue: list[Values] = []
        self.history: list[dict[str, float]] = []

    def prepare(self, ctx, progress: bool = True) -> None:
        """The one-shot phase (see the module docstring); ``ctx`` is a ``OneShotContext``."""
        o = self.options
        for step in tqdm(range(o["steps"]), desc="one-shot (supernet + controller)", disable=not progress):
            warm = step < o["warmup_steps"]
            values = self.random_values() if warm else self.policy.sample(self.rng)
            cand = ctx.space.decode(values)
            loss = ctx.train_step(cand.arch, cand.hp)
            if warm:
                continue
            flat = {"accuracy": ctx.val_accuracy(cand.arch, step), **ctx.hardware(cand)}
            reward = ctx.reward(flat)
            self.policy.update(values, self.space.active(values), reward)
            self.history.append({"step": step, "loss": loss, "reward": reward, **flat})
        seen: set[str] = set()
        proposals = [self.policy.argmax()] + [self.policy.sample(self.rng) for _ in range(50 * o["candidates"])]
        for values in proposals:
            key = ctx.space.decode(values).to_string()
            if key not in seen:
                seen.add(key)
                self.queue.append(values)
            if len(self.queue) == o["candidates"]:
                break

    def ask(self) -> Values:
        return self.queue.pop(0) if self.queue else self.policy.sample(self.rng)

    def tell(self, values: Values, feedback: Feedback) -> None:
        if feedback.reward is not None:
            self.policy.update(values, self.space.active(values), feedback.reward)
