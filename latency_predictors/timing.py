"""Robust timing statistics shared by every runtime: warm-up, repeats, median, IQR, CV, re-measure."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass(frozen=True)
class Measurement:
    """Latency of one model on one runtime, in milliseconds."""

    median_ms: float
    iqr_ms: float
    cv: float  # coefficient of variation of the kept samples (std / mean)
    samples: int
    attempts: int  # how many times the whole measurement ran (re-measured when too noisy)
    env: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def time_callable(run: Callable[[], object], warmup: int = 10, repeats: int = 50, max_cv: float = 0.05,
                  max_attempts: int = 3, min_seconds: float = 0.0,
                  clock: Callable[[], float] = time.perf_counter) -> tuple[np.ndarray, int]:
    """Run ``warmup`` untimed calls, then ``repeats`` timed ones; repeat the whole measurement (up to
    ``max_attempts``) while the coefficient of variation exceeds ``max_cv``. Returns the samples (ms)
    of the least noisy attempt and the number of attempts. ``clock`` (seconds) is injectable so the
    retake logic can be tested without real time."""
    best: np.ndarray | None = None
    best_cv = np.inf
    for attempt in range(1, max_attempts + 1):
        for _ in range(warmup):
            run()
        samples = []
        start = clock()
        while len(samples) < repeats or clock() - start < min_seconds:
            t = clock()
            run()
            samples.append((clock() - t) * 1e3)
        arr = np.asarray(samples)
        cv = float(arr.std() / arr.mean()) if arr.mean() > 0 else 0.0
        if cv < best_cv:
            best, best_cv = arr, cv
        if cv <= max_cv:
            return arr, attempt
    return best, max_attempts  # type: ignore[return-value]


def summarize(samples: np.ndarray, attempts: int, env: dict) -> Measurement:
    q1, med, q3 = np.percentile(samples, [25, 50, 75])
    return Measurement(float(med), float(q3 - q1), float(samples.std() / samples.mean()), len(samples), attempts, env)
