"""NSGA-II, TPE and Gaussian-process BO through optuna's samplers, driven by ask/tell on a private in-memory study.

The study sees every choice as a ``CategoricalDistribution`` and the objectives as minimised
losses; the run's constraints are one signed value set with ``Trial.set_constraint`` (≤ 0 feasible;
optuna ranks infeasible trials behind feasible ones, and the GP models it). An objective a trial
left unmeasured (a candidate rejected before training: ``Feedback.unmeasured``) is told as the
median of that objective's measured losses so far, so the GP's model of it is not pulled towards a
stand-in value (TPE and NSGA-II rank such an infeasible trial by its constraint alone). The run's
persistent store is separate: the searcher only ever sees the values it proposed and the feedback
it was told.
"""
from __future__ import annotations

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from .base import Feedback, Searcher, Values


class _OptunaSearcher(Searcher):
    def make_sampler(self):
        raise NotImplementedError

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(directions=["minimize"] * self.n_objectives, sampler=self.make_sampler())
        self.distributions = {c.name: CategoricalDistribution(list(c.options)) for c in self.choices}
        self.pending: dict[str, list] = {}
        self.measured: list[list[float]] = [[] for _ in range(self.n_objectives)]  # losses told, per objective

    def ask(self) -> Values:
        trial = self.study.ask(self.distributions)
        values = dict(trial.params)
        self.pending.setdefault(repr(sorted(values.items(), key=lambda kv: kv[0])), []).append(trial)
        return values

    def tell(self, values: Values, feedback: Feedback) -> None:
        trial = self.pending[repr(sorted(values.items(), key=lambda kv: kv[0]))].pop(0)
        if feedback.failed:
            self.study.tell(trial, state=TrialState.FAIL)
            return
        for key, value in (optuna_constraints(feedback) or {}).items():
            trial.set_constraint(key, value)
        self.study.tell(trial, self._told_losses(feedback))

    def _told_losses(self, feedback: Feedback) -> list[float]:
        losses = list(feedback.losses)
        for i, loss in enumerate(losses):
            if i not in feedback.unmeasured:
                self.measured[i].append(loss)
            elif self.measured[i]:
                losses[i] = float(np.median(self.measured[i]))
        return losses


def optuna_constraints(feedback: Feedback) -> dict[str, float] | None:
    """The run's constraints as optuna takes them (≤ 0 feasible): one signed margin, so a model of
    the constraint sees how much room is left; ``None`` when the run has no constraints."""
    return None if feedback.margin is None else {"constraints": float(feedback.margin)}


class NSGA2(_OptunaSearcher):
    name = "nsga2"
    OPTIONS = {"population": 50, "mutation_prob": None, "crossover_prob": 0.9}

    def check_options(self) -> None:
        self.option("population", 2, 1_000_000)
        self.option("crossover_prob", 0.0, 1.0, integer=False)
        if self.options["mutation_prob"] is not None:
            self.option("mutation_prob", 0.0, 1.0, integer=False)

    def make_sampler(self):
        o = self.options
        return optuna.samplers.NSGAIISampler(population_size=o["population"], mutation_prob=o["mutation_prob"],
                                             crossover_prob=o["crossover_prob"], seed=self.seed)


class TPE(_OptunaSearcher):
    name = "tpe"
    OPTIONS = {"startup_trials": 20}

    def check_options(self) -> None:
        self.option("startup_trials", 1, 1_000_000)

    def make_sampler(self):
        return optuna.samplers.TPESampler(n_startup_trials=self.options["startup_trials"], seed=self.seed,
                                          multivariate=True)


class GaussianProcess(_OptunaSearcher):
    """Gaussian-process Bayesian optimisation (optuna's ``GPSampler``): log expected improvement for
    one objective, log expected hypervolume improvement for several, each multiplied by the GP
    probability of feasibility when the run has constraints. Every choice is categorical (a
    Hamming-distance kernel). Its cost grows with the cube of the trials seen and with the number of
    choices: meant for budgets of hundreds of evaluations over tens of choices (on the 62-choice joint
    space, 100 trials take minutes a seed), not tens of thousands."""

    name = "gp"
    OPTIONS = {"startup_trials": 10, "deterministic": False}

    def check_options(self) -> None:
        self.option("startup_trials", 1, 1_000_000)
        self.flag("deterministic", "whether the evaluator gives the same metrics for the same candidate")

    def make_sampler(self):
        return optuna.samplers.GPSampler(n_startup_trials=self.options["startup_trials"], seed=self.seed,
                                         deterministic_objective=self.options["deterministic"])
