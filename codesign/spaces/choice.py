"""A named categorical choice: the one encoding every searcher sees."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checks import Checker


@dataclass(frozen=True)
class Choice:
    """One decision of a search space: ``name`` (e.g. ``arch.s2.b0.kernel``) and its ``options``."""

    name: str
    options: tuple[Any, ...]

    def sample(self, rng: np.random.Generator) -> Any:
        """One option, uniformly (one ``rng.integers`` draw)."""
        return self.options[int(rng.integers(len(self.options)))]

    def index(self, value: Any) -> int:
        return self.options.index(value)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "options": list(self.options)}


def mutate_values(choices: list[Choice], active: list[str], values: dict[str, Any],
                  rng: np.random.Generator) -> dict[str, Any]:
    """``values`` with exactly one ``active`` choice changed to another of its options. The choice's
    part of the space (``arch.``, ``hw.``, …: the prefix of its name) is drawn uniformly first, so
    the seven accelerator choices mutate as often as the ~hundred network choices together."""
    child = dict(values)
    options = {c.name: c.options for c in choices}
    active = [n for n in active if len(options[n]) > 1]
    parts = sorted({n.split(".")[0] for n in active})
    part = parts[int(rng.integers(len(parts)))]
    active = [n for n in active if n.split(".")[0] == part]
    name = active[int(rng.integers(len(active)))]
    others = [o for o in options[name] if o != child[name]]
    child[name] = others[int(rng.integers(len(others)))]
    return child


def options_field(chk: Checker, value: Any, path: str, check_one: Callable[[Any, str], Any]) -> tuple | None:
    """A space field given as one value (fixed) or a non-empty list of distinct values (a choice)."""
    raw = value if isinstance(value, list) else [value]
    if not raw:
        chk.fail(path, f"`{chk.leaf(path)}` must be a value or a non-empty list of values, got []")
        return None
    n = len(chk.problems)
    out = [check_one(v, f"{path}[{i}]" if isinstance(value, list) else path) for i, v in enumerate(raw)]
    if len(chk.problems) > n:
        return None
    if len(set(out)) != len(out):
        chk.fail(path, f"`{chk.leaf(path)}` lists a value twice: {raw}")
        return None
    return tuple(out)
