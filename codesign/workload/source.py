"""Resolve what a user names on the command line (``ARCH_STRING`` or ``MODEL.onnx``) to a workload."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..arch import ArchConfig
from ..errors import Problem, ValidationError
from ..layer import Layer
from .from_arch import arch_workload
from ..errors import DecodeError
from ..nets import FAMILIES, family_of


@dataclass(frozen=True)
class WorkloadSource:
    label: str
    layers: list[Layer]
    arch: ArchConfig | None  # set when the workload came from an architecture string


def _is_file(path: str) -> bool:
    try:
        return Path(path).is_file()
    except OSError:  # e.g. a name too long to be a path
        return False


def resolve_network(spec: str) -> ArchConfig | str:
    """What the user named: a decoded architecture string (``net_…``), or the ONNX file path as given."""
    if spec.startswith("net_"):
        return ArchConfig.from_string(spec)
    if spec.endswith(".onnx") or Path(spec).suffix == "" and _is_file(spec):
        return spec
    raise ValidationError(Problem(spec, "expected an architecture string (net_r…:stem_…:…:head_…), a "
                                        "NAS-Bench-201 / FBNet string, a published network name such as "
                                        "`mobilenet_v2_1.0_224`, or the path of an .onnx file"))


def workload_source(spec: str, batch: int = 1) -> WorkloadSource:
    """An architecture string (``net_…``), a NAS-Bench-201 / FBNet string or published ImageNet network
    name (:mod:`codesign.nets`), or an ONNX file path → its layers."""
    if not spec.startswith("net_") and not spec.endswith(".onnx") and not _is_file(spec):
        try:
            family = family_of(spec)
        except DecodeError:
            family = None
        if family in FAMILIES:
            return WorkloadSource(spec, FAMILIES[family].workload(spec, batch), None)
    network = resolve_network(spec)
    if isinstance(network, ArchConfig):
        return WorkloadSource("architecture", arch_workload(network, batch=batch), network)
    from .onnx_graph import workload_from_onnx

    return WorkloadSource(spec, workload_from_onnx(spec, batch=batch), None)
