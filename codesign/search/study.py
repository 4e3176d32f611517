"""The engine: a :class:`Study` asks a searcher for values, decodes them in a space, has an evaluator
score the candidates (inline, in a process pool or on Ray), turns the metrics into losses and a
reward, tells the searcher, and records every trial in the store, in batches, until the trial or
wall-time budget is spent.

It takes objects (any space, evaluator, objectives, searcher); the YAML configuration is one factory
of them (:func:`codesign.search.loop.run_search`)::

    study = Study(space, evaluator, ["accuracy", "latency_ms"], searcher="evolution", run_dir="runs/mine")
    study.optimize(trials=200)
    study.front()

Resuming replays the searcher from its seed: for every index the store already settled, the stored
result is told instead of evaluating again, so a resumed deterministic search proposes exactly the
trials an uninterrupted one would, and the budget counts every settled trial once. A new ``Study``
on the same run directory (or storage and name) resumes; so does a second ``optimize`` call with a
larger budget.
"""
from __future__ import annotations

import contextlib

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from searchers.base import Feedback, make_searcher

from ..errors import CodesignError, Problem, ValidationError
from ..protocols import FIDELITY, AtFidelity
from ..metric_registry import BUILTIN_METRICS, is_metric, metric
from ..pareto import pareto_mask
from ..run import Run, TrialRecord, front_of, hypervolume_of, settled_by_index
from .executors import make_executor
from .isolation import failed
from .objectives import Constraint, Objective, Scoring, constraint_margin, objective
from .store import TrialStore, open_run_store

#: a search whose first trials (this many, or its whole budget) all failed with one reason stops
FAIL_FAST_TRIALS = 4
#: trials whose evaluations took less than this (seconds, the last batch's slowest) are written to
#: the store once, when they finish; slower ones are first marked RUNNING, so a killed search shows them
RUNNING_MARK_S = 0.25


class SearchAborted(CodesignError):
    """Every trial so far failed for the same reason: running more would only repeat it."""


@dataclass(frozen=True)
class Phase:
    """A part of the budget searched in its own space: ``share`` of the trials (the last phase takes
    the rest), ``space(study)`` builds the space from the study so far (``None``: the study's)."""

    name: str
    share: float = 1.0
    space: Callable[[Study], Any] | None = None


