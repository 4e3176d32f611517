"""Backends register by name; ``evaluate`` dispatches to them."""
from __future__ import annotations

from collections.abc import Callable

from codesign.accel import AccelConfig
from codesign.errors import Problem, ValidationError
from codesign.plugins import Registry
from codesign.layer import Layer

from .report import HardwareReport

Backend = Callable[[list[Layer], AccelConfig], HardwareReport]


#: every cost-model backend by name: built-in, registered from Python, or an entry point in the group
#: ``codesign.backends`` whose value is an evaluate function ``(workload, accel) -> HardwareReport``
BACKENDS = Registry("backend", "codesign.backends", lambda: _load_builtin(), noun="cost model backend")


def register_backend(name: str, evaluate_fn: Backend | None = None):
    """Register a cost model: ``register_backend("mine", evaluate_fn)``, or as a decorator on a
    zero-argument factory returning the evaluate function (so a backend imports its heavy
    dependency only when used). The function must be importable by name (module level) for the
    process pool and Ray to run it."""
    if evaluate_fn is not None:
        BACKENDS.register(name, evaluate_fn)
        return evaluate_fn

    def wrap(factory: Callable[[], Backend]) -> Callable[[], Backend]:
        BACKENDS.register(name, lazy=factory)
        return factory

    return wrap


def backend_names() -> list[str]:
    return BACKENDS.names()


def get_backend(name: str, where: str | None = None) -> Backend:
    fn = BACKENDS.get(name, where or f"backend `{name}`")
    if not callable(fn):
        raise ValidationError(Problem(where or f"backend `{name}`", f"the backend plug-in `{name}` is not callable"))
    return fn


def evaluate(workload: list[Layer], accel: AccelConfig, backend: str = "analytical") -> HardwareReport:
    """Per-layer and total latency (ms), energy (pJ per component, mJ total) and area (mm²)."""
    if not workload:
        raise ValidationError(Problem("workload", "empty workload: nothing to evaluate"))
    return get_backend(backend)(workload, accel)


def _load_builtin() -> None:
    from . import analytical_backend, timeloop_backend, zigzag_backend  # noqa: F401 - they register themselves
