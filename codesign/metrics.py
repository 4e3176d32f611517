"""``Metrics``: every score of one candidate, with units in the field names."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .checks import Checker
from .errors import Problem, ValidationError


@dataclass(frozen=True)
class Metrics:
    """Scores of one candidate; ``None`` means "not evaluated at this fidelity".

    ``latency_ms`` and ``energy_mj`` map a backend name (``analytical``, ``zigzag``, …) to its
    estimate; ``measured_latency_ms`` maps a runtime (``ort``, ``tvm``, …) to a measured median,
    and ``measured_latency_iqr_ms`` to that measurement's inter-quartile range;
    ``predicted_latency_ms`` maps a latency predictor (``block_lut``) to its prediction for this host;
    ``device_latency_ms`` maps a device model (``codesign device fit``, by device name) to its
    prediction for that target. For a quantized network ``accuracy`` is the quantized accuracy,
    ``accuracy_float`` the float one, and ``precision_supported`` says whether the accelerator can
    run its precision (1) or not (0).
    """

    accuracy: float | None = None
    accuracy_float: float | None = None
    precision_supported: int | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)
    energy_mj: dict[str, float] = field(default_factory=dict)
    area_mm2: float | None = None
    params: int | None = None
    macs: int | None = None
    measured_latency_ms: dict[str, float] = field(default_factory=dict)
    measured_latency_iqr_ms: dict[str, float] = field(default_factory=dict)
    predicted_latency_ms: dict[str, float] = field(default_factory=dict)
    device_latency_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_string(self) -> str:
        """Canonical JSON (sorted keys, no spaces)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_string(cls, text: str) -> Metrics:
        try:
            data = json.loads(text)
        except (TypeError, json.JSONDecodeError) as exc:
            raise ValidationError(Problem("metrics JSON", f"malformed JSON: {exc}")) from None
        return cls.from_dict(data, source="metrics JSON")

    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> Metrics:
        chk = Checker(source)
        names = [f.name for f in fields(cls)]
        m = chk.mapping(data, "", optional=names)
        out: dict[str, Any] = {}
        if m is not None:
            for name in names:
                value = m.get(name)
                if name in ("latency_ms", "energy_mj", "measured_latency_ms", "measured_latency_iqr_ms",
                            "predicted_latency_ms", "device_latency_ms"):
                    value = {} if value is None else value
                    sub = chk.mapping(value, name, optional=list(value) if isinstance(value, dict) else ())
                    if sub is not None:
                        out[name] = {str(k): _finite(chk, v, f"{name}.{k}") for k, v in sub.items()}
                elif value is None:
                    out[name] = None
                elif name in ("params", "macs"):
                    out[name] = chk.integer(value, name, 0, 2**62)
                elif name == "precision_supported":
                    out[name] = chk.integer(value, name, 0, 1)
                elif name in ("accuracy", "accuracy_float"):
                    out[name] = chk.number(value, name, 0.0, 1.0)
                else:
                    out[name] = _finite(chk, value, name)
        chk.raise_if_any("invalid metrics")
        return cls(**out)


def _finite(chk: Checker, value: Any, path: str) -> float | None:
    """A finite, non-negative number (latency, energy, area)."""
    return chk.number(value, path, 0.0, sys.float_info.max)
