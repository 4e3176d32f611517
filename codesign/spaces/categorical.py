"""A plain categorical space: named choices and nothing else (a tabular benchmark such as
NAS-Bench-201, a hyper-parameter grid, a user's own encoding). Every choice is always active; a
candidate is its values, keyed ``name=value,name=value`` in the choices' order."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import DecodeError, Problem
from .choice import Choice


@dataclass(frozen=True)
class ChoiceValues:
    """One point of a :class:`CategoricalSpace`: ``items`` is ((name, value), …) in the space's order."""

    items: tuple[tuple[str, Any], ...]

    def __getitem__(self, name: str) -> Any:
        return dict(self.items)[name]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.items)

    def to_string(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.items)


class CategoricalSpace:
    """``CategoricalSpace({"Op0": ["none", "skip_connect", ...], ...})``."""

    def __init__(self, choices: Mapping[str, Sequence[Any]], name: str = "categorical"):
        self.name = name
        self._choices = [Choice(str(k), tuple(v)) for k, v in choices.items()]
        for c in self._choices:
            if not c.options or len(set(c.options)) != len(c.options):
                raise DecodeError(Problem(f"choice {c.name}", f"needs distinct options, got {list(c.options)}"))

    def choices(self) -> list[Choice]:
        return list(self._choices)

    def active(self, values: dict[str, Any]) -> list[str]:
        return [c.name for c in self._choices]

    def decode(self, values: dict[str, Any]) -> ChoiceValues:
        out = []
        for c in self._choices:
            if c.name not in values:
                raise DecodeError(Problem(f"choice {c.name}", "no value given"))
            if values[c.name] not in c.options:
                raise DecodeError(Problem(f"choice {c.name}", f"no option {values[c.name]!r} (options: {list(c.options)})"))
            out.append((c.name, values[c.name]))
        return ChoiceValues(tuple(out))

    def log10_size(self) -> float:
        import math

        return sum(math.log10(len(c.options)) for c in self._choices)
