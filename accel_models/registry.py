"""Backends register by name; ``evaluate`` dispatches to them."""
from __future__ import annotations

from collections.abc import Callable

from codesign.accel import AccelConfig
from codesign.errors import Problem, ValidationError
from codesign.layer import Layer

from .report import HardwareReport

Backend = Callable[[list[Layer], AccelConfig], HardwareReport]
_BACKENDS: dict[str, Callable[[], Backend]] = {}


def register_backend(name: str):
    """Decorator: ``@register_backend("zigzag")`` on a zero-argument factory returning the evaluate function
    (factories let a backend import its heavy dependency only when used)."""

    def wrap(factory: Callable[[], Backend]) -> Callable[[], Backend]:
        _BACKENDS[name] = factory
        return factory

    return wrap


def backend_names() -> list[str]:
    _load_builtin()
    return sorted(_BACKENDS)


def get_backend(name: str) -> Backend:
    _load_builtin()
    if name not in _BACKENDS:
        raise ValidationError(Problem(f"backend `{name}`", f"unknown cost model backend (known: "
                                                           f"{', '.join(sorted(_BACKENDS))})"))
    return _BACKENDS[name]()


def evaluate(workload: list[Layer], accel: AccelConfig, backend: str = "analytical") -> HardwareReport:
    """Per-layer and total latency (ms), energy (pJ per component, mJ total) and area (mm²)."""
    if not workload:
        raise ValidationError(Problem("workload", "empty workload: nothing to evaluate"))
    return get_backend(backend)(workload, accel)


def _load_builtin() -> None:
    from . import analytical_backend, timeloop_backend, zigzag_backend  # noqa: F401 - they register themselves
