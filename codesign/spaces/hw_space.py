"""The hardware search space (NAHAS-like): one value or a list of options per ``AccelConfig`` field,
plus the area budget (mm²) a candidate accelerator must fit in."""
from __future__ import annotations

from dataclasses import dataclass
from math import log10, prod
from pathlib import Path
from typing import Any

import numpy as np

from ..accel import ACCEL_FIELDS, DOC_KEYS, OPTIONAL_ACCEL_FIELDS, REQUIRED_ACCEL_FIELDS, AccelConfig, check_accel_field
from ..checks import Checker
from ..errors import Problem, ValidationError
from ..hw_files import hw_configs_dir
from ..yaml_io import load_space_yaml, shipped_or_file
from .choice import Choice, options_field


@dataclass(frozen=True)
class HwSpace:
    name: str
    fields: tuple[Choice, ...]  # one per AccelConfig field, in ACCEL_FIELDS order, names unprefixed
    area_budget_mm2: float | None

    @classmethod
    def default(cls) -> HwSpace:
        return cls.from_yaml(hw_configs_dir() / "spaces" / "nahas_like.yaml")

    @classmethod
    def resolve(cls, name_or_path: str | Path) -> HwSpace:
        """A shipped hardware space by name (``nahas_like``) or a YAML file."""
        return cls.from_yaml(shipped_or_file(name_or_path, hw_configs_dir() / "spaces", "hardware space"))

    @classmethod
    def from_yaml(cls, path: str | Path) -> HwSpace:
        """A space file (``extends: <space>`` reuses another's fields, see :func:`load_space_yaml`)."""
        return cls.from_dict(load_space_yaml(path, hw_configs_dir() / "spaces", "hardware space"), source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> HwSpace:
        chk = Checker(source)
        m = chk.mapping(data, "", required=REQUIRED_ACCEL_FIELDS,
                        optional=(*OPTIONAL_ACCEL_FIELDS, *DOC_KEYS, "area_budget_mm2"))
        fields: list[Choice] = []
        budget = None
        if m is not None:
            for f in ACCEL_FIELDS:
                if f in m:
                    opts = options_field(chk, m[f], f, lambda v, p, f=f: check_accel_field(chk, f, v, p))
                    if opts is not None:
                        fields.append(Choice(f, opts))
            if m.get("area_budget_mm2") is not None:
                budget = chk.number(m["area_budget_mm2"], "area_budget_mm2", 0.0, 1e6, lo_open=True)
        chk.raise_if_any(f"invalid hardware space{' ' + source if source else ''}")
        return cls(str(m.get("name", "custom")), tuple(fields), budget)  # type: ignore[union-attr]

    def choices(self) -> list[Choice]:
        return [c for c in self.fields if len(c.options) > 1]

    def decode(self, values: dict[str, Any]) -> AccelConfig:
        return AccelConfig(**{c.name: values.get(c.name, c.options[0]) for c in self.fields})

    def encode(self, accel: AccelConfig) -> dict[str, Any]:
        values = {c.name: getattr(accel, c.name) for c in self.fields}
        bad = [Problem(f"space {self.name}:{c.name}", f"`{c.name}` = {values[c.name]!r} is not allowed "
                                                      f"(options: {list(c.options)})")
               for c in self.fields if values[c.name] not in c.options]
        if bad:
            raise ValidationError(bad, f"accelerator not in hardware space {self.name}")
        return values

    def sample_values(self, rng: np.random.Generator) -> dict[str, Any]:
        return {c.name: c.sample(rng) for c in self.fields}

    def sample(self, rng: np.random.Generator) -> AccelConfig:
        return self.decode(self.sample_values(rng))

    def log10_size(self) -> float:
        return log10(prod(len(c.options) for c in self.fields))
