"""Random search: every choice uniformly at random, without repeating a candidate — the baseline
every other searcher must beat."""
from __future__ import annotations

from .base import Feedback, Searcher, Values


class RandomSearch(Searcher):
    name = "random"

    def ask(self) -> Values:
        return self.fresh(self.random_values)

    def tell(self, values: Values, feedback: Feedback) -> None:
        pass
