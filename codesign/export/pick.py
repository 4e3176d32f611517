"""Which trial of a run to export: a named point of the Pareto front, or a trial number.

``knee`` rule (documented in the model card and the README): on the feasible Pareto front, write
every objective in its minimisation form (``Objective.loss``: log10 for log-scaled objectives such
as latency and energy, linear for accuracy), scale each to [0, 1] over the front (0 = the front's
best value, 1 = its worst; an objective constant over the front contributes 0), and take the point
with the smallest Euclidean distance to the ideal point (0, …, 0). Ties go to the lower trial
number. It is the balanced compromise: no objective is given up entirely for the others.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import Problem, ValidationError
from ..search.objectives import Objective, losses

NAMED_PICKS = {"knee": None, "max-accuracy": ("accuracy", "maximize"), "min-latency": ("latency_ms", "minimize"),
               "min-energy": ("energy_mj", "minimize")}
KNEE_RULE = ("front point closest to the ideal point after scaling each objective (log10 for log-scaled ones) "
             "to [0, 1] over the front; ties to the lower trial number")


def knee_index(front_losses: np.ndarray) -> int:
    """Index (into the rows of ``front_losses``, shape points × objectives) of the knee point."""
    lo, hi = front_losses.min(axis=0), front_losses.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    dist = np.linalg.norm((front_losses - lo) / span, axis=1)
    return int(np.argmin(dist))  # argmin returns the first of equal distances


def pick_row(rows: list[dict[str, Any]], objectives: list[Objective], pick: str) -> tuple[dict[str, Any], str]:
    """The trial row ``pick`` names among ``rows`` (every trial of a run), and how it was chosen."""
    pick = str(pick).strip()
    if pick.isdigit():
        number = int(pick)
        match = [r for r in rows if r["trial"] == number]
        if not match:
            raise ValidationError(Problem("--pick", f"trial {number} is not in this run "
                                                    f"(trials 0..{max((r['trial'] for r in rows), default=-1)})"))
        row = match[0]
        if row["state"] != "COMPLETE":
            raise ValidationError(Problem("--pick", f"trial {number} did not complete ({row['state']}: "
                                                    f"{row.get('error') or 'no result'}); pick a completed trial"))
        return row, f"trial {number} as asked" + ("" if row["on_front"] else " (not on the Pareto front)")
    if pick not in NAMED_PICKS:
        raise ValidationError(Problem("--pick", f"expected one of {', '.join(NAMED_PICKS)} or a trial number, "
                                                f"got `{pick}`"))
    front = sorted((r for r in rows if r["on_front"]), key=lambda r: r["trial"])
    if not front:
        raise ValidationError(Problem("--pick", "the run has no feasible trial yet, so no Pareto front to pick from"))
    if pick == "knee":
        ls = np.array([losses(r, objectives) for r in front])
        return front[knee_index(ls)], f"knee: {KNEE_RULE}"
    metric, direction = NAMED_PICKS[pick]  # type: ignore[misc]
    have = [r for r in front if r.get(metric) is not None]
    if not have:
        raise ValidationError(Problem("--pick", f"`{pick}` needs metric `{metric}`, which this run did not record"))
    sign = -1.0 if direction == "maximize" else 1.0
    row = min(have, key=lambda r: (sign * r[metric], r["trial"]))
    return row, f"{pick}: the front point with the {'highest' if sign < 0 else 'lowest'} {metric}"
