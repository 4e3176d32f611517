"""Block-level lookup table with a fitted network correction — the better of codesign's CPU latency
predictors for networks of the MBConv/IBN space.

Every distinct unit (stem, block, head; see :mod:`latency_predictors.block_units`) is measured once,
alone, less the runtime's per-call cost, so fusion inside a block (conv + BN + activation, SE, the
residual add, layout changes) is in the table. What a unit measured alone cannot see is the
network's cache footprint: alone, a block's weights stay in cache between runs; in a network whose
weights exceed the last-level cache they stream from DRAM (measured here: the measured/table-sum
ratio is ~0.97 below 16 MiB of weights and rises to ~1.2 at 32–48 MiB and ~1.45 above). So every
unit with more than 256 KiB of weights is also measured *streamed* — with its weights coming from
DRAM (:mod:`latency_predictors.weight_streaming`) — and the prediction is

    latency_ms = (Σ units' cached ms + run overhead) × exp(θ · f(network))

with ``f`` = log table sum, log weight MiB, log of the streamed/cached sum ratio, the *streamed
share* beyond an effective cache of 8, 16, 24 and 32 MiB — ``log(1 + max(0, 1 − C/W) × (streamed −
cached)/cached)`` for weights ``W`` MiB: the cost of reading from DRAM the part of the weights that
does not fit in ``C`` — log activation elements, log MACs and the block count; θ fitted by ridge
regression (cross-validated penalty) on measured networks. It persists as plain JSON.

Measured on the 160 networks of ``benchmarks/data/latency_measurements_seed0.json`` with three
unit tables built at different times: the streamed-share form and the earlier weight-size hinges
(format ``/2``) predict random held-out networks about equally well (91/93/94% against 91/94/93%
within ±10%, means over 30 random 100/60 splits), but the hinges extrapolate worse past the training
networks' weight sizes: on the benchmark's split, whose largest test network has 76 MiB of weights,
85/93/93% against 80/88/88%, because ``1 − C/W`` saturates at 1 where a hinge keeps growing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codesign.arch import ArchConfig
from codesign.errors import Problem, ValidationError
from codesign.json_io import read_json, write_json_atomic
from codesign.workload.from_arch import arch_workload

from .block_units import network_units
from .environment import environment
from .lut_predictor import NotCovered, own_time_ms, run_overhead_ms
from .weight_streaming import streamed_time_ms

FORMAT = "codesign-latency-block-lut/3"
EFFECTIVE_CACHES_MIB = (8, 16, 24, 32)
CORRECTION_FEATURES = ["log_unit_sum_ms", "log_weight_mib", "log_streamed_over_cached",
                       *[f"streamed_share_beyond_{c}mib" for c in EFFECTIVE_CACHES_MIB],
                       "log_activation_melems", "log_mmacs", "blocks"]


def correction_features(arch: ArchConfig, unit_sum_ms: float, streamed_sum_ms: float) -> np.ndarray:
    """The network features of the correction, in :data:`CORRECTION_FEATURES` order (sums in ms)."""
    from codesign.quantization.onnx_int8 import runs_as_int8

    layers = arch_workload(arch)
    weight_bytes = 1 if runs_as_int8(arch.quant) else 4                       # int8 or float32 weights
    weight_mib = max(sum(l.weight_elems for l in layers) * weight_bytes / 2**20, 1e-6)
    acts = max(sum(l.input_elems + l.output_elems for l in layers) / 1e6, 1e-6)
    macs = max(sum(l.macs for l in layers) / 1e6, 1e-6)
    cached, streamed = max(unit_sum_ms, 1e-6), max(streamed_sum_ms, 1e-6)
    extra = max(streamed - cached, 0.0) / cached        # streaming cost if every weight came from DRAM
    shares = [np.log1p(max(0.0, 1.0 - c / weight_mib) * extra) for c in EFFECTIVE_CACHES_MIB]
    return np.array([np.log(cached), np.log(weight_mib), np.log(streamed / cached), *shares,
                     np.log(acts), np.log(macs), float(len(arch.blocks))])


@dataclass
class BlockLutPredictor:
    threads: int = 1
    table_ms: dict[str, float] = field(default_factory=dict)          # unit → own time, weights cached (ms)
    streamed_ms: dict[str, float] = field(default_factory=dict)       # unit → own time, weights from DRAM (ms)
    run_overhead_ms: float | None = None
    coef: list[float] = field(default_factory=lambda: [0.0] * len(CORRECTION_FEATURES))
    intercept: float = 0.0
    env: dict = field(default_factory=dict)

    # ---- building ----------------------------------------------------------------------------
    def extend(self, arch: ArchConfig) -> int:
        """Measure ``arch``'s units not yet in the table; returns how many were measured."""
        if self.run_overhead_ms is None:
            self.run_overhead_ms = run_overhead_ms("ort", self.threads)
            self.env = environment("ort", self.threads)
        todo = [u for u in network_units(arch) if u.key not in self.table_ms]
        for unit in todo:
            model = unit.onnx()
            streamed = streamed_time_ms(model, self.run_overhead_ms, self.threads)
            if streamed is not None:
                self.streamed_ms[unit.key] = streamed
            self.table_ms[unit.key] = own_time_ms(model, self.run_overhead_ms, self.threads)
        return len(todo)

    def unit_sums(self, arch: ArchConfig) -> tuple[float, float]:
        """Σ of the units' own times plus one call's overhead (ms), with weights cached and with
        weights streamed from DRAM (units too small to stream count as cached); an error if a unit
        is missing."""
        keys = [u.key for u in network_units(arch)]
        missing = [k for k in keys if k not in self.table_ms]
        if missing:
            raise NotCovered(missing, 1 - len(missing) / len(keys), what="unit")
        run = self.run_overhead_ms or 0.0
        return (float(sum(self.table_ms[k] for k in keys) + run),
                float(sum(self.streamed_ms.get(k, self.table_ms[k]) for k in keys) + run))

    def unit_sum(self, arch: ArchConfig) -> float:
        """Σ of the units' own times (weights cached) plus one call's overhead (ms)."""
        return self.unit_sums(arch)[0]

    def fit(self, archs: list[ArchConfig], measured_ms: list[float]) -> BlockLutPredictor:
        """Fit the network correction on measured networks (their units must be in the table)."""
        from sklearn.linear_model import RidgeCV

        if len(archs) != len(measured_ms) or len(archs) < 5:
            raise ValidationError(Problem("block LUT predictor", f"needs at least 5 measured networks, got {len(archs)}"))
        sums = [self.unit_sums(a) for a in archs]
        x = np.stack([correction_features(a, *s) for a, s in zip(archs, sums)])
        cached = np.array([s[0] for s in sums])
        model = RidgeCV(alphas=np.logspace(-4, 2, 30)).fit(x, np.log(np.asarray(measured_ms) / cached))
        self.coef, self.intercept = [float(c) for c in model.coef_], float(model.intercept_)
        return self

    # ---- predicting --------------------------------------------------------------------------
    def predict(self, arch: ArchConfig, measure_missing: bool = False) -> float:
        """Predicted latency (ms) of ``arch`` on the device the table was measured on."""
        if measure_missing:
            self.extend(arch)
        cached, streamed = self.unit_sums(arch)
        return float(cached * np.exp(correction_features(arch, cached, streamed) @ np.asarray(self.coef)
                                     + self.intercept))

    # ---- persistence (plain JSON) ----------------------------------------------------------
    def save(self, path: str | Path) -> None:
        write_json_atomic(path, {"format": FORMAT, "threads": self.threads, "env": self.env,
                                 "run_overhead_ms": self.run_overhead_ms, "features": CORRECTION_FEATURES,
                                 "coef": self.coef, "intercept": self.intercept, "units_ms": self.table_ms,
                                 "streamed_units_ms": self.streamed_ms}, indent=1)

    @classmethod
    def load(cls, path: str | Path) -> BlockLutPredictor:
        p = Path(path)
        data = read_json(p, "block latency table", FORMAT)
        if data.get("features") != CORRECTION_FEATURES:
            raise ValidationError(Problem(f"{p}:features", "correction features differ from this version's; rebuild it"))
        tables = {}
        for name in ("units_ms", "streamed_units_ms"):
            table = data.get(name, {})
            if not isinstance(table, dict):
                raise ValidationError(Problem(f"{p}:{name}", "expected a mapping of unit → ms"))
            bad = [k for k, v in table.items() if not isinstance(v, (int, float)) or not v > 0]
            if bad:
                raise ValidationError(Problem(f"{p}:{name}", f"{len(bad)} entries are not positive numbers, e.g. {bad[0]}"))
            tables[name] = dict(table)
        return cls(int(data.get("threads", 1)), tables["units_ms"], tables["streamed_units_ms"], data.get("run_overhead_ms"),
                   [float(c) for c in data["coef"]], float(data["intercept"]), data.get("env", {}))