class Study:
    """A search of ``space`` scored by ``evaluator`` on ``objectives`` (metric names, dicts or
    :class:`Objective` s). ``searcher``: a registered name, a ``Searcher`` subclass, or a factory
    ``(space, n_objectives, seed) -> object with ask() and tell()``. ``run_dir`` holds the store
    (``study.db``); ``storage`` (an SQLAlchemy URL) replaces it; with neither, trials live in memory."""

    def __init__(self, space: Any, evaluator: Any, objectives: Sequence[str | dict | Objective],
                 searcher: Any = "random", *, run_dir: str | Path | None = None, storage: str | None = None,
                 name: str = "search", constraints: Sequence[Constraint] = (), reward: Callable | None = None,
                 seed: int = 0, batch: int = 8, searcher_options: dict[str, Any] | None = None,
                 phases: Sequence[Phase] | None = None, prepare_searcher: Callable | None = None, source: str = ""):
        objs = tuple(objective(o, where=f"objectives[{i}]") for i, o in enumerate(objectives))
        if not objs:
            raise ValidationError(Problem("objectives", "give at least one objective"))
        self.space, self.evaluator, self.searcher = space, evaluator, searcher
        self.scoring = Scoring(objs, tuple(constraints), reward)
        self.name, self.seed, self.batch, self.source = name, seed, batch, source
        self.searcher_options = dict(searcher_options or {})
        self.phases = list(phases or [Phase("joint")])
        self.prepare_searcher = prepare_searcher
        self.run = Run(run_dir, storage, name) if run_dir is not None or storage is not None else None
        self.records: list[TrialRecord] = []
        self._front = _Front()
        self._full_fidelity = None  # the phase searcher's full fidelity (epochs), when it is multi-fidelity
        self._slowest_s = math.inf  # seconds of the last batch's slowest evaluation (none yet: mark RUNNING)
        self.config = None  # the SearchConfig this study was built from, when it was
        self.last_searcher = None  # the searcher object of the last phase run
        self._store = None

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return self.scoring.objectives

    @property
    def store(self):
        if self._store is None:
            directions = [o.direction for o in self.objectives]
            self._store = (open_run_store(self.run, directions) if self.run is not None
                           else TrialStore("memory://", self.name, directions))
            self._store.set_info("run_info", self.run_info())
        return self._store

    def run_info(self) -> dict[str, Any]:
        """What a reader of the store needs without the code that made it."""
        return {"name": self.name, "objectives": [o.to_dict() for o in self.objectives],
                "constraints": [c.to_dict() for c in self.scoring.constraints],
                "space": getattr(self.space, "name", type(self.space).__name__),
                "evaluator": type(self.evaluator).__name__, "searcher": _searcher_label(self.searcher),
                "seed": self.seed, "phases": [p.name for p in self.phases],
                "metrics": [metric(m).to_dict() for m in self.scoring.metrics if m not in BUILTIN_METRICS]}

    # ---- reading ---------------------------------------------------------------------------------
    def trials(self) -> list[TrialRecord]:
        """Every stored trial (failed and interrupted ones included), scored on the objectives."""
        return [self._scored(t) for t in self.store.trials()]

    def front(self) -> list[TrialRecord]:
        """The feasible, non-dominated trials of the last ``optimize`` (or of the store)."""
        if self.records:
            return self._front.records()
        return front_of([t for t in self.trials() if t.settled])

    def hypervolume(self, front: list[TrialRecord] | None = None) -> float:
        return hypervolume_of(self.front() if front is None else front)

    # ---- the loop --------------------------------------------------------------------------------
    def optimize(self, trials: int, wall_time_s: float | None = None, executor: Any = "inline",
                 progress: bool = False) -> list[TrialRecord]:
        """Run until ``trials`` trials are settled in the store (those already there count) or
        ``wall_time_s`` seconds of search (over every call) have passed; returns the settled trials
        in searcher order."""
        store = self.store
        store.claim_driver()  # before touching trials: a live second driver is refused here
        self._budget = trials
        store.set_info("budget_trials", trials)
        done = settled_by_index(store.mark_interrupted(store.trials()))
        self.records, self._front = [], _Front()
        elapsed_before, start = float(store.info("elapsed_s", 0.0)), time.perf_counter()
        exe = make_executor(executor)
        bar = tqdm(total=trials, desc=f"search {self.name}", disable=not progress, unit="trial")
        clock = _Clock(wall_time_s, elapsed_before, start)
        try:
            index = 0
            for p, (phase, budget) in enumerate(zip(self.phases, _split(trials, self.phases))):
                space = phase.space(self) if phase.space is not None else self.space
                searcher = self._make_searcher(space, p, progress)
                index, stopped = self._run_phase(searcher, space, phase.name, index, index + budget, done, exe, bar, clock)
                if stopped:
                    break
        finally:
            bar.close()
            exe.close()
            with contextlib.suppress(CodesignError):  # a lost store connection is already being reported
                store.set_info("elapsed_s", elapsed_before + time.perf_counter() - start)
                store.release_driver()
        return self.records

    def _run_phase(self, searcher, space, phase: str, index: int, end: int, done: dict[int, TrialRecord],
                   exe, bar, clock: _Clock) -> tuple[int, bool]:
        self._full_fidelity = getattr(searcher, "full_fidelity", None)
        while index < end:
            if clock.out():
                return index, True
            n = min(self.batch, end - index)
            values = [searcher.ask() for _ in range(n)]
            cands = [_decode(space, v) for v in values]
            records = self._settle(exe, index, phase, values, cands, done, bar)
            for v, r in zip(values, records):
                searcher.tell(v, self._feedback(r))
            self.records.extend(records)
            self._front.add(records)
            self._stop_if_every_trial_fails_alike()
            index += n
            clock.save(self.store)
            if not bar.disable:
                front = self._front.records()
                bar.set_postfix(front=len(front), hv=f"{self.hypervolume(front):.4g}", refresh=False)
        return index, False

    def _settle(self, exe, first: int, phase: str, values: list[dict], cands: list[tuple[Any, str, str | None]],
                done: dict[int, TrialRecord], bar) -> list[TrialRecord]:
        """Records of one batch: stored ones replayed, the others evaluated and stored as they finish."""
        out: dict[int, TrialRecord] = {}
        todo = []
        for j, (_, key, _) in enumerate(cands):
            stored = done.get(first + j)
            if stored is None:
                todo.append(j)
                continue
            if stored.candidate != key:
                where = str(self.run.dir) if self.run else self.name
                raise ValidationError(Problem(where, f"trial {first + j} in the store is {stored.candidate}, but the "
                                                     f"searcher now proposes {key}: the store belongs to a different "
                                                     "configuration or seed"))
            out[j] = self._scored(stored)
            bar.update(1)
        mark = self._slowest_s >= RUNNING_MARK_S
        numbers = {j: self.store.start(first + j, phase, cands[j][1], values[j]) for j in todo} if mark else {}
        tasks, pending = [], []
        for j in todo:
            cand, key, decode_error = cands[j]
            if decode_error is not None:
                out[j] = self._finish(numbers.get(j), TrialRecord(first + j, key, phase, values[j]), failed(decode_error))
                bar.update(1)
            else:
                fidelity = values[j].get(FIDELITY)
                tasks.append((self.evaluator if fidelity is None else AtFidelity(self.evaluator, int(fidelity)), cand, key))
                pending.append(j)

        def on_done(k: int, result: dict[str, Any]) -> None:
            j = pending[k]
            out[j] = self._finish(numbers.get(j), TrialRecord(first + j, cands[j][1], phase, values[j]), result)
            bar.update(1)

        if tasks:
            start = time.perf_counter()
            exe.run(tasks, on_done)
            per_task = (time.perf_counter() - start) / len(tasks)  # a timed-out or killed task reports no timings
            self._slowest_s = max([per_task] + [sum(out[j].timings_s.values()) for j in pending])
        return [out[j] for j in range(len(cands))]

    def _finish(self, number: int | None, rec: TrialRecord, result: dict[str, Any]) -> TrialRecord:
        rec.timings_s = dict(result.get("timings_s") or {})
        rec.detail = result.get("metrics")
        rec.error = result.get("error")
        flat = result.get("flat")
        if rec.error is None:
            rec.error = self._check_metrics(flat)
        rec.metrics = None if rec.error else {k: float(v) for k, v in flat.items()}
        rec = self._scored(rec)
        fidelity, full = rec.values.get(FIDELITY), self._full_fidelity
        pruned_at = int(fidelity) if fidelity is not None and full is not None and fidelity < full else None
        rec.state = "FAIL" if rec.metrics is None else "PRUNED" if pruned_at is not None else "COMPLETE"
        objective_values = [rec.metrics[o.metric] for o in self.objectives] if rec.metrics is not None else None
        if number is None:
            self.store.add(rec, objective_values, pruned_at)  # its number is known once read back from the store
        else:
            rec.number = number
            self.store.finish(number, rec.result(), objective_values, pruned_at)
        return rec

    def _check_metrics(self, flat: Any) -> str | None:
        """Why an evaluator's answer cannot be used (``None`` if it can)."""
        if not isinstance(flat, dict):
            return f"the evaluator returned {type(flat).__name__}, expected a mapping of metric name to value"
        for name, value in flat.items():
            if not is_metric(name):
                return (f"the evaluator returned metric `{name}`, which is not declared (register it with "
                        "codesign.register_metric(MetricSpec(...)) before the run)")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
                return f"the evaluator returned a non-finite or non-numeric value for `{name}`: {value!r}"
        missing = [o.metric for o in self.objectives if o.metric not in flat]
        if missing:
            return f"the evaluator returned no value for objective metric(s) {', '.join(missing)} (got {sorted(flat)})"
        return None

    def _scored(self, rec: TrialRecord) -> TrialRecord:
        """``rec`` with its losses, violation and reward from the objectives (failed if it lacks one)."""
        if rec.metrics is None:
            rec.losses, rec.violation, rec.reward = None, 0.0, None
            return rec
        try:
            rec.losses, rec.violation, rec.reward = self.scoring.score(rec.metrics)
        except KeyError as exc:
            rec.metrics, rec.losses, rec.reward = None, None, None
            rec.error = rec.error or f"no value for objective metric {exc}"
        return rec

    def _feedback(self, rec: TrialRecord) -> Feedback:
        margin = (constraint_margin(rec.metrics, list(self.scoring.constraints))
                  if rec.metrics is not None else None)
        feasible = rec.metrics is not None and rec.violation == 0.0  # a pruned (partial-fidelity) trial too
        skipped = rec.skipped
        rejected = not feasible and bool(skipped)
        unmeasured = tuple(i for i, o in enumerate(self.objectives) if o.metric in skipped.get("metrics", ()))
        return Feedback(rec.losses, rec.reward, feasible, rec.violation, margin, rejected, unmeasured)

    def _make_searcher(self, space, phase_no: int, progress: bool):
        seed = self.seed + 1000 * phase_no
        s = self.searcher
        if isinstance(s, str):
            searcher = make_searcher(s, space, len(self.objectives), seed, self.searcher_options, self.source)
        elif isinstance(s, type):
            searcher = s(space, len(self.objectives), seed, self.searcher_options, self.source)
        else:
            searcher = s(space, len(self.objectives), seed)
        if self.prepare_searcher is not None and hasattr(searcher, "prepare"):
            self.prepare_searcher(searcher, space, progress)
        if getattr(searcher, "full_fidelity", None) is not None and not _accepts_fidelity(self.evaluator):
            raise ValidationError(Problem("evaluator", f"the searcher {_searcher_label(self.searcher)} evaluates "
                                                       "candidates at several fidelities, but the evaluator "
                                                       f"{type(self.evaluator).__name__} takes no `fidelity` keyword "
                                                       "(epochs to train for)"))
        self.last_searcher = searcher  # what it learned (a one-shot searcher's history) stays readable
        return searcher

    def _stop_if_every_trial_fails_alike(self) -> None:
        done = self.records
        if len(done) < min(FAIL_FAST_TRIALS, self._budget) or any(not r.failed for r in done):
            return
        reasons = {r.error for r in done}
        if len(reasons) == 1:
            where = self.run.dir if self.run else "the in-memory store"
            raise SearchAborted(f"the first {len(done)} trials all failed with the same error, so the search "
                                f"stopped: {reasons.pop()}\n(the failed trials are kept in {where}; fix the cause "
                                "and start a new run)")


