"""Joint space = architecture space × hardware space, flattened to named categorical choices.

Names are prefixed ``arch.``, ``hw.`` and, when training hyperparameters are searched too (see
:mod:`codesign.spaces.hp_space`), ``hp.``; every searcher sees the same list of :class:`Choice` s
and the same encodings (a dict of values, or a vector of option indices).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..candidate import Candidate
from ..errors import Problem, ValidationError
from .arch_space import ArchSpace
from .choice import Choice, mutate_values
from .hp_space import HpSpace
from .hw_space import HwSpace


@dataclass(frozen=True)
class JointSpace:
    arch: ArchSpace
    hw: HwSpace
    hp: HpSpace | None = None

    @classmethod
    def default(cls) -> JointSpace:
        return cls(ArchSpace.default(), HwSpace.default())

    def choices(self) -> list[Choice]:
        """Every decision (≥ 2 options), architecture first."""
        return list(self._choices)

    @cached_property
    def _choices(self) -> tuple[Choice, ...]:  # a frozen space's decisions: built once (asked per trial)
        return tuple([Choice(f"arch.{c.name}", c.options) for c in self.arch.choices()]
                     + [Choice(f"hw.{c.name}", c.options) for c in self.hw.choices()]
                     + ([Choice(f"hp.{c.name}", c.options) for c in self.hp.choices()] if self.hp is not None else []))

    def decode(self, values: dict[str, Any]) -> Candidate:
        arch = {k[5:]: v for k, v in values.items() if k.startswith("arch.")}
        hw = {k[3:]: v for k, v in values.items() if k.startswith("hw.")}
        hp = self.hp.decode({k[3:]: v for k, v in values.items() if k.startswith("hp.")}) if self.hp is not None else None
        return Candidate(self.arch.decode(arch), self.hw.decode(hw), hp)

    def encode(self, cand: Candidate) -> dict[str, Any]:
        """Candidate → values of :meth:`choices` (inactive blocks take their first option)."""
        parts = {"arch": self.arch.encode(cand.arch), "hw": self.hw.encode(cand.accel)}
        if self.hp is not None:
            parts["hp"] = self.hp.encode(cand.hp) if cand.hp is not None else {}
        return {c.name: parts[c.name.split(".")[0]].get(c.name.split(".", 1)[1], c.options[0]) for c in self.choices()}

    def to_vector(self, cand: Candidate) -> list[int]:
        values = self.encode(cand)
        return [c.index(values[c.name]) for c in self.choices()]

    def from_vector(self, vector: list[int]) -> Candidate:
        choices = self.choices()
        if len(vector) != len(choices) or any(not 0 <= int(i) < len(c.options) for i, c in zip(vector, choices)):
            raise ValidationError(Problem("choice vector", f"expected {len(choices)} option indices within each "
                                                           f"choice's range, got {list(vector)}"))
        return self.decode({c.name: c.options[int(i)] for i, c in zip(vector, choices)})

    def active(self, values: dict[str, Any]) -> list[str]:
        """Decisions that change the candidate for these values (blocks past a stage's depth do not)."""
        arch_active = self.arch.active({k[5:]: v for k, v in values.items() if k.startswith("arch.")})
        return [c.name for c in self.choices() if not c.name.startswith("arch.") or c.name[5:] in arch_active]

    def sample_values(self, rng: np.random.Generator) -> dict[str, Any]:
        return {c.name: c.sample(rng) for c in self.choices()}

    def sample(self, rng: np.random.Generator) -> Candidate:
        return self.decode(self.sample_values(rng))

    def mutate(self, cand: Candidate, rng: np.random.Generator) -> Candidate:
        """Change exactly one active decision to another of its options (see :func:`mutate_values`)."""
        values = self.encode(cand)
        return self.decode(mutate_values(self.choices(), self.active(values), values, rng))

    def log10_size(self) -> float:
        return self.arch.log10_size() + self.hw.log10_size() + (self.hp.log10_size() if self.hp is not None else 0.0)
