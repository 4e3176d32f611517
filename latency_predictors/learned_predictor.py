"""Learned latency predictor: a non-negative linear model over per-op-kind network features
(MACs, activation elements, weights, layer count for each of conv/depthwise/pointwise/fc/
elementwise/pool/data-movement), fitted on measured networks by non-negative least squares.

Non-negative weights keep it physical (more work never predicts less time), it extrapolates
sanely, and it saves as plain JSON. ``fit`` reports its own K-fold cross-validated error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

from codesign.errors import Problem, ValidationError
from codesign.json_io import read_json, write_json_atomic
from codesign.layer import OPS, Layer

FORMAT = "codesign-latency-linear/1"
FEATURES = [f"{op}.{f}" for op in OPS for f in ("mmacs", "mact", "mweights", "count")] + ["bias"]


def network_features(layers: list[Layer]) -> np.ndarray:
    x = np.zeros(len(FEATURES))
    for layer in layers:
        base = OPS.index(layer.op) * 4
        x[base] += layer.macs / 1e6
        x[base + 1] += (layer.input_elems + layer.output_elems) / 1e6
        x[base + 2] += layer.weight_elems / 1e6
        x[base + 3] += 1
    x[-1] = 1.0
    return x


@dataclass
class LearnedPredictor:
    coef: np.ndarray = field(default_factory=lambda: np.zeros(len(FEATURES)))
    cv_mape: float = float("nan")  # mean absolute percentage error, K-fold
    cv_within_10pct: float = float("nan")
    env: dict = field(default_factory=dict)

    def fit(self, workloads: list[list[Layer]], measured_ms: list[float], folds: int = 5,
            seed: int = 0) -> LearnedPredictor:
        if len(workloads) != len(measured_ms) or len(workloads) < folds:
            raise ValidationError(Problem("learned predictor", f"needs at least {folds} measured networks, "
                                                               f"got {len(workloads)}"))
        x = np.stack([network_features(w) for w in workloads])
        y = np.asarray(measured_ms, dtype=float)
        scale = 1.0 / y  # fit relative error: every network counts alike
        pred = np.zeros_like(y)
        order = np.random.default_rng(seed).permutation(len(y))
        for k in range(folds):
            test = order[k::folds]
            train = np.setdiff1d(order, test)
            c, _ = nnls(x[train] * scale[train, None], y[train] * scale[train])
            pred[test] = x[test] @ c
        rel = np.abs(pred - y) / y
        self.cv_mape, self.cv_within_10pct = float(rel.mean()), float((rel <= 0.10).mean())
        self.coef, _ = nnls(x * scale[:, None], y * scale)
        return self

    def predict(self, layers: list[Layer]) -> float:
        return float(network_features(layers) @ self.coef)

    def save(self, path: str | Path) -> None:
        write_json_atomic(path, {"format": FORMAT, "features": FEATURES, "coef": self.coef.tolist(),
                                 "cv_mape": self.cv_mape, "cv_within_10pct": self.cv_within_10pct, "env": self.env},
                          indent=1)

    @classmethod
    def load(cls, path: str | Path) -> LearnedPredictor:
        p = Path(path)
        data = read_json(p, "latency predictor", FORMAT)
        if data.get("features") != FEATURES:
            raise ValidationError(Problem(f"{p}:features", "features differ from this version's; rebuild the predictor"))
        return cls(np.asarray(data["coef"], dtype=float), data.get("cv_mape", float("nan")),
                   data.get("cv_within_10pct", float("nan")), data.get("env", {}))
