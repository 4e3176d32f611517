"""The metric registry: every metric a search can optimise, constrain, plot or print, declared once
with its direction, unit, label, axis scale and default reference.

Objectives, constraints, the report's axes and the model card read it; an evaluator may return only
declared metrics. A user adds one from Python before a run::

    from codesign import MetricSpec, register_metric
    register_metric(MetricSpec("peak_activation_kib", "minimize", "KiB", "peak activation memory (KiB)"))

or from an installed package through an entry point in the group ``codesign.metrics`` whose value
is a :class:`MetricSpec`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import Problem, ValidationError
from .plugins import Registry

DIRECTIONS = ("minimize", "maximize")
SCALES = ("linear", "log")


@dataclass(frozen=True)
class MetricSpec:
    """One metric. ``unit`` is what the value counts (``ms``, ``mJ``, ``mm²``, ``fraction``, …);
    ``label`` names an axis or a column; ``scale`` is how objectives compare it (``log`` for
    quantities spanning decades); ``reference`` is the default worst value that still counts
    towards the hypervolume (``None``: 0 on a linear scale, 1 on a log scale). ``compute``, a
    function of a candidate (for a YAML search: a network × accelerator
    :class:`~codesign.candidate.Candidate`) returning the value, lets the built-in evaluator give
    the metric; it must be importable by name (module level) to run in the process pool or on Ray."""

    name: str
    direction: str
    unit: str
    label: str
    scale: str = "log"
    reference: float | None = None
    description: str = ""
    compute: Callable[[Any], float] | None = field(default=None, compare=False)

    def __post_init__(self):
        problems = []
        if self.direction not in DIRECTIONS:
            problems.append(Problem(f"metric {self.name}.direction", f"expected one of {DIRECTIONS}, got {self.direction!r}"))
        if self.scale not in SCALES:
            problems.append(Problem(f"metric {self.name}.scale", f"expected one of {SCALES}, got {self.scale!r}"))
        if self.reference is not None and self.scale == "log" and not self.reference > 0:
            problems.append(Problem(f"metric {self.name}.reference", f"a log-scale reference must be > 0, got {self.reference}"))
        if problems:
            raise ValidationError(problems, f"invalid metric {self.name}")

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("name", "direction", "unit", "label", "scale", "reference", "description")}


METRICS = Registry("metric", "codesign.metrics")

_BUILTIN = (
    MetricSpec("accuracy", "maximize", "fraction", "accuracy", "linear",
               description="top-1 accuracy at the run's fidelity (proxy training, supernet or predictor)"),
    MetricSpec("accuracy_float", "maximize", "fraction", "float accuracy", "linear",
               description="top-1 accuracy of a quantized network before quantization (same fidelity)"),
    MetricSpec("precision_supported", "maximize", "flag", "precision supported", "linear",
               description="1 when the accelerator's datapath (precision_bits) is wide enough for the network's "
                           "quantization policy, 0 when it cannot run it"),
    MetricSpec("latency_ms", "minimize", "ms", "accelerator latency (ms)",
               description="the cost model's latency of the network on the candidate accelerator"),
    MetricSpec("energy_mj", "minimize", "mJ", "energy (mJ)",
               description="the cost model's energy per inference on the candidate accelerator"),
    MetricSpec("area_mm2", "minimize", "mm²", "area (mm²)", description="the candidate accelerator's area"),
    MetricSpec("params", "minimize", "parameters", "parameters", description="the network's weights"),
    MetricSpec("macs", "minimize", "MACs", "MACs", description="multiply-accumulates per inference"),
    MetricSpec("measured_latency_ms", "minimize", "ms", "measured latency (ms)",
               description="median latency measured on the host or an RPC device (onnxruntime or TVM)"),
    MetricSpec("predicted_latency_ms", "minimize", "ms", "predicted host latency (ms)",
               description="the block latency table's prediction for the host"),
    MetricSpec("device_latency_ms", "minimize", "ms", "device latency (ms)",
               description="a device model's prediction for the user's target"),
)
for _spec in _BUILTIN:
    METRICS.register(_spec.name, _spec)
#: the metrics the built-in evaluator gives without a ``compute`` function
BUILTIN_METRICS = tuple(s.name for s in _BUILTIN)


def register_metric(spec: MetricSpec) -> MetricSpec:
    """Declare ``spec`` (replacing a metric of the same name); returns it."""
    if not isinstance(spec, MetricSpec):
        raise ValidationError(Problem("register_metric", f"expected a MetricSpec, got {type(spec).__name__}"))
    METRICS.register(spec.name, spec)
    return spec


def metric(name: str, where: str | None = None) -> MetricSpec:
    """The declared metric ``name`` (an unknown name is an error at ``where`` listing the known ones)."""
    spec = METRICS.get(name, where)
    if not isinstance(spec, MetricSpec):
        raise ValidationError(Problem(where or f"metric `{name}`",
                                      f"the plug-in `{name}` is a {type(spec).__name__}, not a MetricSpec"))
    return spec


def metric_names() -> list[str]:
    return METRICS.names()


def is_metric(name: str) -> bool:
    return name in METRICS
