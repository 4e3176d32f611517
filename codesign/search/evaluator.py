"""The built-in evaluator of a YAML-configured search: accuracy (the configured fidelity),
accelerator latency / energy / area (the configured cost-model backend), network size, and
optionally measured, predicted and device latency.

:class:`ConfigEvaluator` is what the engine pickles to workers: it holds the validated configuration,
the run directory, the backend function, the network space and plug-in metrics' compute functions,
and keeps one :class:`CandidateEvaluator` per (configuration, run directory) alive in each process,
so the data set and the supernet load once per worker.
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..candidate import Candidate
from ..layer import workload_totals
from ..metrics import Metrics
from ..spaces.arch_space import ArchSpace
from ..workload.from_arch import arch_workload
from ..accuracy.sources import accuracy_source
from ..protocols import Evaluation
from .config import MeasureConfig, SearchConfig
from .objectives import flat_metrics
from accel_models.registry import get_backend


def measure_latency(arch, how: MeasureConfig) -> tuple[float, float]:
    """Measured median and IQR latency (ms) of ``arch``'s network as the run's ``measure`` section
    says: its runtime (ort | tvm), threads, and for TVM its RPC board, target and cross compiler.
    A network quantized to at most 8 bits is timed as a static int8 model
    (:func:`~codesign.quantization.onnx_int8.runs_as_int8`)."""
    from ..quantization.onnx_int8 import int8_for_timing, runs_as_int8
    from ..workload.onnx_export import export_onnx

    proto = export_onnx(arch.as_float())
    if runs_as_int8(arch.quant):
        proto = int8_for_timing(proto)
    if how.runtime == "ort":
        from latency_predictors.ort_runtime import measure_ort

        m = measure_ort(proto, threads=how.threads)
    else:
        from latency_predictors.tvm_runtime import measure_tvm

        m = measure_tvm(proto, threads=how.threads, rpc=how.rpc, target=how.target, cc=how.cc)
    return m.median_ms, m.iqr_ms


class CandidateEvaluator:
    """Scores candidates as ``cfg`` says; ``backend`` is the cost model's evaluate function (default:
    the one registered under ``cfg.backend``)."""

    def __init__(self, cfg: SearchConfig, run_dir: Path, backend=None, arch_space: ArchSpace | None = None,
                 computed: dict[str, Any] | None = None):
        self.cfg = cfg
        self.backend = backend or get_backend(cfg.backend)
        self.computed = dict(computed or {})  # plug-in metric name → its compute(candidate) function
        self.space = arch_space or ArchSpace.resolve(cfg.arch_space)
        self.accuracy = accuracy_source(cfg, self.space, run_dir)
        self._acc_cache: dict[tuple[str, str | None, int | None], dict[str, float]] = {}
        self.predictor = None
        if cfg.measure.predictor:
            from latency_predictors.block_lut_predictor import BlockLutPredictor

            self.predictor = BlockLutPredictor.load(cfg.measure.predictor)
        self.device_model = None
        if cfg.measure.device:
            from latency_predictors.device_model import DeviceModel

            self.device_model = DeviceModel.load(cfg.measure.device)

    def __call__(self, cand: Candidate, fidelity: int | None = None) -> Evaluation:
        """``fidelity``: train the proxy network for that many epochs instead of the configured ones
        (0: not at all, every other metric only); a candidate's hyperparameters (``cand.hp``)
        override the configured training recipe. The accuracy comes last: with
        ``accuracy.skip_infeasible`` a candidate whose other metrics already break a constraint is
        not trained (accuracy 0, ``detail["skipped"]`` says why)."""
        t: dict[str, float] = {}
        workload, report, totals = self._timed(t, "hardware_s", lambda: self._hardware(cand))
        quant = cand.arch.quant
        supported = None if quant is None else int(quant.max_bits <= cand.accel.precision_bits)
        measured, iqr = {}, {}
        m = self.cfg.measure
        if m.runtime != "none" and m.trials == "all":
            measured[m.runtime], iqr[m.runtime] = self._timed(t, "measure_s", lambda: measure_latency(cand.arch, m))
        predicted = {}
        if self.predictor is not None:
            predicted["block_lut"] = self._timed(t, "predict_s",
                                                 lambda: self.predictor.predict(cand.arch, measure_missing=True))
        device = {}
        if self.device_model is not None:
            dm = self.device_model
            device[dm.name] = self._timed(t, "device_s", lambda: dm.predict_workload(
                workload if dm.batch == 1 else arch_workload(cand.arch, dm.batch)))
        metrics = Metrics(precision_supported=supported, latency_ms={self.cfg.backend: report.latency_ms},
                          energy_mj={self.cfg.backend: report.energy_mj}, area_mm2=report.area_mm2,
                          params=int(totals["params"]), macs=int(totals["macs"]),
                          measured_latency_ms=measured, measured_latency_iqr_ms=iqr, predicted_latency_ms=predicted,
                          device_latency_ms=device)
        runtime = m.runtime if m.trials == "all" else None
        flat = flat_metrics(metrics, self.cfg.backend, runtime)
        if self.computed:
            flat.update(self._timed(t, "plugin_metrics_s",
                                    lambda: {name: float(f(cand)) for name, f in self.computed.items()}))
        skipped = self._broken_constraints(flat) if self.cfg.accuracy.skip_infeasible else []
        if fidelity == 0:  # a multi-fidelity searcher's untrained rung: what is known without training
            skipped.append("fidelity 0 epochs")
        if skipped:
            flat = {"accuracy": 0.0, **flat}
        else:
            acc = self._timed(t, "accuracy_s", lambda: self._accuracy(cand, fidelity))
            metrics = replace(metrics, accuracy=float(acc["accuracy"]), accuracy_float=acc.get("accuracy_float"))
            flat = {**flat_metrics(metrics, self.cfg.backend, runtime), **flat}
        detail = metrics.to_dict() if fidelity is None else {**metrics.to_dict(), "fidelity_epochs": fidelity}
        if skipped:
            detail["skipped"] = {"metrics": ["accuracy"], "reason": "; ".join(skipped) + ": accuracy not evaluated"}
        if supported == 0:
            detail["infeasible_reason"] = (f"the network's quantization {quant.key} needs a {quant.max_bits}-bit datapath; "
                                           f"the accelerator's precision_bits is {cand.accel.precision_bits}")
        return Evaluation(flat, t, detail)

    def _hardware(self, cand: Candidate):
        workload = arch_workload(cand.arch)
        return workload, self.backend(workload, cand.accel), workload_totals(workload)

    def _accuracy(self, cand: Candidate, fidelity: int | None) -> dict[str, float]:
        hp = getattr(cand, "hp", None)
        key = (cand.arch.to_string(), hp.to_string() if hp is not None else None, fidelity)
        if key not in self._acc_cache:
            self._acc_cache[key] = self.accuracy(cand.arch, hp=hp, epochs=fidelity)
        return self._acc_cache[key]

    def _broken_constraints(self, flat: dict[str, float]) -> list[str]:
        """The run's constraints ``flat`` (every metric but accuracy) already breaks, described."""
        return [f"{c.metric} = {flat[c.metric]:.4g} breaks {c.describe()}" for c in self.cfg.constraints
                if c.metric in flat and c.violation(flat[c.metric]) > 0]

    @staticmethod
    def _timed(timings: dict[str, float], stage: str, work):
        start = time.perf_counter()
        out = work()
        timings[stage] = time.perf_counter() - start
        return out


_EVALUATORS: dict[tuple[str, str], CandidateEvaluator] = {}


class ConfigEvaluator:
    """Picklable evaluator of a search configuration and run directory. The configuration travels as
    the validated object (a worker does not validate it again, so plug-ins registered only in the
    driver do not have to be registered in the worker); so do the backend function, the network
    space and plug-in metrics' compute functions."""

    def __init__(self, config: SearchConfig, run_dir: str, backend=None, arch_space: ArchSpace | None = None,
                 computed: dict[str, Any] | None = None):
        self.config = config
        self.run_dir = run_dir
        self.arch_space = arch_space
        self.computed = computed  # plug-in metrics' compute functions, pickled by reference
        self.backend = backend  # the backend's evaluate function, pickled by reference (a plug-in's too)
        self._key = (json.dumps(config.to_dict(), sort_keys=True), run_dir)

    def __call__(self, cand: Candidate, fidelity: int | None = None) -> Evaluation:
        if self._key not in _EVALUATORS:
            _EVALUATORS.clear()
            _EVALUATORS[self._key] = CandidateEvaluator(self.config, Path(self.run_dir), self.backend, self.arch_space,
                                                        self.computed)
        return _EVALUATORS[self._key](cand, fidelity)
