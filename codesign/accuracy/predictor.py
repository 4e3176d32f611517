"""Accuracy predictor: a regressor on a network's choice encoding, fitted on supernet (or trained)
accuracies, reporting its own cross-validated error. The fastest searches score candidates with it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..arch import ArchConfig
from ..errors import Problem, ValidationError
from ..layer import workload_totals
from ..spaces.arch_space import ArchSpace
from ..workload.from_arch import arch_workload


def arch_features(space: ArchSpace, archs: list[ArchConfig]) -> np.ndarray:
    """One-hot of every active choice (blocks past a stage's depth are all-zero), plus log MACs and params."""
    choices = space.all_choices()
    offsets = np.cumsum([0] + [len(c.options) for c in choices])
    x = np.zeros((len(archs), offsets[-1] + 2))
    for row, arch in enumerate(archs):
        values = space.encode(arch)
        active = space.active(values)
        for j, c in enumerate(choices):
            if c.name in active:
                x[row, offsets[j] + c.index(values[c.name])] = 1.0
        totals = workload_totals(arch_workload(arch))
        x[row, -2:] = np.log10(totals["macs"]), np.log10(totals["params"])
    return x


@dataclass
class AccuracyPredictor:
    """Chooses, by 5-fold cross-validation, between a ridge regression and gradient-boosted trees."""

    space: ArchSpace
    model: object | None = None
    model_name: str = ""
    cv_rmse: float = float("nan")

    def fit(self, archs: list[ArchConfig], accuracies: list[float], seed: int = 0) -> AccuracyPredictor:
        from sklearn.ensemble import GradientBoostingRegressor
        from sklearn.linear_model import RidgeCV
        from sklearn.model_selection import KFold, cross_val_predict

        if len(archs) != len(accuracies) or len(archs) < 10:
            raise ValidationError(Problem("accuracy predictor", f"needs at least 10 (architecture, accuracy) pairs "
                                                                f"of equal length, got {len(archs)} and {len(accuracies)}"))
        x, y = arch_features(self.space, archs), np.asarray(accuracies, dtype=float)
        folds = KFold(n_splits=min(5, len(y)), shuffle=True, random_state=seed)
        candidates = {"ridge": RidgeCV(alphas=np.logspace(-3, 3, 13)),
                      "gbr": GradientBoostingRegressor(n_estimators=200, max_depth=3, learning_rate=0.05,
                                                       subsample=0.8, random_state=seed)}
        scores = {name: float(np.sqrt(np.mean((cross_val_predict(m, x, y, cv=folds) - y) ** 2)))
                  for name, m in candidates.items()}
        self.model_name = min(scores, key=scores.get)
        self.cv_rmse = scores[self.model_name]
        self.model = candidates[self.model_name].fit(x, y)
        return self

    def predict(self, archs: list[ArchConfig]) -> np.ndarray:
        if self.model is None:
            raise ValidationError(Problem("accuracy predictor", "predict() before fit()"))
        return np.clip(self.model.predict(arch_features(self.space, archs)), 0.0, 1.0)
