"""Published real-hardware measurements, and the analytical model held against them zero-shot.

A **target** (``hw_configs/targets/<name>.yaml``) is an accelerator template written from a real
device's public specification; unlike a search template it must say how the device executes a
network (:data:`TARGET_FIELDS`: vector unit, per-layer overhead, weight cache, fusion, activation
residency). A **validation set** (``hw_configs/validation/<name>.yaml``) names a target, the source
of its figures and the measured latency (ms) of published networks (:mod:`codesign.nets.imagenet`
names); every figure comes from the source it names.

Proxies the model must beat, per set (``proxy_latency``): the MAC count, the parameter count, and a
two-term roofline ``MACs / peak MAC/s + max(0, weight bytes − on-chip bytes) / DRAM (host-link)
bandwidth`` with on-chip bytes = the weight cache when the target has one, else its global buffer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codesign.accel import AccelConfig
from codesign.checks import Checker
from codesign.errors import DecodeError, Problem, ValidationError
from codesign.hw_files import hw_configs_dir, targets_dir
from codesign.layer import Layer, workload_totals
from codesign.nets import imagenet
from codesign.yaml_io import load_yaml, shipped_or_file

#: fields a target template must state (a search template may leave them at their defaults)
TARGET_FIELDS = ("vector_unit", "layer_overhead_cycles", "weight_cache_bytes", "fuse_elementwise",
                 "activations_on_chip")
PROXIES = ("macs", "params", "roofline")
_SET_FIELDS = ("name", "target", "kind", "source", "metric", "measurements")


def validation_dir() -> Path:
    return hw_configs_dir() / "validation"


def load_target(name_or_path: str | Path) -> AccelConfig:
    """A target template by name (``coral_edge_tpu_devboard``) or path; a missing execution field
    is an error naming the file and the field."""
    path = shipped_or_file(name_or_path, targets_dir(), "target template")
    data = load_yaml(path)
    if isinstance(data, dict):
        missing = [f for f in TARGET_FIELDS if f not in data]
        if missing:
            raise ValidationError([Problem(f"{path}:{f}", f"a target template must state `{f}` (how the device "
                                           f"executes a network; see hw_configs/targets/coral_edge_tpu_devboard.yaml)")
                                   for f in missing], f"incomplete target template {path}")
    return AccelConfig.from_dict(data, source=str(path))


@dataclass(frozen=True)
class ValidationSet:
    """Measured latency (ms) of published networks on one real target."""

    name: str
    target_name: str
    target: AccelConfig
    kind: str
    source: str
    notes: str
    networks: tuple[str, ...]
    measured_ms: np.ndarray

    def workloads(self) -> list[list[Layer]]:
        return [imagenet.workload(n) for n in self.networks]


def load_validation_set(name_or_path: str | Path) -> ValidationSet:
    """A shipped set by name or a YAML file; every problem names the file and the field or network."""
    path = shipped_or_file(name_or_path, validation_dir(), "validation set")
    source = str(path)
    chk = Checker(source)
    m = chk.mapping(load_yaml(path), "", required=_SET_FIELDS, optional=("notes", "description"))
    if m is None:
        chk.raise_if_any(f"invalid validation set {source}")
    for key in ("name", "target", "kind", "source"):
        if not isinstance(m.get(key), str) or not m[key].strip():
            chk.fail(key, f"`{key}` must be non-empty text")
    if m.get("metric") != "latency_ms":
        chk.fail("metric", f"`metric` must be `latency_ms`, got {m.get('metric')!r}")
    meas = m.get("measurements")
    networks: list[str] = []
    values: list[float] = []
    if not isinstance(meas, dict) or len(meas) < 2:
        chk.fail("measurements", "`measurements` must map at least two network names to latency in ms")
    else:
        for net, ms in meas.items():
            field = f"measurements.{net}"
            try:
                imagenet.parse(str(net))
            except DecodeError as exc:
                chk.fail(field, f"cannot build network `{net}`: {exc.problems[0].message}")
                continue
            v = chk.number(ms, field, 0.0, 1e7, lo_open=True)
            if v is not None:
                networks.append(str(net))
                values.append(float(v))
    chk.raise_if_any(f"invalid validation set {source}")
    target = load_target(m["target"])
    return ValidationSet(m["name"], m["target"], target, m["kind"], " ".join(m["source"].split()),
                         " ".join(str(m.get("notes", "")).split()), tuple(networks), np.array(values))


def shipped_sets() -> list[str]:
    return sorted(p.stem for p in validation_dir().glob("*.yaml"))


def proxy_latency(workloads: list[list[Layer]], target: AccelConfig) -> dict[str, np.ndarray]:
    """The naive proxies per network: MACs, parameters, and the two-term roofline (ms)."""
    totals = [workload_totals(w) for w in workloads]
    macs = np.array([t["macs"] for t in totals], dtype=float)
    params = np.array([t["params"] for t in totals], dtype=float)
    weight_bytes = np.array([sum(l.weight_elems for l in w) for w in workloads], dtype=float) * target.precision_bits / 8
    on_chip = target.weight_cache_bytes or target.global_buffer_bytes
    link_bytes_per_ms = target.dram_bw_bytes_per_cycle * target.clock_mhz * 1e3
    roofline = macs / (target.peak_gmacs_per_s * 1e6) + np.maximum(0.0, weight_bytes - on_chip) / link_bytes_per_ms
    return {"macs": macs, "params": params, "roofline": roofline}


def rank_agreement(pred: np.ndarray, measured: np.ndarray) -> tuple[float, float]:
    """(Kendall τ-b, Spearman ρ) of a prediction against the measurements."""
    from scipy import stats

    tau = float(stats.kendalltau(pred, measured)[0])
    rho = float(stats.spearmanr(pred, measured)[0])
    return (tau if math.isfinite(tau) else 0.0), (rho if math.isfinite(rho) else 0.0)


def describe_set(vs: ValidationSet) -> dict[str, Any]:
    return {"n": len(vs.networks), "target": vs.target_name, "kind": vs.kind, "source": vs.source}
