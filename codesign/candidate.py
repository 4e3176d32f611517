"""``Candidate``: the unit of the joint search, one network on one accelerator."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .accel import AccelConfig
from .arch import ArchConfig
from .checks import Checker
from .errors import DecodeError, Problem

SEPARATOR = "@"


@dataclass(frozen=True)
class Candidate:
    """A (network, accelerator) pair; ``key`` is ``<arch string>@<accelerator string>``."""

    arch: ArchConfig
    accel: AccelConfig

    @property
    def key(self) -> str:
        return f"{self.arch.to_string()}{SEPARATOR}{self.accel.to_string()}"

    def to_string(self) -> str:
        return self.key

    def __str__(self) -> str:
        return self.key

    @classmethod
    def from_string(cls, text: str) -> Candidate:
        if not isinstance(text, str) or text.count(SEPARATOR) != 1:
            raise DecodeError(Problem("candidate string",
                                      f"expected `<architecture>{SEPARATOR}<accelerator>`, got {text!r}"))
        arch, accel = text.strip().split(SEPARATOR)
        return cls(ArchConfig.from_string(arch), AccelConfig.from_string(accel))

    def to_dict(self) -> dict[str, Any]:
        return {"arch": self.arch.to_string(), "accel": self.accel.to_string()}

    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> Candidate:
        chk = Checker(source)
        m = chk.mapping(data, "", required=("arch", "accel"))
        chk.raise_if_any("invalid candidate")
        return cls(ArchConfig.from_string(m["arch"]), AccelConfig.from_string(m["accel"]))  # type: ignore[index]
