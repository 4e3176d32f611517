"""The ask/tell interface every searcher implements, and the registry that builds them by name.

A searcher sees the space only as named categorical choices (``space.choices()``) plus which of
them matter for given values (``space.active(values)``); it proposes *values* (choice name →
option) and is told a :class:`Feedback`. It never evaluates candidates and never touches the store.
Every searcher draws from its own ``numpy.random.Generator`` seeded at construction, so a search
is reproducible from its seed; given the same sequence of tells it proposes the same values.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

import numpy as np

from codesign.checks import Checker
from codesign.errors import Problem, ValidationError
from codesign.plugins import Registry
from codesign.spaces.choice import Choice

Values = dict[str, Any]


class ChoiceSpace(Protocol):
    def choices(self) -> list[Choice]: ...

    def active(self, values: Values) -> list[str]: ...


@dataclass(frozen=True)
class Feedback:
    """Result of one proposal: ``losses`` (each objective in minimisation form, see
    ``Objective.loss``), the scalar ``reward`` (higher is better), feasibility, or ``failed``.
    ``margin`` is the signed constraint value (≤ 0 feasible, see ``Constraint.margin``; ``None``
    when the run has no constraints), for searchers that model the constraint. ``rejected``: the
    evaluator broke a constraint before evaluating the accuracy (``detail["skipped"]``), so the
    candidate is infeasible at every fidelity and cost almost nothing to learn that; ``unmeasured``
    lists the objectives (indices into ``losses``) whose value is then a stand-in, not a measurement
    (a model of that objective should not fit it)."""

    losses: tuple[float, ...] | None
    reward: float | None
    feasible: bool = True
    violation: float = 0.0
    margin: float | None = None
    rejected: bool = False
    unmeasured: tuple[int, ...] = ()

    @property
    def failed(self) -> bool:
        return self.losses is None


class Searcher:
    """Subclasses set ``name``, declare their options in ``OPTIONS`` (name → default) and implement
    ``ask`` and ``tell``; ``check_options`` validates the values with ``self.checker``."""

    name: ClassVar[str] = ""
    OPTIONS: ClassVar[dict[str, Any]] = {}
    #: True for a one-shot searcher whose ``prepare(ctx)`` trains the run's weight-sharing supernet
    #: further (the run then needs the supernet and its data whatever the accuracy fidelity)
    TRAINS_SUPERNET: ClassVar[bool] = False
    #: True for a multi-fidelity searcher: it adds ``codesign.protocols.FIDELITY`` (epochs) to its
    #: proposals and sets ``full_fidelity``; the evaluator must accept ``fidelity=``
    MULTI_FIDELITY: ClassVar[bool] = False

    def __init__(self, space: ChoiceSpace, n_objectives: int, seed: int, options: dict[str, Any] | None = None,
                 source: str = ""):
        self.space = space
        self.choices = space.choices()
        self.n_objectives = n_objectives
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.checker = Checker(source)
        self._proposed: set[tuple] = set()
        opts = dict(options or {})
        unknown = sorted(set(opts) - set(self.OPTIONS))
        for key in unknown:
            self.checker.fail(f"searcher.{key}", f"unknown option `{key}` for searcher {self.name} "
                                                 f"(options: {', '.join(sorted(self.OPTIONS)) or 'none'})")
        self.options = {**self.OPTIONS, **{k: v for k, v in opts.items() if k in self.OPTIONS}}
        self.check_options()
        self.checker.raise_if_any(f"invalid options for searcher {self.name}")

    def check_options(self) -> None:
        """Validate ``self.options`` (record problems on ``self.checker``)."""

    @classmethod
    def option_problems(cls, options: dict[str, Any], source: str = "") -> list[Problem]:
        """What :meth:`check_options` finds wrong with ``options``, without a space or a built
        searcher — so a configuration is refused before anything runs. (A plug-in whose check needs
        more than its options is checked when it is built instead.)"""
        probe = cls.__new__(cls)
        probe.checker = Checker(source)
        probe.options = {**cls.OPTIONS, **{k: v for k, v in options.items() if k in cls.OPTIONS}}
        try:
            probe.check_options()
        except Exception:  # noqa: BLE001 - see the docstring
            return []
        return list(probe.checker.problems)

    def ask(self) -> Values:
        raise NotImplementedError

    def tell(self, values: Values, feedback: Feedback) -> None:
        raise NotImplementedError

    # helpers shared by subclasses -----------------------------------------------------------
    def random_values(self) -> Values:
        return {c.name: c.sample(self.rng) for c in self.choices}

    def fresh(self, propose: Callable[[], Values], tries: int = 100, fallback: Callable[[], Values] | None = None) -> Values:
        """The first of up to ``tries`` calls of ``propose`` (then of ``fallback``, when given) whose
        active values this searcher has not proposed before — the last one when all were: a budget of
        evaluations is not spent twice on one candidate. Replaying the same tells rebuilds the same
        memory, so resume is unaffected."""
        for make in (propose, fallback) if fallback is not None else (propose,):
            for _ in range(tries):
                values = make()
                key = tuple(sorted((name, repr(values[name])) for name in self.space.active(values)))
                if key not in self._proposed:
                    self._proposed.add(key)
                    return values
        return values

    def option(self, key: str, lo: float, hi: float, integer: bool = True) -> None:
        """Validate one numeric option in place."""
        path = f"searcher.{key}"
        value = self.options[key]
        checked = (self.checker.integer(value, path, int(lo), int(hi)) if integer
                   else self.checker.number(value, path, lo, hi))
        if checked is not None:
            self.options[key] = checked

    def flag(self, key: str, meaning: str = "") -> None:
        """Validate one true/false option; ``meaning`` says what it means in the error."""
        value = self.options[key]
        if not isinstance(value, bool):
            self.checker.fail(f"searcher.{key}", f"expected true or false{f' ({meaning})' if meaning else ''}, "
                                                 f"got {value!r}")


def values_key(values: Values) -> tuple:
    """A hashable key of proposed values (every name, option by ``repr``)."""
    return tuple(sorted((k, repr(v)) for k, v in values.items()))


def _load_builtin() -> None:
    from . import registry  # noqa: F401 - registers the built-in searchers


#: every searcher by name: the built-in ones, those registered from Python, and entry points in the
#: group ``codesign.searchers`` (whose value is a :class:`Searcher` subclass)
SEARCHERS = Registry("searcher", "codesign.searchers", _load_builtin)


def register_searcher(name: str, cls: type[Searcher] | None = None):
    """Register a :class:`Searcher` subclass: ``register_searcher("mine", Mine)``, or as a decorator
    on the class (``@register_searcher("mine")``), or on a zero-argument function returning the
    class (how the built-in ones import their dependencies lazily)."""
    if cls is not None:
        SEARCHERS.register(name, cls)
        return cls

    def wrap(obj):
        if isinstance(obj, type):
            SEARCHERS.register(name, obj)
        else:
            SEARCHERS.register(name, lazy=obj)
        return obj

    return wrap


def searcher_names() -> list[str]:
    return SEARCHERS.names()


def searcher_class(name: str, where: str = "searcher.name") -> type[Searcher]:
    cls = SEARCHERS.get(name, where)
    if not (isinstance(cls, type) and all(callable(getattr(cls, m, None)) for m in ("ask", "tell"))):
        raise ValidationError(Problem(where, f"the searcher plug-in `{name}` is {cls!r}, not a class with ask() and tell()"))
    return cls


def multi_fidelity(name: str) -> bool:
    """Whether the registered searcher ``name`` proposes partial-fidelity evaluations (``MULTI_FIDELITY``)."""
    return bool(getattr(searcher_class(name), "MULTI_FIDELITY", False))


def trains_supernet(name: str) -> bool:
    """Whether the registered searcher ``name`` trains the run's supernet (``TRAINS_SUPERNET``)."""
    return bool(getattr(searcher_class(name), "TRAINS_SUPERNET", False))


def make_searcher(name: str, space: ChoiceSpace, n_objectives: int, seed: int, options: dict[str, Any] | None = None,
                  source: str = "") -> Searcher:
    return searcher_class(name)(space, n_objectives, seed, options, source)
