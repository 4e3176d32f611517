"""Workload features of a network for device latency models: sums over its layers, units in names.

Every feature is additive over layers (a network's value is the sum of its layers' values), so a
non-negative combination of them is a per-layer latency model summed over the network:

* ``layers_<kind>`` — layer counts (a fixed cost per kernel launch or per layer, in layers);
* ``mmacs_<kind>`` — MACs by kind (dense k×k, grouped, depthwise, pointwise, fully connected), in 10⁶;
* ``melems_<what>`` — activation elements read + written by MAC and by other layers, and
  parameters, in 10⁶ elements;
* ``mmacs_min_<θ>`` — Σ min(layer MACs, θ): concave terms, a small layer costs more per MAC
  (launch- or under-utilisation-bound);
* ``melems_over_<θ>`` — Σ max(0, layer footprint − θ): convex terms, a layer whose inputs, outputs
  and weights exceed a cache of θ elements streams them;
* ``analytical_ms_<template>`` — the analytical cost model's latency on a shipped accelerator
  template (per-layer mapping, utilisation and bandwidth bounds), in ms.

:data:`FEATURES` is the one list of names; :func:`feature_matrix` builds rows in that order.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from codesign.layer import Layer
from codesign.hw_files import resolve_accel
from accel_models.hardware_arrays import accel_arrays
from accel_models.analytical_backend import evaluate_batch

_MAC_KINDS = ("conv", "grouped", "depthwise", "pointwise", "fc")
_LAYER_KINDS = ("mac", "elementwise", "pool", "data_movement")
#: per-layer MAC thresholds of the concave terms (MACs)
MAC_KNEES = (2**14, 2**17, 2**20, 2**23)
#: per-layer footprint thresholds of the convex terms (elements)
FOOTPRINT_KNEES = (2**16, 2**18, 2**20)
#: accelerator templates whose analytical latency is a feature
TEMPLATES = ("edge_tpu_like", "eyeriss_like", "simba_like")

FEATURES: tuple[str, ...] = (
    "constant",
    *(f"layers_{k}" for k in _LAYER_KINDS),
    *(f"mmacs_{k}" for k in _MAC_KINDS),
    "melems_mac_activations", "melems_other_activations", "melems_params",
    *(f"mmacs_min_2e{int(np.log2(t))}" for t in MAC_KNEES),
    *(f"melems_over_2e{int(np.log2(t))}" for t in FOOTPRINT_KNEES),
    *(f"analytical_ms_{t}" for t in TEMPLATES),
)


def _layer_table(layers: list[Layer]) -> tuple[np.ndarray, ...]:
    kind = np.array([_mac_kind(l) for l in layers])
    macs = np.array([l.macs for l in layers], dtype=float)
    acts = np.array([l.input_elems + l.output_elems for l in layers], dtype=float)
    params = np.array([l.params for l in layers], dtype=float)
    return kind, macs, acts, params


def _mac_kind(layer: Layer) -> str:
    if layer.op == "conv" and layer.groups > 1:
        return "grouped"
    return layer.op


def structural_features(layers: list[Layer]) -> np.ndarray:
    """The features of one workload except the analytical-model ones (see :data:`FEATURES`)."""
    if not layers:
        raise ValueError("an empty workload has no features")
    kind, macs, acts, params = _layer_table(layers)
    is_mac = np.isin(kind, _MAC_KINDS)
    counts = [float(is_mac.sum())] + [float((kind == k).sum()) for k in _LAYER_KINDS[1:]]
    by_kind = [macs[kind == k].sum() / 1e6 for k in _MAC_KINDS]
    footprint = acts + params
    concave = [np.minimum(macs[is_mac], t).sum() / 1e6 for t in MAC_KNEES]
    convex = [np.maximum(footprint - t, 0.0).sum() / 1e6 for t in FOOTPRINT_KNEES]
    return np.array([1.0, *counts, *by_kind, acts[is_mac].sum() / 1e6, acts[~is_mac].sum() / 1e6,
                     params.sum() / 1e6, *concave, *convex])


@lru_cache(maxsize=1)
def _template_arrays():
    return accel_arrays([resolve_accel(t) for t in TEMPLATES])


def feature_matrix(workloads: list[list[Layer]]) -> np.ndarray:
    """Rows of :data:`FEATURES` for many workloads (the analytical terms in one batched pass)."""
    structural = np.stack([structural_features(w) for w in workloads])
    accels = _template_arrays()
    n = len(workloads)
    pairs = np.stack([np.tile(np.arange(n), len(TEMPLATES)), np.repeat(np.arange(len(TEMPLATES)), n)], axis=1)
    analytical = evaluate_batch(workloads, accels, pairs).latency_ms.reshape(len(TEMPLATES), n).T
    return np.hstack([structural, analytical])
