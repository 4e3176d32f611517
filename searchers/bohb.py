"""BOHB (Falkner et al., ICML 2018): Hyperband's successive halving over training epochs, with new
candidates proposed by TPE models (optuna's ``TPESampler``) instead of at random.

Fidelity is training epochs: ``min_epochs`` ≤ rung ≤ ``max_epochs`` (the full budget; a YAML run
defaults it to ``accuracy.train.epochs``), rungs ``max_epochs · eta^-i``. With ``brackets: hyperband``
(the default) brackets cycle as in Hyperband, ``s = s_max … 0`` with ``s_max = ⌊log_eta(max/min)⌋``;
``brackets: successive_halving`` runs only the most aggressive one, ``s = s_max``, every time (the
schedule of ASHA and optuna's ``SuccessiveHalvingPruner``: cheapest, but it trusts the lowest rung's
ranking). Bracket ``s`` starts ``⌈(s_max+1)/(s+1)·eta^s⌉`` candidates at ``max_epochs · eta^-s``
epochs, and each rung promotes the
best ``1/eta`` to the next (best: non-dominated rank over the objectives — hardware metrics are exact
at every rung — feasible before infeasible; within a rank, the most hypervolume added first, as
multi-objective successive halving selects; then the scalar reward). Every evaluation is a trial;
one below ``max_epochs`` is stored as PRUNED with its epochs and metrics (off the front), a candidate
promoted to the next rung is evaluated again there. With the built-in proxy training a rung trains
the first epochs of the full schedule and pauses, and the promoted candidate continues from the
pause (:mod:`codesign.accuracy.rung_checkpoints`), so a candidate that reaches the top rung has cost
``max_epochs`` of training, not the sum of its rungs, and ends exactly as if trained straight through.

With ``untrained_rung: true`` every bracket starts one rung lower, at **0 epochs**: eta times as
many candidates are scored on what is known without training (the cost model's latency, energy and
area, size, measured or predicted latency: the evaluator leaves the accuracy out and says so in
``detail["skipped"]``), ranked on those objectives alone as above, and the best ``1/eta`` go on to
the bracket's first trained rung. On a hardware-aware search that rung costs milliseconds and its
objectives are exact, so every trained candidate has already won a screen on them.

A first-rung candidate the evaluator rejected before training (it breaks a constraint on a metric
known without training, ``Feedback.rejected``) is replaced by a new proposal, so a bracket screens
as many trainable candidates as it starts with.

A new candidate comes from the TPE model of the largest rung holding at least ``min_points``
results (random until one does), as BOHB does; candidates already proposed are not proposed again.
Brackets run concurrently: while a rung waits for results, the next bracket starts, so a batch of
workers stays busy. Proposals depend only on the seed and the results told, so resume replays them.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from codesign.pareto import hypervolume, nondomination_rank
from codesign.protocols import FIDELITY

from .base import Feedback, Searcher, Values, values_key
from .optuna_samplers import optuna_constraints


class BOHB(Searcher):
    name = "bohb"
    MULTI_FIDELITY = True
    OPTIONS = {"min_epochs": 1, "max_epochs": None, "eta": 3, "min_points": 10, "brackets": "hyperband",
               "untrained_rung": False}
    BRACKETS = ("hyperband", "successive_halving")

    def check_options(self) -> None:
        if self.options["max_epochs"] is None:
            self.checker.fail("searcher.max_epochs", "give the full fidelity in epochs (a YAML search defaults it to "
                                                     "accuracy.train.epochs)")
            return
        self.option("max_epochs", 1, 100_000)
        self.option("min_epochs", 1, 100_000)
        self.option("eta", 2, 100)
        self.option("min_points", 1, 100_000)
        if self.options["brackets"] not in self.BRACKETS:
            self.checker.fail("searcher.brackets", f"expected one of {', '.join(self.BRACKETS)}, "
                                                   f"got {self.options['brackets']!r}")
        self.flag("untrained_rung")
        lo, hi = self.options["min_epochs"], self.options["max_epochs"]
        if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
            self.checker.fail("searcher.min_epochs", f"the lowest rung ({lo} epochs) is larger than the full "
                                                     f"budget max_epochs ({hi} epochs)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        o = self.options
        self.full_fidelity = int(o["max_epochs"])
        self.s_max = int(math.floor(math.log(o["max_epochs"] / o["min_epochs"], o["eta"]) + 1e-9))
        self.brackets: list[_Bracket] = []
        self.next_s = self.s_max
        self.asked: dict[tuple, list[_Bracket]] = {}
        self.models: dict[int, _RungModel] = {}
        # the lowest trained rung (the most aggressive bracket's first); its model also learns the constraint
        # from candidates an untrained rung rejected
        self.lowest_trained = self._rungs(self.s_max)[0]

    # ---- ask / tell ----------------------------------------------------------------------------
    def ask(self) -> Values:
        for bracket in self.brackets:
            job = bracket.next_job()
            if job is not None:
                return self._issue(bracket, job)
        bracket = self._new_bracket()
        self.brackets.append(bracket)
        return self._issue(bracket, bracket.next_job())

    def tell(self, values: Values, feedback: Feedback) -> None:
        bracket = self.asked[values_key(values)].pop(0)
        epochs = int(values[FIDELITY])
        candidate = {k: v for k, v in values.items() if k != FIDELITY}
        if epochs > 0:
            self._model(epochs).add(candidate, feedback)
        elif feedback.rejected:  # infeasible at every fidelity: the trained rungs' models learn the constraint
            self._model(self.lowest_trained).add(candidate, feedback)
        bracket.record(candidate, feedback)
        self.brackets = [b for b in self.brackets if not b.done()]

    # ---- helpers -------------------------------------------------------------------------------
    def _issue(self, bracket: _Bracket, job: tuple[Values, int]) -> Values:
        candidate, epochs = job
        values = {**candidate, FIDELITY: epochs}
        self.asked.setdefault(values_key(values), []).append(bracket)
        return values

    def _new_bracket(self) -> _Bracket:
        o, s = self.options, self.next_s
        self.next_s = self.s_max if s == 0 or o["brackets"] == "successive_halving" else s - 1
        n = int(math.ceil((self.s_max + 1) / (s + 1) * o["eta"] ** s))
        rungs = self._rungs(s)
        sizes = [max(1, n // o["eta"] ** i) for i in range(s + 1)]
        if o["untrained_rung"]:  # screen eta times as many on what needs no training first
            n, rungs, sizes = n * o["eta"], [0, *rungs], [n * o["eta"], *sizes]
        return _Bracket([self.fresh(self._propose) for _ in range(n)], rungs, sizes,
                        lambda: self.fresh(self._propose), REJECTED_REFILLS * n)

    def _rungs(self, s: int) -> list[int]:
        """The trained rungs (epochs) of bracket ``s``, lowest first."""
        o = self.options
        return [max(o["min_epochs"], int(round(o["max_epochs"] * o["eta"] ** (i - s)))) for i in range(s + 1)]

    def _propose(self) -> Values:
        ready = [e for e, m in self.models.items() if len(m.results) >= self.options["min_points"]]
        if not ready:
            return self.random_values()
        return self.models[max(ready)].sample()

    def _model(self, epochs: int) -> _RungModel:
        if epochs not in self.models:
            self.models[epochs] = _RungModel(self.choices, self.n_objectives, self.seed + epochs)
        return self.models[epochs]


#: a bracket replaces up to this many times its size of first-rung candidates rejected before training
REJECTED_REFILLS = 10


class _Bracket:
    """One successive-halving bracket: the current rung's queue, its results, promotions. A
    first-rung candidate the evaluator rejected before training (``Feedback.rejected``: it breaks a
    constraint at every fidelity) is replaced by a new proposal (``refill``, at most ``refills``
    times), so the bracket screens the candidates it started with in number, as OFA's search
    resamples candidates that break the efficiency constraint."""

    def __init__(self, first: list[Values], rungs: list[int], sizes: list[int], refill=None, refills: int = 0):
        self.rungs, self.sizes = rungs, sizes
        self.rung = 0
        self.todo: list[Values] = list(first)
        self.issued = 0
        self.results: list[tuple[Values, Feedback]] = []
        self.refill, self.refills = refill, refills

    def next_job(self) -> tuple[Values, int] | None:
        if not self.todo:
            return None
        self.issued += 1
        return self.todo.pop(0), self.rungs[self.rung]

    def record(self, candidate: Values, feedback: Feedback) -> None:
        if feedback.rejected and self.rung == 0 and self.refills > 0 and self.refill is not None:
            self.refills -= 1
            self.issued -= 1
            self.todo.append(self.refill())
            return
        self.results.append((candidate, feedback))
        if self.todo or len(self.results) < self.issued or self.rung + 1 == len(self.rungs):
            return
        order = _best_first(self.results)
        self.rung += 1
        self.todo = [self.results[i][0] for i in order[:self.sizes[self.rung]]]
        self.issued, self.results = 0, []

    def done(self) -> bool:
        return self.rung + 1 == len(self.rungs) and not self.todo and len(self.results) == self.issued


def _best_first(results: list[tuple[Values, Feedback]]) -> list[int]:
    """Indices best first: completed before failed, feasible before infeasible, then the
    non-dominated rank of the losses; within a rank, greedy hypervolume subset selection (each next
    the one that adds the most hypervolume to those of its rank already taken, as multi-objective
    successive halving and optuna's TPE break such ties), then the reward. Losses are relative to
    the objectives' references, so the hypervolume's reference point is the origin."""
    ok = [i for i, (_, f) in enumerate(results) if not f.failed]
    # an objective none of them measured (accuracy on an untrained rung) does not rank them
    unmeasured = set.intersection(*(set(results[i][1].unmeasured) for i in ok)) if ok else set()
    losses = {i: np.array([v for j, v in enumerate(results[i][1].losses) if j not in unmeasured]) for i in ok}
    ranks = dict(zip(ok, nondomination_rank(np.array([losses[i] for i in ok])))) if ok else {}

    def key(i: int) -> tuple:
        f = results[i][1]
        return (0 if f.feasible else 1, int(ranks[i]))

    order: list[int] = []
    for group in sorted({key(i) for i in ok}):
        order += _by_hypervolume_added([i for i in ok if key(i) == group], losses, results)
    return order + [i for i in range(len(results)) if i not in ranks]


def _by_hypervolume_added(members: list[int], losses: dict, results: list[tuple[Values, Feedback]]) -> list[int]:
    """``members`` (one non-dominated rank) in greedy hypervolume subset-selection order, ties (no
    hypervolume added, e.g. beyond the reference) by the reward."""
    taken: list[int] = []
    left = sorted(members, key=lambda i: -(results[i][1].reward if results[i][1].reward is not None else -np.inf))
    while left:
        base = hypervolume(np.array([losses[i] for i in taken])) if taken else 0.0
        gains = [hypervolume(np.array([losses[i] for i in taken + [j]])) - base for j in left]
        best = left[int(np.argmax(gains))]  # the first of equal gains: the better reward
        taken.append(best)
        left.remove(best)
    return taken


class _RungModel:
    """TPE (optuna, multi-objective when there are several) over the results of one rung, with the
    run's constraints as the ``tpe`` searcher has them: each result carries its signed margin, so
    TPE puts feasible results before infeasible ones and learns where the feasible region is."""

    def __init__(self, choices, n_objectives: int, seed: int):
        import optuna
        from optuna.distributions import CategoricalDistribution

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(directions=["minimize"] * n_objectives,
                                         sampler=optuna.samplers.TPESampler(n_startup_trials=0, seed=seed,
                                                                            multivariate=True))
        self.distributions = {c.name: CategoricalDistribution(list(c.options)) for c in choices}
        self.results: list[Any] = []

    def add(self, candidate: Values, feedback: Feedback) -> None:
        import optuna

        if feedback.failed:
            return
        losses = list(feedback.losses)
        self.study.add_trial(optuna.trial.create_trial(params=dict(candidate), distributions=self.distributions,
                                                       values=losses, constraints=optuna_constraints(feedback)))
        self.results.append(losses)

    def sample(self) -> Values:
        from optuna.trial import TrialState

        trial = self.study.ask(self.distributions)
        values = dict(trial.params)
        self.study.tell(trial, state=TrialState.FAIL)  # a proposal, not a result: TPE ignores failed trials
        return values
