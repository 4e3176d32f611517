"""Scoring one candidate: accuracy (the configured fidelity), accelerator latency / energy / area
(the configured cost model), network size, and optionally measured latency on a runtime.

``evaluate_trial`` is what executors run, in this process or in a worker: it takes only plain,
picklable arguments and keeps one :class:`CandidateEvaluator` per (configuration, run directory)
alive in the worker, so the data set and the supernet load once per worker, not once per trial.
"""
from __future__ import annotations

import json
import os
import time
import traceback
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..candidate import Candidate
from ..errors import CodesignError
from ..layer import workload_totals
from ..metrics import Metrics
from ..spaces.arch_space import ArchSpace
from ..workload.from_arch import arch_workload
from ..accuracy.sources import accuracy_source
from .config import MeasureConfig, SearchConfig


@dataclass
class TrialResult:
    """What one evaluation produced: metrics, seconds per stage, or the reason it failed."""

    metrics: Metrics | None
    timings_s: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"metrics": self.metrics.to_dict() if self.metrics else None, "timings_s": self.timings_s,
                "error": self.error}


def measure_latency(arch, how: MeasureConfig) -> tuple[float, float]:
    """Measured median and IQR latency (ms) of ``arch``'s network as the run's ``measure`` section
    says: its runtime (ort | tvm), threads, and for TVM its RPC board, target and cross compiler."""
    from ..workload.onnx_export import export_onnx

    proto = export_onnx(arch)
    if how.runtime == "ort":
        from latency_predictors.ort_runtime import measure_ort

        m = measure_ort(proto, threads=how.threads)
    else:
        from latency_predictors.tvm_runtime import measure_tvm

        m = measure_tvm(proto, threads=how.threads, rpc=how.rpc, target=how.target, cc=how.cc)
    return m.median_ms, m.iqr_ms


class CandidateEvaluator:
    def __init__(self, cfg: SearchConfig, run_dir: Path):
        self.cfg = cfg
        self.space = ArchSpace.resolve(cfg.arch_space)
        self.accuracy = accuracy_source(cfg, self.space, run_dir)
        self._acc_cache: dict[str, float] = {}
        self.predictor = None
        if cfg.measure.predictor:
            from latency_predictors.block_lut_predictor import BlockLutPredictor

            self.predictor = BlockLutPredictor.load(cfg.measure.predictor)
        self.device_model = None
        if cfg.measure.device:
            from latency_predictors.device_model import DeviceModel

            self.device_model = DeviceModel.load(cfg.measure.device)

    def __call__(self, cand: Candidate) -> TrialResult:
        from accel_models.registry import evaluate

        t: dict[str, float] = {}
        start = time.perf_counter()
        key = cand.arch.to_string()
        if key not in self._acc_cache:
            self._acc_cache[key] = self.accuracy(cand.arch)
        acc = self._acc_cache[key]
        t["accuracy_s"] = time.perf_counter() - start
        start = time.perf_counter()
        workload = arch_workload(cand.arch)
        report = evaluate(workload, cand.accel, self.cfg.backend)
        totals = workload_totals(workload)
        t["hardware_s"] = time.perf_counter() - start
        measured, iqr = {}, {}
        m = self.cfg.measure
        if m.runtime != "none" and m.trials == "all":
            start = time.perf_counter()
            measured[m.runtime], iqr[m.runtime] = measure_latency(cand.arch, m)
            t["measure_s"] = time.perf_counter() - start
        predicted = {}
        if self.predictor is not None:
            start = time.perf_counter()
            predicted["block_lut"] = self.predictor.predict(cand.arch, measure_missing=True)
            t["predict_s"] = time.perf_counter() - start
        device = {}
        if self.device_model is not None:
            start = time.perf_counter()
            device[self.device_model.name] = self.device_model.predict_workload(
                workload if self.device_model.batch == 1 else arch_workload(cand.arch, self.device_model.batch))
            t["device_s"] = time.perf_counter() - start
        metrics = Metrics(accuracy=float(acc), latency_ms={self.cfg.backend: report.latency_ms},
                          energy_mj={self.cfg.backend: report.energy_mj}, area_mm2=report.area_mm2,
                          params=int(totals["params"]), macs=int(totals["macs"]),
                          measured_latency_ms=measured, measured_latency_iqr_ms=iqr, predicted_latency_ms=predicted,
                          device_latency_ms=device)
        return TrialResult(metrics, t)


_EVALUATORS: dict[tuple[str, str], CandidateEvaluator] = {}


def _injected_fault(candidate: str) -> None:
    """Testing hook: ``CODESIGN_FAULT=KIND:N[,KIND:N…]`` makes every candidate whose CRC-32 is divisible
    by N raise (``raise``), hang (``hang``), exhaust memory (``oom``) or take 0.1 s longer (``delay``, to
    give kill tests a search slow enough to interrupt), to exercise trial isolation and resume; with
    several entries the first that matches applies."""
    spec = os.environ.get("CODESIGN_FAULT")
    if not spec:
        return
    crc = zlib.crc32(candidate.encode())
    for entry in spec.split(","):
        kind, _, n = entry.strip().partition(":")
        if crc % max(int(n or 1), 1) == 0:
            break
    else:
        return
    if kind == "raise":
        raise RuntimeError("injected fault (CODESIGN_FAULT)")
    if kind == "hang":
        time.sleep(3600)
    if kind == "delay":
        time.sleep(0.1)
    if kind == "oom":
        hog = []
        while True:
            hog.append(bytearray(256 * 1024 * 1024))


def evaluate_trial(config: dict[str, Any], run_dir: str, candidate: str) -> dict[str, Any]:
    """Evaluate one candidate string; never raises for a failing candidate (the error is returned)."""
    key = (json.dumps(config, sort_keys=True), run_dir)
    try:
        _injected_fault(candidate)
        if key not in _EVALUATORS:
            _EVALUATORS.clear()
            _EVALUATORS[key] = CandidateEvaluator(SearchConfig.from_dict(config, source="run config"), Path(run_dir))
        return _EVALUATORS[key](Candidate.from_string(candidate)).to_dict()
    except CodesignError as exc:
        return TrialResult(None, error=f"{type(exc).__name__}: {exc}").to_dict()
    except MemoryError:
        return TrialResult(None, error="MemoryError: out of memory").to_dict()
    except RuntimeError as exc:
        if "can't allocate memory" in str(exc) or "out of memory" in str(exc).lower():
            return TrialResult(None, error=f"out of memory: {str(exc)[:300]}").to_dict()
        return _failure(exc)
    except Exception as exc:  # noqa: BLE001 - a failing trial is recorded, the search goes on
        return _failure(exc)


def _failure(exc: BaseException) -> dict[str, Any]:
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return TrialResult(None, error=f"{type(exc).__name__}: {exc}\n{''.join(tb[-2:])}").to_dict()
