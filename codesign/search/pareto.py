"""Pareto front, non-dominated ranks and hypervolume, through optuna's implementations.

Everything works on *losses*: one row per point, every column minimised and measured relative to the
objective's reference (see :meth:`Objective.loss`), so the hypervolume's reference point is the
origin and a point counts only where it beats every reference.
"""
from __future__ import annotations

import numpy as np
from optuna._hypervolume import compute_hypervolume
from optuna.study._multi_objective import _fast_non_domination_rank, _is_pareto_front


def pareto_mask(losses: np.ndarray) -> np.ndarray:
    """True for the rows no other row dominates (duplicates of a front point are all kept)."""
    losses = np.asarray(losses, dtype=float)
    if len(losses) == 0:
        return np.zeros(0, dtype=bool)
    return _is_pareto_front(losses, assume_unique_lexsorted=False)


def nondomination_rank(losses: np.ndarray) -> np.ndarray:
    """0 for the front, 1 for the front of the rest, and so on."""
    losses = np.asarray(losses, dtype=float)
    if len(losses) == 0:
        return np.zeros(0, dtype=int)
    return _fast_non_domination_rank(losses)


def hypervolume(losses: np.ndarray) -> float:
    """Volume dominated by the points and bounded by the reference point (the origin)."""
    losses = np.asarray(losses, dtype=float)
    if losses.ndim != 2 or len(losses) == 0:
        return 0.0
    inside = losses[np.all(losses < 0, axis=1)]
    if len(inside) == 0:
        return 0.0
    return float(compute_hypervolume(inside, np.zeros(losses.shape[1]), assume_pareto=False))


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
