"""What every cost-model backend returns: per-layer costs and totals, plain and serializable."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: energy components, innermost first; a backend fills those it models
ENERGY_COMPONENTS = ("mac", "vector", "rf", "local_buffer", "global_buffer", "dram")
#: named latency terms of a layer (cycles): the MAC array, DRAM transfers, global-buffer transfers,
#: the vector unit, and the fixed per-layer overhead (the analytical backend fills them)
LATENCY_TERMS = ("compute", "dram", "global_buffer", "vector", "overhead")


@dataclass(frozen=True)
class LayerCost:
    """One layer on one accelerator. ``bound`` is ``compute``, ``dram``, ``global_buffer`` or
    ``vector``. ``terms_cycles``: the named latency terms (``LATENCY_TERMS``, cycles, before any
    calibration; the layer takes their maximum plus the overhead, or their sum on a sequential
    target); ``weights_resident``: its weights stay in the weight cache across inferences;
    ``fused``: an element-wise layer run inside its producer (its cycles are the producer's)."""

    name: str
    op: str
    macs: int
    cycles: float
    latency_ms: float
    energy_pj: dict[str, float]
    utilization: float
    bound: str
    source: str = ""  # backend that produced this layer's numbers
    terms_cycles: dict[str, float] = field(default_factory=dict)
    weights_resident: bool = False
    fused: bool = False

    @property
    def energy_total_pj(self) -> float:
        return float(sum(self.energy_pj.values()))


@dataclass(frozen=True)
class HardwareReport:
    """A network on an accelerator: per-layer costs plus totals (ms, mJ, mm²)."""

    backend: str
    accel: str
    layers: list[LayerCost]
    latency_ms: float
    energy_mj: float
    area_mm2: float
    notes: list[str] = field(default_factory=list)

    @property
    def energy_by_component_pj(self) -> dict[str, float]:
        out = {c: 0.0 for c in ENERGY_COMPONENTS}
        for layer in self.layers:
            for c, v in layer.energy_pj.items():
                out[c] = out.get(c, 0.0) + v
        return out

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for layer, cost in zip(d["layers"], self.layers):
            layer["energy_total_pj"] = cost.energy_total_pj
        return d
