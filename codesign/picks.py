"""Which trial of a run to pick (for the report's stars and for export): a named point of the Pareto
front, or a trial number.

Named picks: ``knee``, and ``max-METRIC`` / ``min-METRIC`` for each objective in its direction
(``max-accuracy``, ``min-latency_ms``, …; ``min-latency`` and ``min-energy`` are short for the
accelerator's ``latency_ms`` and ``energy_mj``).

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

from .errors import Problem, ValidationError
from .run import knee_index
from .search.objectives import Objective, losses

#: the picks of a run with the default objectives (the CLI's help lists these)
NAMED_PICKS = ("knee", "max-accuracy", "min-latency", "min-energy")
_SHORT = {"latency": "latency_ms", "energy": "energy_mj"}
KNEE_RULE = ("front point closest to the ideal point after scaling each objective (log10 for log-scaled ones) "
             "to [0, 1] over the front; ties to the lower trial number")


def pick_names(objectives: list[Objective]) -> list[str]:
    """``knee`` and one ``max-``/``min-`` pick per objective, in the objective's direction."""
    short = {v: k for k, v in _SHORT.items()}
    return ["knee"] + [f"{'max' if o.direction == 'maximize' else 'min'}-{short.get(o.metric, o.metric)}"
                       for o in objectives]


def _named(pick: str) -> tuple[str, str] | None:
    """(metric, direction) a ``max-``/``min-`` pick names, or None."""
    head, sep, name = pick.partition("-")
    if not sep or head not in ("max", "min") or not name:
        return None
    return _SHORT.get(name, name), "maximize" if head == "max" else "minimize"


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
    if pick != "knee" and _named(pick) is None:
        raise ValidationError(Problem("--pick", f"expected one of {', '.join(pick_names(objectives))} or a trial "
                                                f"number, got `{pick}`"))
    front = sorted((r for r in rows if r["on_front"]), key=lambda r: r["trial"])
    if not front:
        raise ValidationError(Problem("--pick", "the run has no feasible trial yet, so no Pareto front to pick from"))
    if pick == "knee":
        ls = np.array([losses(r, objectives) for r in front])
        return front[knee_index(ls)], f"knee: {KNEE_RULE}"
    metric, direction = _named(pick)  # type: ignore[misc]
    have = [r for r in front if r.get(metric) is not None]
    if not have:
        raise ValidationError(Problem("--pick", f"`{pick}` needs metric `{metric}`, which this run did not record"))
    sign = -1.0 if direction == "maximize" else 1.0
    row = min(have, key=lambda r: (sign * r[metric], r["trial"]))
    return row, f"{pick}: the front point with the {'highest' if sign < 0 else 'lowest'} {metric}"