class _Clock:
    """Search seconds over every call (``elapsed_s`` in the store, written at most every
    ``SAVE_EVERY_S`` seconds and when the call ends, so a killed search loses at most that much)."""

    SAVE_EVERY_S = 2.0

    def __init__(self, limit_s: float | None, before_s: float, start: float):
        self.limit_s, self.before_s, self.start = limit_s, before_s, start
        self.saved = time.perf_counter()

    def save(self, store) -> None:
        if time.perf_counter() - self.saved >= self.SAVE_EVERY_S:
            store.set_info("elapsed_s", self.elapsed())
            self.saved = time.perf_counter()

    def elapsed(self) -> float:
        return self.before_s + time.perf_counter() - self.start

    def out(self) -> bool:
        return bool(self.limit_s) and self.elapsed() > self.limit_s


class _Front:
    """The running front, grouped by loss vector: records with equal losses share one verdict, so
    adding a batch costs the number of distinct front points, not the number of records on it."""

    def __init__(self) -> None:
        self.groups: dict[tuple, list[TrialRecord]] = {}

    def add(self, records: list[TrialRecord]) -> None:
        fresh: dict[tuple, list[TrialRecord]] = {}
        for r in records:
            if r.feasible and r.losses is not None:
                key = tuple(r.losses)
                (self.groups if key in self.groups else fresh).setdefault(key, []).append(r)
        if fresh:
            groups = {**self.groups, **fresh}
            mask = pareto_mask(np.array(list(groups)))
            self.groups = {k: g for (k, g), on_front in zip(groups.items(), mask) if on_front}

    def records(self) -> list[TrialRecord]:
        return [r for group in self.groups.values() for r in group]


def _split(trials: int, phases: list[Phase]) -> list[int]:
    """Trials per phase: ``int(trials * share)`` each, the last phase the rest."""
    counts = [int(trials * p.share) for p in phases[:-1]]
    return counts + [trials - sum(counts)]


def _accepts_fidelity(evaluator: Any) -> bool:
    import inspect

    try:
        params = inspect.signature(evaluator).parameters
    except (TypeError, ValueError):
        return True  # a callable without a readable signature: let the call say
    return "fidelity" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _decode(space, values: dict[str, Any]) -> tuple[Any, str, str | None]:
    """(candidate, key, None), or (None, a key made of the values, why decoding failed)."""
    try:
        cand = space.decode({k: v for k, v in values.items() if k != FIDELITY})
        return cand, cand.to_string(), None
    except Exception as exc:  # noqa: BLE001 - a space's decode may raise anything; the trial fails, the search goes on
        key = "undecodable:" + ",".join(f"{k}={v}" for k, v in values.items())
        return None, key, f"decode failed: {type(exc).__name__}: {exc}"




def _searcher_label(searcher: Any) -> str:
    return searcher if isinstance(searcher, str) else getattr(searcher, "name", None) or getattr(
        searcher, "__name__", type(searcher).__name__)
