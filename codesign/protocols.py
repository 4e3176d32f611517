"""What the engine asks of a search space and an evaluator (structural protocols: any object with
these methods plugs in, no base class needed).

A **space** is named categorical choices: ``choices()``, which of them matter for given values
(``active(values)``), and ``decode(values)`` → a candidate whose ``to_string()`` is its canonical
key (the trial key in the store). The MBConv × accelerator :class:`~codesign.spaces.JointSpace` and
the plain :class:`~codesign.spaces.CategoricalSpace` both implement it.

An **evaluator** maps a candidate to its metrics: a mapping of metric name → value (every name
declared in the metric registry), or an :class:`Evaluation` that also carries per-stage seconds and
a JSON-able detail record. It must be picklable to run in the process pool or on Ray (a module-level
class or function; load heavy state lazily inside the worker).

**Fidelity.** A multi-fidelity searcher (``bohb``) adds ``FIDELITY`` (training epochs) to the values
it proposes; the engine then calls ``evaluator(candidate, fidelity=epochs)`` — an evaluator that
accepts the keyword trains for that many epochs — and stores an evaluation below the searcher's
``full_fidelity`` as ``PRUNED`` (its metrics kept, off the front), see :class:`AtFidelity`.
``fidelity=0`` (BOHB's ``untrained_rung``) asks for what is known without training: the evaluator
gives a stand-in for each metric that needs training and names those metrics in its detail record,
``detail["skipped"] = {"metrics": [...], "reason": "..."}`` (the protocol an evaluator also uses to
skip training a candidate that already breaks a constraint), so the searcher ranks on the others.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .spaces.choice import Choice

Values = dict[str, Any]


@runtime_checkable
class KeyedCandidate(Protocol):
    def to_string(self) -> str: ...


@runtime_checkable
class SearchSpace(Protocol):
    def choices(self) -> list[Choice]: ...

    def active(self, values: Values) -> list[str]: ...

    def decode(self, values: Values) -> KeyedCandidate: ...


@dataclass
class Evaluation:
    """An evaluator's full answer: ``metrics`` (name → value, units in the names), ``timings_s``
    (seconds per stage, shown in the report) and ``detail`` (any JSON-able record kept in the store,
    e.g. per-backend latencies)."""

    metrics: dict[str, float]
    timings_s: dict[str, float] = field(default_factory=dict)
    detail: dict[str, Any] | None = None


class Evaluator(Protocol):
    def __call__(self, candidate: Any) -> Mapping[str, float] | Evaluation: ...


#: the value a multi-fidelity searcher adds to its proposals: training epochs for this evaluation
FIDELITY = "fidelity"


@dataclass(frozen=True)
class AtFidelity:
    """``evaluator`` called at ``fidelity`` (picklable, so it travels to pool and Ray workers)."""

    evaluator: Any
    fidelity: int

    def __call__(self, candidate: Any) -> Mapping[str, float] | Evaluation:
        return self.evaluator(candidate, fidelity=self.fidelity)
