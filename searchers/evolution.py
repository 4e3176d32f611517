"""Regularized (aging) evolution (Real et al., AAAI 2019) with a multi-objective tournament.

The population holds the ``population`` most recent results; a child is a mutation (one active
choice changed) of the winner of a tournament among ``sample`` random members. The winner is the
member with the best non-dominated rank within the tournament (feasible before infeasible, failed
last), ties broken by the scalar reward — so the search pushes the whole front, not one point.
Until the population is full, proposals are random. A candidate already proposed is not proposed
again (another mutation is drawn, or a random candidate once the parent's neighbours are all taken).
"""
from __future__ import annotations

from collections import deque

import numpy as np

from codesign.pareto import nondomination_rank
from codesign.spaces.choice import mutate_values

from .base import Feedback, Searcher, Values


class RegularizedEvolution(Searcher):
    name = "evolution"
    OPTIONS = {"population": 64, "sample": 16}

    def check_options(self) -> None:
        self.option("population", 2, 1_000_000)
        self.option("sample", 1, 1_000_000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.population: deque[tuple[Values, Feedback]] = deque(maxlen=self.options["population"])
        self.proposed = 0

    def ask(self) -> Values:
        self.proposed += 1
        if self.proposed <= self.options["population"] or len(self.population) < 2:
            return self.fresh(self.random_values)
        idx = self.rng.choice(len(self.population), size=min(self.options["sample"], len(self.population)),
                              replace=False)
        members = [self.population[i] for i in idx]
        parent = members[self._winner(members)][0]
        return self.fresh(lambda: self.mutate(parent), fallback=self.random_values)

    def tell(self, values: Values, feedback: Feedback) -> None:
        self.population.append((values, feedback))

    def _winner(self, members: list[tuple[Values, Feedback]]) -> int:
        ok = [i for i, (_, f) in enumerate(members) if not f.failed]
        if not ok:
            return 0
        feasible = [i for i in ok if members[i][1].feasible] or ok
        ranks = nondomination_rank(np.array([members[i][1].losses for i in feasible]))
        best = [feasible[j] for j in np.flatnonzero(ranks == ranks.min())]
        rewards = [members[i][1].reward if members[i][1].reward is not None else -np.inf for i in best]
        return best[int(np.argmax(rewards))]

    def mutate(self, values: Values) -> Values:
        """Change exactly one active choice (the network or the accelerator part with equal odds)."""
        return mutate_values(self.choices, self.space.active(values), values, self.rng)
