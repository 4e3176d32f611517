"""Everything a search needs before its first trial, checked before anything is written or run.

``codesign search --check`` and the start of a new run both call :func:`preflight`: the data set
loads, a named supernet checkpoint or predictor-samples file exists and fits the space, and in phase
mode the fixed accelerator fits the area budget. A problem here is reported with the user's
configuration file and field, and a run directory is never created for a search that cannot start.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import CodesignError, Problem, ValidationError
from ..metric_registry import BUILTIN_METRICS, metric
from .config import SearchConfig
from searchers.base import trains_supernet
from accel_models.hardware_arrays import accel_arrays


def _problem(cfg: SearchConfig, field: str, message: str) -> Problem:
    return Problem(f"{cfg.source or 'configuration'}:{field}", message)


def preflight(cfg: SearchConfig, joint) -> None:
    """Raise one :class:`ValidationError` listing every reason ``cfg`` cannot start."""
    problems: list[Problem] = []
    fid = cfg.accuracy.fidelity
    needs_data = fid == "proxy" or (fid in ("supernet", "predictor") and not cfg.accuracy.checkpoint
                                    and not (fid == "predictor" and cfg.accuracy.samples_file)) \
        or trains_supernet(cfg.searcher)
    if needs_data:
        from ..accuracy.sources import load_search_data
        try:
            load_search_data(cfg, joint.arch)
        except CodesignError as exc:
            problems.append(_problem(cfg, "data", f"the data set cannot be loaded: {exc}"))
    if cfg.accuracy.checkpoint:
        from ..accuracy.sources import load_supernet
        path = Path(cfg.accuracy.checkpoint)
        if not path.is_file():
            problems.append(_problem(cfg, "accuracy.checkpoint", f"supernet checkpoint {path} not found"))
        else:
            try:
                load_supernet(path, joint.arch)
            except CodesignError as exc:
                problems.append(_problem(cfg, "accuracy.checkpoint", str(exc)))
    if fid == "predictor" and cfg.accuracy.samples_file and not Path(cfg.accuracy.samples_file).is_file():
        problems.append(_problem(cfg, "accuracy.samples_file",
                                 f"predictor samples file {cfg.accuracy.samples_file} not found"))
    if cfg.mode == "phase":
        problems += _phase_accelerator_problems(cfg, joint)
    problems += _uncomputable_metrics(cfg)
    if problems:
        raise ValidationError(problems, f"the search {cfg.source or cfg.name} cannot start")


def _uncomputable_metrics(cfg: SearchConfig) -> list[Problem]:
    """A plug-in metric the built-in evaluator cannot give (no ``compute`` function)."""
    return [_problem(cfg, "objectives", f"metric `{m}` has no compute function, so the built-in evaluator cannot give "
                                        "it: declare it with MetricSpec(..., compute=fn), or search through "
                                        "codesign.Study with an evaluator that returns it")
            for m in cfg.named_metrics if m not in BUILTIN_METRICS and metric(m).compute is None]


def _phase_accelerator_problems(cfg: SearchConfig, joint) -> list[Problem]:
    from .loop import phase_accelerator, resolved_config
    try:
        accel = phase_accelerator(cfg, joint)
        area = float(accel_arrays([accel]).area_mm2[0])
    except CodesignError as exc:
        return [_problem(cfg, "space.phase_accelerator", str(exc))]
    limits = [c.hi for c in resolved_config(cfg, joint).constraints if c.metric == "area_mm2" and c.hi is not None]
    if limits and area > min(limits):
        return [_problem(cfg, "space.phase_accelerator",
                         f"`{cfg.phase_accelerator}` ({accel.key}) needs {area:.3g} mm², over the {min(limits):g} mm² "
                         "area budget: every network-phase trial would be infeasible; pick an accelerator inside "
                         "the budget (or `median`)")]
    return []
