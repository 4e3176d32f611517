"""``Candidate``: the unit of the joint search, one network on one accelerator (trained with one set
of hyperparameters when the search has an ``hp`` part)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .accel import AccelConfig
from .arch import ArchConfig
from .checks import Checker
from .errors import DecodeError, Problem
from .spaces.hp_space import HyperParams

SEPARATOR = "@"
HP_PREFIX = "hp:"


@dataclass(frozen=True)
class Candidate:
    """A (network, accelerator) pair, with training hyperparameters when searched; ``key`` is
    ``<arch string>@<accelerator string>`` (then ``@hp:<field>=<value>,…``)."""

    arch: ArchConfig
    accel: AccelConfig
    hp: HyperParams | None = None

    @property
    def key(self) -> str:
        base = f"{self.arch.to_string()}{SEPARATOR}{self.accel.to_string()}"
        return base if self.hp is None else f"{base}{SEPARATOR}{HP_PREFIX}{self.hp.to_string()}"

    def to_string(self) -> str:
        return self.key

    def __str__(self) -> str:
        return self.key

    @classmethod
    def from_string(cls, text: str) -> Candidate:
        parts = text.strip().split(SEPARATOR) if isinstance(text, str) else []
        if len(parts) not in (2, 3) or (len(parts) == 3 and not parts[2].startswith(HP_PREFIX)):
            raise DecodeError(Problem("candidate string", f"expected `<architecture>{SEPARATOR}<accelerator>` "
                                                          f"(then `{SEPARATOR}{HP_PREFIX}<hyperparameters>`), got {text!r}"))
        hp = HyperParams.from_string(parts[2][len(HP_PREFIX):]) if len(parts) == 3 else None
        return cls(ArchConfig.from_string(parts[0]), AccelConfig.from_string(parts[1]), hp)

    def to_dict(self) -> dict[str, Any]:
        out = {"arch": self.arch.to_string(), "accel": self.accel.to_string()}
        return out if self.hp is None else {**out, "hp": self.hp.to_string()}

    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> Candidate:
        chk = Checker(source)
        m = chk.mapping(data, "", required=("arch", "accel"), optional=("hp",))
        chk.raise_if_any("invalid candidate")
        hp = HyperParams.from_string(m["hp"]) if m.get("hp") else None  # type: ignore[union-attr]
        return cls(ArchConfig.from_string(m["arch"]), AccelConfig.from_string(m["accel"]), hp)  # type: ignore[index]
