"""A searcher of your own, defined in this file: simulated annealing over the named choices, on the
scalar reward, registered by name and used by an ordinary YAML-configured joint search (no codesign
file changes). It sees only the choices (``self.choices``), which of them matter
(``self.space.active(values)``) and the feedback of each trial.

    python examples/own_searcher.py --out runs/annealing
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from codesign import Feedback, Searcher, register_searcher
from codesign.spaces.choice import mutate_values


@register_searcher("annealing")
class Annealing(Searcher):
    """Propose a one-choice mutation of the current point; accept a better reward always and a worse
    one with probability exp(Δ / T); the temperature falls geometrically per trial."""

    name = "annealing"
    OPTIONS = {"t0": 0.05, "cooling": 0.97}

    def check_options(self) -> None:
        self.option("t0", 1e-6, 10.0, integer=False)
        self.option("cooling", 0.5, 1.0, integer=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.current: dict[str, Any] | None = None
        self.current_reward = -math.inf
        self.temperature = float(self.options["t0"])

    def ask(self) -> dict[str, Any]:
        if self.current is None:
            return self.random_values()
        return mutate_values(self.choices, self.space.active(self.current), self.current, self.rng)

    def tell(self, values: dict[str, Any], feedback: Feedback) -> None:
        reward = feedback.reward if feedback.reward is not None else -math.inf
        delta = reward - self.current_reward
        if self.current is None or delta >= 0 or self.rng.random() < math.exp(delta / self.temperature):
            self.current, self.current_reward = values, reward
        self.temperature *= float(self.options["cooling"])


def main(out: str | Path, trials: int = 24, accuracy: dict[str, Any] | None = None,
         executor: str = "inline") -> dict[str, Any]:
    from codesign.report import build_report
    from codesign.search.config import SearchConfig
    from codesign.search.loop import run_search
    from codesign.search.summary import write_summary

    doc = {"name": "annealing", "seed": 0, "space": {"arch": "ibn_32_compact", "hw": "nahas_like"},
           "accuracy": accuracy or {"fidelity": "supernet", "supernet": {"steps": 30, "batch_size": 64, "seed": 0},
                                    "calib_images": 256},
           "objectives": ["accuracy", "latency_ms", "energy_mj"],
           "reward": {"kind": "mnas_soft", "targets": {"latency_ms": 0.5, "energy_mj": 0.05}},
           "searcher": {"name": "annealing", "batch": 1, "t0": 0.05, "cooling": 0.95},
           "budget": {"trials": trials}, "executor": {"kind": executor}}
    study = run_search(SearchConfig.from_dict(doc, source="own_searcher.py"), out, progress=False)
    summary = write_summary(out)
    return {"summary": summary, "report": build_report(out)["report"], "study": study}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/annealing")
    ap.add_argument("--trials", type=int, default=24)
    args = ap.parse_args()
    result = main(args.out, args.trials)
    print(json.dumps({k: result["summary"][k] for k in ("trials_settled", "front_size", "hypervolume")}))
