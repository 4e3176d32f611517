"""Collect every problem in a user input before failing: a tiny typed validator with field paths.

Each check returns the converted value, or ``None`` after recording a :class:`Problem`;
:meth:`Checker.raise_if_any` then raises one :class:`ValidationError` listing them all.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import Problem, ValidationError

_SIZE_RE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB|k|M|G)?\s*$")
_SIZE_UNIT = {None: 1, "B": 1, "KiB": 1024, "k": 1024, "MiB": 1024**2, "M": 1024**2, "GiB": 1024**3, "G": 1024**3}


def parse_size_bytes(value: Any) -> int | None:
    """``4096``, ``"4KiB"``, ``"4k"``, ``"2MiB"`` → bytes (binary units); ``None`` when malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if m:
            return int(m.group(1)) * _SIZE_UNIT[m.group(2)]
    return None


def format_size_bytes(n: int) -> str:
    """Canonical short spelling of a byte count: ``512``, ``4k``, ``2M`` (binary units)."""
    for suffix, unit in (("G", 1024**3), ("M", 1024**2), ("k", 1024)):
        if n >= unit and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def human_size_bytes(n: int) -> int | str:
    """A byte count as users write it in YAML: ``512``, ``"64KiB"``, ``"2MiB"``."""
    for suffix, unit in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= unit and n % unit == 0:
            return f"{n // unit}{suffix}"
    return n


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Checker:
    """Validates pieces of one input (``source`` is a file name or a short description)."""

    def __init__(self, source: str = ""):
        self.source = source
        self.problems: list[Problem] = []

    def where(self, path: str) -> str:
        if self.source and path:
            return f"{self.source}:{path}"
        return self.source or path

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.where(path), message))

    @staticmethod
    def leaf(path: str) -> str:
        return path.rsplit(".", 1)[-1] if path else "value"

    def mapping(
        self, data: Any, path: str, required: Iterable[str] = (), optional: Iterable[str] = ()
    ) -> Mapping[str, Any] | None:
        """``data`` must be a mapping with every ``required`` key and no key outside ``required | optional``."""
        name = path or "document"
        if not isinstance(data, Mapping):
            self.fail(path, f"`{name}` must be a mapping, got {type(data).__name__} {_show(data)}")
            return None
        required, optional = list(required), list(optional)
        known = set(required) | set(optional)
        for key in data:
            if key not in known:
                sub = f"{path}.{key}" if path else str(key)
                self.fail(sub, f"unknown key `{key}` (expected one of: {', '.join(sorted(known))})")
        for key in required:
            if key not in data:
                sub = f"{path}.{key}" if path else key
                self.fail(sub, f"missing required key `{key}`")
        return data

    def sequence(self, value: Any, path: str, min_len: int = 1, max_len: int | None = None) -> list | None:
        if not isinstance(value, (list, tuple)):
            self.fail(path, f"`{self.leaf(path)}` must be a list, got {type(value).__name__} {_show(value)}")
            return None
        if len(value) < min_len or (max_len is not None and len(value) > max_len):
            bound = f"at least {min_len}" if max_len is None else f"between {min_len} and {max_len}"
            self.fail(path, f"`{self.leaf(path)}` must have {bound} entries, got {len(value)}")
            return None
        return list(value)

    def integer(self, value: Any, path: str, lo: int, hi: int, power_of_two: bool = False) -> int | None:
        kind = "a power of two" if power_of_two else "an integer"
        ok = isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
        if ok and power_of_two and value & (value - 1):
            ok = False
        if not ok:
            self.fail(path, f"`{self.leaf(path)}` must be {kind} between {lo} and {hi}, got {_show(value)}")
            return None
        return int(value)

    def number(self, value: Any, path: str, lo: float, hi: float, lo_open: bool = False) -> float | None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            v = float(value)
            ok = (lo < v if lo_open else lo <= v) and v <= hi and v == v
        if not ok:
            left = "(" if lo_open else "["
            self.fail(path, f"`{self.leaf(path)}` must be a number in {left}{lo}, {hi}], got {_show(value)}")
            return None
        return float(value)

    def size_bytes(self, value: Any, path: str, lo: int, hi: int) -> int | None:
        n = parse_size_bytes(value)
        if n is None or not lo <= n <= hi:
            self.fail(
                path,
                f"`{self.leaf(path)}` must be a size in bytes between {format_size_bytes(lo)} and "
                f"{format_size_bytes(hi)} (an integer or a string such as '64KiB'), got {_show(value)}",
            )
            return None
        return n

    def choice(self, value: Any, path: str, options: Iterable[Any]) -> Any:
        options = list(options)
        if isinstance(value, bool) or value not in options:
            shown = ", ".join(str(o) for o in options)
            self.fail(path, f"`{self.leaf(path)}` must be one of {shown}, got {_show(value)}")
            return None
        return value

    def boolean(self, value: Any, path: str) -> bool | None:
        if not isinstance(value, bool):
            self.fail(path, f"`{self.leaf(path)}` must be true or false, got {_show(value)}")
            return None
        return value

    def string(self, value: Any, path: str, pattern: str, what: str) -> str | None:
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            self.fail(path, f"`{self.leaf(path)}` must be {what}, got {_show(value)}")
            return None
        return value

    def raise_if_any(self, headline: str | None = None) -> None:
        if self.problems:
            raise ValidationError(self.problems, headline)
