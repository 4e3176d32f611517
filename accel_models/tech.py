"""Technology tables (``hw_configs/tech/<name>.yaml``): per-access energies and areas, with sources.

All functions take and return numpy arrays so that the analytical model stays vectorised.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import numpy as np

from codesign.checks import Checker
from codesign.errors import Problem, ValidationError
from codesign.hw_files import hw_configs_dir
from codesign.yaml_io import load_yaml


@dataclass(frozen=True)
class TechTable:
    """Energies in pJ, areas in mm²; ``*_8bit`` figures scale with ``(bits / 8) ** exponent``."""

    name: str
    mac_energy_pj_8bit: float
    mac_energy_bits_exponent: float
    alu_energy_pj_8bit: float
    sram_energy_pj_per_byte_at_8kib: float
    sram_energy_size_exponent: float
    sram_energy_min_pj_per_byte: float
    sram_write_factor: float
    dram_energy_pj_per_byte: float
    mac_area_mm2_8bit: float
    mac_area_bits_exponent: float
    pe_overhead_area_mm2: float
    rf_area_mm2_per_kib: float
    sram_area_mm2_per_kib: float

    def mac_energy_pj(self, bits):
        return self.mac_energy_pj_8bit * (np.asarray(bits, dtype=float) / 8.0) ** self.mac_energy_bits_exponent

    def alu_energy_pj(self, bits):
        return self.alu_energy_pj_8bit * np.asarray(bits, dtype=float) / 8.0

    def sram_read_pj_per_byte(self, size_bytes):
        """Read energy per byte of an SRAM or register file of ``size_bytes`` (pJ/B)."""
        size = np.maximum(np.asarray(size_bytes, dtype=float), 1.0)
        e = self.sram_energy_pj_per_byte_at_8kib * (size / 8192.0) ** self.sram_energy_size_exponent
        return np.maximum(e, self.sram_energy_min_pj_per_byte)

    def mac_area_mm2(self, bits):
        return self.mac_area_mm2_8bit * (np.asarray(bits, dtype=float) / 8.0) ** self.mac_area_bits_exponent


@lru_cache(maxsize=16)
def load_tech(name: str) -> TechTable:
    """The table ``hw_configs/tech/<name>.yaml``; a missing table or bad field is a ``ValidationError``."""
    path = hw_configs_dir() / "tech" / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (hw_configs_dir() / "tech").glob("*.yaml"))
        raise ValidationError(Problem(f"tech `{name}`", f"no technology table hw_configs/tech/{name}.yaml "
                                                         f"(known: {', '.join(known)})"))
    return tech_from_file(path)


def tech_from_file(path: Path) -> TechTable:
    data = load_yaml(path)
    chk = Checker(str(path))
    names = [f.name for f in fields(TechTable)]
    m = chk.mapping(data, "", required=names)
    values = {}
    if m is not None:
        values["name"] = chk.string(m.get("name"), "name", r"[A-Za-z0-9.\-]{1,40}", "a table name")
        for f in names[1:]:
            values[f] = chk.number(m.get(f), f, 0.0, 1e6)
    chk.raise_if_any("invalid technology table")
    return TechTable(**values)
