"""A device latency (or energy) model fitted from a few measurements of the user's own target.

Model (Bayesian linear regression over the prior's bases and raw features, see
:mod:`latency_predictors.device_prior`): with ``b(x)`` the reference-device predictions and
``f(x)`` the workload features of network ``x``, each relative to its mean over the measured
networks, the target's value relative to the mean of its measurements is
``m(x) + Σ c_j b_j(x) + Σ v_k f_k(x)``, ``m`` the average basis, ``c ~ N(0, alpha²)``,
``v ~ N(0, beta²)``, and each measurement off by a relative error of ``sigma``; the overall scale
of these variances is the maximum-likelihood one for the device's data. With 10 measurements the posterior leans on the reference devices that explain them;
with many, the raw features take over. Every prediction comes with its posterior standard
deviation (ms), and the fit reports its exact leave-one-out error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codesign.errors import Problem, ValidationError
from codesign.json_io import read_json, write_json_atomic

from .device_prior import DevicePrior
from .workload_features import FEATURES
from codesign.errors import CodesignError
from .device_measurements import network_layers
from .workload_features import feature_matrix

MODEL_FORMAT = "codesign-device-model/1"
#: fewest measurements a device model is fitted from (leave-one-out needs two left in)
MIN_MEASUREMENTS = 3


@dataclass
class PosteriorFit:
    """The posterior of one target from measured feature rows ``x`` and values ``y``."""

    prior: DevicePrior
    x: np.ndarray
    y: np.ndarray
    exclude_device: str | None = None

    def __post_init__(self) -> None:
        self.scale = float(self.y.mean())
        yn = self.y / self.scale
        b, f = self.prior.design(self.x, self.exclude_device)
        # each basis and feature relative to its mean over the measured networks: every basis then
        # predicts the measurements' mean on average, and the coefficients only say how to mix them
        self._b_scale = b.mean(axis=0)
        f_mean = f.mean(axis=0)
        self._f_scale = np.where(f_mean > 0, f_mean, 1.0)
        b, f = b / self._b_scale, f / self._f_scale
        self._noise = (self.prior.sigma * yn) ** 2
        self._chol = _cholesky(self._kernel(b, f, b, f) + np.diag(self._noise))
        self._b, self._f = b, f
        self._resid = yn - b.mean(axis=1)
        self._weights = self._solve(self._resid)
        # maximum-likelihood scale of the whole kernel: the prior's ratios fix the mean, the data
        # say how large the deviations (and so the uncertainties) are on this device
        self._var_scale = float(self._resid @ self._weights) / len(yn)

    def _design(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b, f = self.prior.design(x, self.exclude_device)
        return b / self._b_scale, f / self._f_scale

    def _kernel(self, b1, f1, b2, f2) -> np.ndarray:
        return self.prior.alpha ** 2 * (b1 @ b2.T) + self.prior.beta ** 2 * (f1 @ f2.T)

    def _solve(self, rhs: np.ndarray) -> np.ndarray:
        return np.linalg.solve(self._chol.T, np.linalg.solve(self._chol, rhs))

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation (the target's units, e.g. ms) of feature rows ``x``;
        the mean is floored at 1% of the smallest measurement (a linear model can go negative far
        outside the measured networks; the deviation then says how far to trust it)."""
        b, f = self._design(x)
        cross = self._kernel(b, f, self._b, self._f)
        mean = b.mean(axis=1) + cross @ self._weights
        v = np.linalg.solve(self._chol, cross.T)
        var = self.prior.alpha ** 2 * np.einsum("ij,ij->i", b, b) + self.prior.beta ** 2 * np.einsum("ij,ij->i", f, f)
        var = np.maximum(var - np.einsum("ij,ij->j", v, v), 0.0) + (self.prior.sigma * mean) ** 2
        floor = 0.01 * self.y.min() / self.scale
        return np.maximum(mean, floor) * self.scale, np.sqrt(var * self._var_scale) * self.scale

    def leave_one_out(self) -> np.ndarray:
        """Each measurement's prediction from the others (exact for this Gaussian model), same units."""
        k_inv = self._solve(np.eye(len(self.y)))
        loo_resid = self._weights / np.diag(k_inv)
        return (self.y / self.scale - loo_resid) * self.scale


def _cholesky(k: np.ndarray) -> np.ndarray:
    """Cholesky factor of a kernel matrix, with the smallest diagonal jitter that makes it succeed."""
    base = float(np.mean(np.diag(k)))
    for jitter in (1e-10, 1e-8, 1e-6, 1e-4, 1e-2):
        try:
            return np.linalg.cholesky(k + jitter * base * np.eye(len(k)))
        except np.linalg.LinAlgError:
            continue
    raise ValidationError(Problem("measurements", "the measured networks are numerically indistinguishable to the "
                                  "device model (identical workloads with different values?)"))


