"""One registry type for every extension point: searchers, cost-model backends, metrics and spaces.

A name resolves, in order, to what was registered from Python (``register_searcher``,
``register_backend``, ``register_metric``, ``register_space``), then to an installed package's
entry point in the registry's group (``codesign.searchers``, ``codesign.backends``,
``codesign.metrics``, ``codesign.spaces``), so outside code plugs in without editing this package::

    # pyproject.toml of a user's package
    [project.entry-points."codesign.searchers"]
    annealing = "my_pkg.annealing:Annealing"

Registered values are loaded lazily (a built-in registers a zero-argument loader, so its heavy
dependencies import only when it is used); an entry point is loaded the first time it is asked for.
"""
from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
import sys
from typing import Any

from .errors import Problem, ValidationError


class Registry:
    """Names → plug-ins of one kind. ``builtins`` is called once, before the first lookup, to
    register the package's own plug-ins (it imports the modules that do so)."""

    def __init__(self, kind: str, group: str, builtins: Callable[[], None] | None = None, noun: str | None = None):
        self.kind = kind
        self.noun = noun or kind  # how messages name one (``cost model backend``)
        self.group = group
        self._builtins = builtins
        self._loaders: dict[str, Callable[[], Any]] = {}
        self._loaded: dict[str, Any] = {}

    def register(self, name: str, value: Any = None, *, lazy: Callable[[], Any] | None = None) -> None:
        """Register ``value`` (or a zero-argument ``lazy`` loader of it) under ``name``; registering
        a name again replaces it."""
        if not isinstance(name, str) or not name:
            raise ValidationError(Problem(f"{self.kind} name", f"expected a non-empty string, got {name!r}"))
        self._loaders[name] = lazy if lazy is not None else (lambda: value)
        self._loaded.pop(name, None)

    def unregister(self, name: str) -> None:
        self._loaders.pop(name, None)
        self._loaded.pop(name, None)

    def names(self) -> list[str]:
        """Registered and entry-point names, sorted."""
        self._load_builtins()
        return sorted(set(self._loaders) | set(_entry_points(self.group)))

    def __contains__(self, name: str) -> bool:
        self._load_builtins()
        return name in self._loaders or name in _entry_points(self.group)

    def get(self, name: str, where: str | None = None) -> Any:
        """The plug-in ``name``; an unknown name is a :class:`ValidationError` at ``where`` (a
        configuration field such as ``quickstart.yaml:searcher.name``) listing the known names."""
        self._load_builtins()
        if name in self._loaded:
            return self._loaded[name]
        loader = self._loaders.get(name)
        if loader is None:
            ep = _entry_points(self.group).get(name)
            if ep is None:
                raise ValidationError(Problem(where or f"{self.kind} `{name}`", self.unknown(name)))
            loader = _entry_point_loader(self.kind, self.group, ep)
        value = self._loaded[name] = loader()
        return value

    def unknown(self, name: Any) -> str:
        """What to tell a user who named a plug-in that is not there."""
        return (f"unknown {self.noun} `{name}` (known: {', '.join(self.names())}; plug one in with "
                f"register_{self.kind.replace(' ', '_')}() or an entry point in the group `{self.group}`)")

    def check_name(self, chk: Any, value: Any, path: str) -> str | None:
        """``value`` if it names a plug-in, else ``None`` with the problem recorded on the
        :class:`~codesign.checks.Checker` ``chk`` at ``path``."""
        if not isinstance(value, str) or value not in self.names():
            chk.fail(path, self.unknown(value))
            return None
        return value

    def _load_builtins(self) -> None:
        if self._builtins is not None:
            load, self._builtins = self._builtins, None
            load()


_ENTRY_POINTS: dict[tuple[str, tuple[str, ...]], dict[str, metadata.EntryPoint]] = {}


def _entry_points(group: str) -> dict[str, metadata.EntryPoint]:
    """The group's entry points, read once per ``sys.path`` (reading them scans every installed
    distribution: milliseconds, and a report asks whether thousands of names are metrics)."""
    key = (group, tuple(sys.path))
    if key not in _ENTRY_POINTS:
        _ENTRY_POINTS[key] = {ep.name: ep for ep in metadata.entry_points(group=group)}
    return _ENTRY_POINTS[key]


def _entry_point_loader(kind: str, group: str, ep: metadata.EntryPoint) -> Callable[[], Any]:
    def load() -> Any:
        try:
            return ep.load()
        except Exception as exc:  # noqa: BLE001 - any import error of a third-party plug-in
            raise ValidationError(Problem(f"entry point {group}:{ep.name}",
                                          f"the {kind} `{ep.name}` = {ep.value} could not be loaded "
                                          f"({type(exc).__name__}: {exc})")) from None

    return load
