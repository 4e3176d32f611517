"""Pareto front, non-dominated ranks and hypervolume, on *losses*: one row per point, every column
minimised and measured relative to the objective's reference (see ``Objective.loss``), so the
hypervolume's reference point is the origin and a point counts only where it beats every reference.

Plain numpy, exact, with no private API of any library: the engine, the searchers and the report
all use these functions.
"""
from __future__ import annotations

import numpy as np


def pareto_mask(losses: np.ndarray) -> np.ndarray:
    """True for the rows no other row dominates (duplicates of a front point are all kept).

    Rows are visited in lexicographic order, so a row can only be dominated by one visited before
    it, and checking it against the front found so far suffices (dominance is transitive)."""
    losses = np.asarray(losses, dtype=float)
    if len(losses) == 0:
        return np.zeros(0, dtype=bool)
    unique, inverse = np.unique(losses, axis=0, return_inverse=True)
    if len(unique) < len(losses):  # equal points share one verdict
        return _front_of_sorted(unique)[inverse.reshape(-1)]
    return _front_of_sorted(losses)


def _front_of_sorted(losses: np.ndarray) -> np.ndarray:
    order = np.lexsort(losses.T[::-1])
    mask = np.zeros(len(losses), dtype=bool)
    front = np.empty((0, losses.shape[1]))
    for i in order:
        row = losses[i]
        if len(front) and np.any(np.all(front <= row, axis=1) & np.any(front < row, axis=1)):
            continue
        mask[i] = True
        front = np.vstack([front, row])
    return mask


def nondomination_rank(losses: np.ndarray) -> np.ndarray:
    """0 for the front, 1 for the front of the rest, and so on."""
    losses = np.asarray(losses, dtype=float)
    ranks = np.full(len(losses), -1, dtype=int)
    left = np.arange(len(losses))
    rank = 0
    while len(left):
        mask = pareto_mask(losses[left])
        ranks[left[mask]] = rank
        left = left[~mask]
        rank += 1
    return ranks


def hypervolume(losses: np.ndarray) -> float:
    """Volume dominated by the points and bounded by the reference point (the origin)."""
    losses = np.asarray(losses, dtype=float)
    if losses.ndim != 2 or len(losses) == 0:
        return 0.0
    inside = losses[np.all(losses < 0, axis=1)]
    if len(inside) == 0:
        return 0.0
    return float(_volume(-inside[pareto_mask(inside)]))


def _volume(points: np.ndarray) -> float:
    """Volume of the union of the boxes [0, p] of the (positive) ``points``, by slicing along the
    last axis (HSO): each slab between consecutive heights is the lower-dimensional volume of the
    points at least that tall."""
    if points.shape[1] == 1:
        return float(points[:, 0].max())
    if points.shape[1] == 2:
        p = points[np.argsort(-points[:, 0])]
        heights = np.maximum.accumulate(p[:, 1])
        widths = p[:, 0] - np.append(p[1:, 0], 0.0)
        return float(np.sum(widths * heights))
    z = np.unique(points[:, -1])[::-1]
    total = 0.0
    for k, top in enumerate(z):
        below = z[k + 1] if k + 1 < len(z) else 0.0
        slab = points[points[:, -1] >= top][:, :-1]
        total += (top - below) * _volume(slab[pareto_mask(-slab)])
    return total


def hypervolume_history(losses: np.ndarray, feasible: np.ndarray | None = None) -> np.ndarray:
    """Hypervolume after each trial (infeasible/failed rows, marked False in ``feasible``, add nothing)."""
    losses = np.asarray(losses, dtype=float)
    ok = np.ones(len(losses), dtype=bool) if feasible is None else np.asarray(feasible, dtype=bool)
    out = np.zeros(len(losses))
    front = np.zeros((0, losses.shape[1] if losses.ndim == 2 else 0))
    hv = 0.0
    for i, row in enumerate(losses):
        if ok[i] and np.all(row < 0) and not np.any(np.all(front <= row, axis=1)):
            front = np.vstack([front[~np.all(row <= front, axis=1)], row])
            hv = hypervolume(front)
        out[i] = hv
    return out