def posterior_fit(prior: DevicePrior, x: np.ndarray, y: np.ndarray, exclude_device: str | None = None) -> PosteriorFit:
    return PosteriorFit(prior, np.asarray(x, float), np.asarray(y, float), exclude_device)


@dataclass
class DeviceModel:
    """A fitted device model: what was measured (``networks``, their ``features`` and ``values``
    for ``metric`` — ``latency_ms`` or ``energy_mj``), about which device, and the prior used."""

    device: dict[str, Any]
    metric: str
    networks: list[str]
    features: np.ndarray
    values: np.ndarray
    prior: DevicePrior
    fit: PosteriorFit = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.values) < MIN_MEASUREMENTS:
            raise ValidationError(Problem("measurements", f"a device model needs at least {MIN_MEASUREMENTS} "
                                          f"measured networks, got {len(self.values)}"))
        self.fit = posterior_fit(self.prior, self.features, self.values)

    @property
    def batch(self) -> int:
        return int(self.device.get("batch", 1))

    @property
    def name(self) -> str:
        """The device's name from its measurement file (``device`` if it had none)."""
        return str(self.device.get("device") or "device")

    def predict_workload(self, layers) -> float:
        """Predicted value (the metric's units) of one workload built at :attr:`batch`."""
        return float(self.predict_features(feature_matrix([layers]))[0][0])

    def predict_features(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.fit.predict(np.atleast_2d(x))

    def loo_summary(self) -> dict[str, float]:
        """Leave-one-out error of the fit: median and max relative error, share within ±10%."""
        pred = self.fit.leave_one_out()
        rel = np.abs(pred - self.values) / self.values
        return {"median_rel_err": float(np.median(rel)), "max_rel_err": float(rel.max()),
                "within_10pct": float(np.mean(rel <= 0.10)), "n": len(self.values)}

    def to_dict(self) -> dict[str, Any]:
        return {"format": MODEL_FORMAT, "device": self.device, "metric": self.metric, "features": list(FEATURES),
                "networks": self.networks, "feature_rows": self.features.tolist(), "values": self.values.tolist(),
                "leave_one_out": self.loo_summary(), "prior": self.prior.to_dict()}

    def save(self, path: str | Path) -> None:
        write_json_atomic(path, self.to_dict(), indent=1)

    @classmethod
    def load(cls, path: str | Path) -> DeviceModel:
        data = read_json(path, "device model", None)
        fmt = data.get("format") if isinstance(data, dict) else None
        if fmt != MODEL_FORMAT:
            raise ValidationError(Problem(f"{path}:format", f"expected a device model of format `{MODEL_FORMAT}`, got "
                                          f"`{fmt}`; refit it with `codesign device fit MEAS.csv --out {path}`"))
        if data.get("features") != list(FEATURES):
            raise ValidationError(Problem(f"{path}:features", "this device model was fitted with another feature "
                                          f"set (an older codesign); refit it with `codesign device fit MEAS.csv "
                                          f"--out {path}`"))
        try:
            return cls(dict(data["device"]), str(data["metric"]), list(data["networks"]),
                       np.array(data["feature_rows"], float), np.array(data["values"], float),
                       DevicePrior.from_dict(data["prior"], f"{path}:prior",
                                             f"refit it with `codesign device fit MEAS.csv --out {path}`"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(Problem(str(path), f"malformed device model ({exc})")) from None


def predict_networks(model: DeviceModel, networks: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Predicted value and its standard deviation for architecture strings or ONNX paths."""
    workloads = []
    for net in networks:
        try:
            workloads.append(network_layers(net, model.batch))
        except CodesignError as exc:
            raise ValidationError(Problem(net[:80], f"cannot build this network: {exc}")) from None
    return model.predict_features(feature_matrix(workloads))


def describe_device_model(path: str | Path) -> dict[str, Any]:
    """What a report or model card says about a device model: device, batch, runtime, how many
    measurements and its leave-one-out error (or why it cannot be read)."""
    try:
        model = DeviceModel.load(path)
    except ValidationError as exc:
        return {"file": str(path), "error": str(exc)}
    loo = model.loo_summary()
    return {"file": str(path), "device": model.name, "metric": model.metric, "batch": model.batch,
            "runtime": model.device.get("runtime", ""), "precision": model.device.get("precision", ""),
            "measurements": loo["n"], "loo_median_rel_err": round(loo["median_rel_err"], 4),
            "loo_within_10pct": round(loo["within_10pct"], 4)}
