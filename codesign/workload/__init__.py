"""Workloads: the list of :class:`~codesign.layer.Layer` s cost models and predictors consume.

``from_arch`` (an ``ArchConfig``'s layers), ``onnx_graph`` (any shape-inferred ONNX graph),
``source`` (resolving what the user named: an architecture string, a published network, an ONNX
file), ``model_builder`` (the torch network of an ``ArchConfig``) and ``onnx_export``. Only
``from_arch`` is imported here: torch and onnx load when their modules are imported.
"""
from .from_arch import arch_workload

__all__ = ["arch_workload"]
