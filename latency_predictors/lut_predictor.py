"""Lookup-table latency predictor (nn-Meter / OFA style) for one device and runtime.

Every distinct layer is measured once, alone, at the granularity the runtime executes it, less the
runtime's fixed per-call cost (measured on an empty model), and stored under its canonical string. A network's latency is the sum of its layers plus a per-network
overhead ``a + b × layers`` fitted on measured networks. A layer missing from the table is measured
on the spot (``measure_missing=True``) or reported as not covered — never counted as zero.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codesign.errors import CodesignError, Problem, ValidationError
from codesign.json_io import read_json, write_json_atomic
from codesign.layer import Layer

from .environment import environment
from .layer_models import empty_model, layer_model
from .ort_runtime import measure_ort

FORMAT = "codesign-latency-lut/1"


def run_overhead_ms(runtime: str, threads: int) -> float:
    """The runtime's fixed cost of one call (an empty model), paid once per network, in ms."""
    if runtime != "ort":
        raise ValidationError(Problem("runtime", f"latency tables are built with onnxruntime (`ort`), got `{runtime}`"))
    return measure_ort(empty_model(), threads=threads, warmup=20, repeats=200).median_ms


def own_time_ms(model, run_overhead: float, threads: int, passes: int = 2) -> float:
    """A one-unit model's latency less the runtime's per-call overhead (ms, at least 0.1 µs): the
    lowest of ``passes`` medians, each of 30 timed runs, so a burst of load from elsewhere on the
    machine during one pass does not enter the table (on this shared 2-core VM such bursts move a
    median by > 10% for a fifth of the units at times)."""
    best = min(measure_ort(model, threads=threads, warmup=5, repeats=30).median_ms for _ in range(passes))
    return max(best - run_overhead, 1e-4)


class NotCovered(CodesignError):
    """Layers of the network are not in the table and were not measured."""

    def __init__(self, missing: list[str], covered_fraction: float, what: str = "layer"):
        self.missing, self.covered_fraction = missing, covered_fraction
        super().__init__(f"{len(missing)} {what}(s) not in the latency table ({covered_fraction:.0%} of {what}s "
                         f"covered), e.g. {missing[0]}; build it with `codesign predictor build` or measure them")


@dataclass
class LutPredictor:
    runtime: str = "ort"
    threads: int = 1
    table_ms: dict[str, float] = field(default_factory=dict)
    overhead: tuple[float, float] = (0.0, 0.0)  # ms: a + b × number of layers
    env: dict = field(default_factory=dict)

    # ---- building ----------------------------------------------------------------------
    run_overhead_ms: float | None = None  # cost of one session.run on an empty model: paid once per network

    def measure_layer(self, layer: Layer) -> float:
        """The layer's own time: its one-layer model's median minus the runtime's per-call overhead."""
        if self.run_overhead_ms is None:
            self.run_overhead_ms = run_overhead_ms(self.runtime, self.threads)
        return own_time_ms(layer_model(layer), self.run_overhead_ms, self.threads)

    def extend(self, layers: list[Layer]) -> int:
        """Measure the layers not yet in the table; returns how many were measured."""
        todo = {l.key: l for l in layers if l.key not in self.table_ms}
        for key, layer in todo.items():
            self.table_ms[key] = self.measure_layer(layer)
        if todo and not self.env:
            self.env = environment(self.runtime, self.threads)
        return len(todo)

    def fit_overhead(self, workloads: list[list[Layer]], measured_ms: list[float]) -> None:
        """Least-squares fit of the per-network overhead (measured − sum of layers) on layer count."""
        sums = np.array([self.layer_sum(w) for w in workloads])
        counts = np.array([len(w) for w in workloads], dtype=float)
        resid = np.asarray(measured_ms) - sums
        a = np.stack([np.ones_like(counts), counts], axis=1)
        coef, *_ = np.linalg.lstsq(a, resid, rcond=None)
        self.overhead = (float(coef[0]), float(coef[1]))

    # ---- predicting -----------------------------------------------------------------------
    def layer_sum(self, layers: list[Layer]) -> float:
        missing = [l.key for l in layers if l.key not in self.table_ms]
        if missing:
            raise NotCovered(missing, 1 - len(missing) / len(layers))
        return float(sum(self.table_ms[l.key] for l in layers))

    def predict(self, layers: list[Layer], measure_missing: bool = False) -> float:
        """Predicted latency (ms) of a network given its layers."""
        if measure_missing:
            self.extend(layers)
        return self.layer_sum(layers) + self.overhead[0] + self.overhead[1] * len(layers)

    def coverage(self, layers: list[Layer]) -> float:
        return sum(l.key in self.table_ms for l in layers) / max(len(layers), 1)

    # ---- persistence (plain JSON) ---------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        write_json_atomic(path, {"format": FORMAT, "runtime": self.runtime, "threads": self.threads, "env": self.env,
                                 "overhead_ms": list(self.overhead), "run_overhead_ms": self.run_overhead_ms,
                                 "layers_ms": self.table_ms}, indent=1)

    @classmethod
    def load(cls, path: str | Path) -> LutPredictor:
        p = Path(path)
        data = read_json(p, "latency table", FORMAT)
        table = data.get("layers_ms", {})
        bad = [k for k, v in table.items() if not isinstance(v, (int, float)) or not v > 0]
        if bad:
            raise ValidationError(Problem(f"{p}:layers_ms", f"{len(bad)} entries are not positive numbers, e.g. {bad[0]}"))
        return cls(data.get("runtime", "ort"), int(data.get("threads", 1)), dict(table),
                   tuple(data.get("overhead_ms", (0.0, 0.0))), data.get("env", {}), data.get("run_overhead_ms"))
