"""Published network families that are not MBConv ``ArchConfig`` s, each addressed by its own
architecture string: NAS-Bench-201 cells and the FBNet space (as in HW-NAS-Bench and HELP).

A family module gives ``parse(arch)`` (validates, errors name the token), ``workload(arch, batch)``
(the ``Layer`` s its reference implementation executes) and, except for the published ImageNet
networks (workloads only, for hardware validation), ``torch_module(arch)`` (for ONNX export).
:func:`family_of` tells which family an architecture string belongs to; the MBConv space's strings
(``net_r…``) are ``"ibn"``.
"""
from __future__ import annotations

from types import ModuleType

from ..errors import DecodeError, Problem
from . import fbnet, imagenet, nasbench201
from ..arch import ArchConfig
from ..workload.from_arch import arch_workload

FAMILIES: dict[str, ModuleType] = {"nasbench201": nasbench201, "fbnet": fbnet, "imagenet": imagenet}


def family_of(arch: str) -> str:
    """``"ibn"``, ``"nasbench201"``, ``"fbnet"`` or ``"imagenet"`` (published ImageNet networks by name,
    :mod:`codesign.nets.imagenet`) from the form of ``arch`` (not yet validated)."""
    text = arch.strip()
    if text.startswith("net_"):
        return "ibn"
    if text.startswith("|"):
        return "nasbench201"
    if "-" in text and text.split("-", 1)[0] in fbnet.BLOCKS:
        return "fbnet"
    if imagenet.is_imagenet_arch(text):
        return "imagenet"
    raise DecodeError(Problem("architecture string", f"`{text[:80]}` is not an MBConv string (`net_r…`), a "
                              "NAS-Bench-201 cell (`|op~0|+…|`), an FBNet string (22 block names joined by `-`) "
                              "or a published ImageNet network (e.g. `mobilenet_v2_1.0_224`, `resnet50_v1_224`)"))


def network_workload(arch: str, batch: int = 1):
    """The layers of any supported architecture string at ``batch`` images."""
    family = family_of(arch)
    if family == "ibn":
        return arch_workload(ArchConfig.from_string(arch), batch)
    return FAMILIES[family].workload(arch, batch)


def network_module(arch: str):
    """A torch module (eval mode) of any supported architecture string."""
    family = family_of(arch)
    if family == "ibn":
        from ..workload.model_builder import build_model
        return build_model(ArchConfig.from_string(arch)).eval()
    if family == "imagenet":
        raise DecodeError(Problem("architecture string", f"`{arch}`: published ImageNet networks have workloads "
                                  "only (for hardware validation), no torch module to export"))
    return FAMILIES[family].torch_module(arch).eval()
