"""The prior a device latency model starts from, learned from measured reference devices.

Each reference (device, network family) gets a non-negative per-layer latency model over the
workload features (:mod:`latency_predictors.workload_features`), fitted on all its measured
networks by relative error — its *basis*. A new device's latency is modelled as a combination of
these bases plus the raw features (Bayesian linear regression, i.e. a Gaussian process whose kernel
is learned from the references: HELP's idea of letting reference devices teach which features
matter). The prior's weights ``alpha`` (bases), ``beta`` (raw features) and the relative noise
``sigma`` are chosen by leave-one-device-out meta-validation on the reference devices alone (only
their ratios matter for the prediction; the overall scale is estimated from each device's data).

The shipped prior (``latency_predictors/data/device_prior.json``) was learned by
``python benchmarks/device_calibration.py --write-prior`` from the HELP / HW-NAS-Bench
measurements (see its ``sources``); no meta-test device of HELP was used.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

from codesign.errors import Problem, ValidationError
from codesign.json_io import read_json, write_json_atomic

from codesign.nets import network_workload

from .workload_features import FEATURES, feature_matrix

PRIOR_FORMAT = "codesign-device-prior/1"
SHIPPED_PRIOR = Path(__file__).parent / "data" / "device_prior.json"
#: hyper-parameter grid searched by meta-validation: (alpha, beta, sigma)
#: (the posterior mean depends only on alpha/sigma and beta/sigma; the overall scale is fitted per device)
HYPER_GRID = tuple((1.0, b, s) for b in (0.0, 0.01, 0.03, 0.1) for s in (0.03, 0.1, 0.3, 1.0))
#: numbers of measurements the meta-validation calibrates each reference device from
META_KS = (5, 10, 20)
REBUILD = "rebuild it with `python benchmarks/device_calibration.py --write-prior`"
#: networks whose features a prior stores when it is learned, to tell a prior learned with other
#: feature code (an analytical model since changed) from one that matches this code
CHECK_NETWORKS = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    "k5_e6-skip-k3_e1_g2-skip-k5_e1-skip-skip-skip-k5_e6-k5_e1-k3_e1_g2-k5_e1-k5_e6-k3_e6-k3_e3-k5_e6-k3_e6-"
    "k3_e3-k5_e1-k3_e3-k5_e1-k5_e1_g2",
)


def check_features() -> np.ndarray:
    """This code's feature rows of :data:`CHECK_NETWORKS`."""
    return feature_matrix([network_workload(a) for a in CHECK_NETWORKS])


@dataclass
class ReferenceTable:
    """Measured latency (ms) of one network family on reference devices: ``features`` (networks ×
    :data:`FEATURES`), ``latency_ms`` (networks × devices)."""

    family: str
    features: np.ndarray
    latency_ms: np.ndarray
    devices: list[str]


