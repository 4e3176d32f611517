"""A closed-form toy problem for tests and benchmarks of the engine itself (stores, executors,
failures), where training a network would only add time: four choices of four widths each, and an
evaluator whose accuracy rises and latency grows with the widths chosen.

It lives in the package (as ``optuna.testing`` does) so that pool and Ray workers can import the
evaluator by name wherever the tests or benchmarks run.
"""
from __future__ import annotations

#: four choices ``x0`` … ``x3``, each a width level
TOY_SPACE = {f"x{i}": ("none", "narrow", "mid", "wide") for i in range(4)}
_LEVEL = {"none": 0, "narrow": 1, "mid": 2, "wide": 3}
#: the objectives of a toy study: accuracy up, latency down (reference point 100 ms)
TOY_OBJECTIVES = ["accuracy", {"metric": "measured_latency_ms", "reference": 100.0}]


def toy_evaluator(candidate) -> dict[str, float]:
    """Accuracy (fraction; later choices weigh more) and latency (ms; grows as the total width^1.5)."""
    levels = [_LEVEL[v] for v in candidate.as_dict().values()]
    return {"accuracy": 0.5 + sum((i + 1) * lv for i, lv in enumerate(levels)) / 60,
            "measured_latency_ms": 1.0 + sum(levels) ** 1.5}
