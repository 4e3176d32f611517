"""Measured latency of the final front's networks on the configured runtime (``measure.trials: front``).

Measurement runs in this process, one network after another (timings taken while other trials
run are noisy), once per distinct network; results are kept in the store's study attributes
(``measured_latency`` = {architecture string: {median_ms, iqr_ms, runtime, threads}}), so a resumed
run does not measure a network twice.
"""
from __future__ import annotations

from tqdm.auto import tqdm

from ..arch import ArchConfig
from ..candidate import Candidate
from .evaluator import measure_latency


def measure_front(study, progress: bool = True) -> dict[str, dict]:
    """Measure the front of ``study`` (built from a configuration: ``study.config``)."""
    m = study.config.measure
    if m.runtime == "none" or m.trials != "front":
        return {}
    measured = dict(study.store.info("measured_latency", {}))
    archs = sorted({Candidate.from_string(o.candidate).arch.to_string() for o in study.front()})
    for key in tqdm([a for a in archs if a not in measured], desc=f"measure front ({m.runtime})",
                    disable=not progress):
        try:
            median, iqr = measure_latency(ArchConfig.from_string(key), m)
            measured[key] = {"median_ms": median, "iqr_ms": iqr, "runtime": m.runtime, "threads": m.threads}
        except Exception as exc:  # noqa: BLE001 - one network that fails to measure is reported, not fatal
            measured[key] = {"median_ms": None, "error": f"{type(exc).__name__}: {exc}"[:500], "runtime": m.runtime}
        study.store.set_info("measured_latency", measured)
    return measured