@dataclass
class DevicePrior:
    """Bases (``basis_weights``: features × bases, ms per feature unit) and the prior's scales."""

    basis_names: list[str]
    basis_weights: np.ndarray
    basis_mean_ms: np.ndarray
    feature_mean: np.ndarray
    alpha: float
    beta: float
    sigma: float
    sources: list[str] = field(default_factory=list)
    features: tuple[str, ...] = FEATURES
    #: the feature rows of ``CHECK_NETWORKS`` when the prior was learned
    check: np.ndarray = field(default_factory=check_features)

    def design(self, x: np.ndarray, exclude_device: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Normalised basis predictions and normalised raw features of feature rows ``x``."""
        keep = np.array([n.split("@")[0] != exclude_device for n in self.basis_names])
        bases = (x @ self.basis_weights[:, keep]) / self.basis_mean_ms[keep]
        return bases, x / self.feature_mean

    def to_dict(self) -> dict:
        return {"format": PRIOR_FORMAT, "features": list(self.features), "basis_names": self.basis_names,
                "basis_weights": self.basis_weights.tolist(), "basis_mean_ms": self.basis_mean_ms.tolist(),
                "feature_mean": self.feature_mean.tolist(), "alpha": self.alpha, "beta": self.beta,
                "sigma": self.sigma, "sources": self.sources, "check_networks": list(CHECK_NETWORKS),
                "check_features": self.check.tolist()}

    @classmethod
    def from_dict(cls, data: dict, source: str, rebuild: str = REBUILD) -> DevicePrior:
        """The prior in ``data``; an error naming ``source`` and saying how to ``rebuild`` it when it
        was learned for another feature set or with other feature code."""
        if list(data.get("features", [])) != list(FEATURES):
            raise ValidationError(Problem(f"{source}:features", f"this prior was built for another feature set; {rebuild}"))
        try:
            prior = cls(list(data["basis_names"]), np.array(data["basis_weights"], float),
                        np.array(data["basis_mean_ms"], float), np.array(data["feature_mean"], float),
                        float(data["alpha"]), float(data["beta"]), float(data["sigma"]), list(data.get("sources", [])),
                        check=np.array(data.get("check_features", np.nan), float))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(Problem(source, f"malformed device prior ({exc})")) from None
        if prior.basis_weights.shape != (len(FEATURES), len(prior.basis_names)):
            raise ValidationError(Problem(f"{source}:basis_weights", "shape does not match features × basis_names"))
        now = check_features()
        was = prior.check if prior.check.shape == now.shape else np.full(now.shape, np.nan)  # missing: all differ
        same_networks = list(data.get("check_networks", [])) == list(CHECK_NETWORKS)
        stale = [name for name, a, b in zip(FEATURES, was.T, now.T)
                 if not same_networks or not np.allclose(a, b, rtol=1e-6, atol=0.0)]
        if stale:
            raise ValidationError(Problem(f"{source}:check_features", f"this prior was learned with other feature code "
                                          f"(features {', '.join(stale[:4])}{' …' if len(stale) > 4 else ''} differ "
                                          f"on its check networks, e.g. after a change of the analytical model); "
                                          f"{rebuild}"))
        return prior

    def save(self, path: str | Path) -> None:
        write_json_atomic(path, self.to_dict(), indent=1)

    @classmethod
    def load(cls, path: str | Path = SHIPPED_PRIOR) -> DevicePrior:
        return cls.from_dict(read_json(path, "device prior", PRIOR_FORMAT), str(path))


def fit_basis(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative weights (ms per feature unit) minimising the relative error of ``x @ w`` to ``y``."""
    scale = x.mean(axis=0) + 1e-12
    w, _ = nnls((x / scale) / y[:, None], np.ones(len(y)), maxiter=20 * x.shape[1] + 5000)
    return w / scale


def valid_rows(y: np.ndarray) -> np.ndarray:
    """Measurements usable for fitting: finite, and above a fifth of the median (published tables
    hold a few zero and truncated entries)."""
    return np.isfinite(y) & (y > 0.2 * np.nanmedian(y))


def learn_prior(tables: list[ReferenceTable], draws: int = 10, seed: int = 0,
                sources: list[str] | None = None) -> tuple[DevicePrior, dict]:
    """Fit one basis per (reference device, family), then pick ``alpha``/``beta``/``sigma`` from
    :data:`HYPER_GRID` by leave-one-device-out: each reference device is calibrated from K random
    networks (K in :data:`META_KS`, ``draws`` draws each) with its own bases removed; the mean
    Spearman ρ on its other networks scores a setting. Returns the prior and the meta-validation scores."""
    names, weights = [], []
    for t in tables:
        for j, dev in enumerate(t.devices):
            ok = valid_rows(t.latency_ms[:, j])
            names.append(f"{dev}@{t.family}")
            weights.append(fit_basis(t.features[ok], t.latency_ms[ok, j]))
    w = np.stack(weights, axis=1)
    pooled = np.vstack([t.features for t in tables])
    prior = DevicePrior(names, w, (pooled @ w).mean(axis=0), pooled.mean(axis=0) + 1e-12, 1.0, 0.0, 0.03,
                        sources or [])
    from scipy.stats import spearmanr

    from .device_model import posterior_fit

    rng = np.random.default_rng(seed)
    splits = {(t.family, dev): [rng.permutation(np.flatnonzero(valid_rows(t.latency_ms[:, j])))
                                for _ in range(draws)] for t in tables for j, dev in enumerate(t.devices)}
    scores = {}
    for alpha, beta, sigma in HYPER_GRID:
        prior.alpha, prior.beta, prior.sigma = alpha, beta, sigma
        rhos = []
        for t in tables:
            for j, dev in enumerate(t.devices):
                for idx in splits[(t.family, dev)]:
                    for k in META_KS:
                        tr, te = idx[:k], idx[k:]
                        fit = posterior_fit(prior, t.features[tr], t.latency_ms[tr, j], exclude_device=dev)
                        rhos.append(spearmanr(fit.predict(t.features[te])[0], t.latency_ms[te, j]).statistic)
        scores[(alpha, beta, sigma)] = float(np.mean(rhos))
    prior.alpha, prior.beta, prior.sigma = max(scores, key=scores.get)
    return prior, {"meta_validation_spearman": max(scores.values()),
                   "grid": {f"alpha={a},beta={b},sigma={s}": v for (a, b, s), v in scores.items()}}
