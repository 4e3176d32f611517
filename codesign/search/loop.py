"""A YAML-configured search: the configuration is a factory of the engine's objects (the joint
space, the built-in evaluator, objectives, constraints, reward, searcher, phases), and
:func:`run_search` runs them through :class:`~codesign.search.study.Study`, the same engine the
Python API uses. This module also owns the run directory's configuration file: written when a run
starts (references resolved), checked when it resumes.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..candidate import Candidate
from ..errors import Problem, ValidationError
from ..hw_files import resolve_accel
from ..spaces.arch_space import ArchSpace
from ..spaces.hw_space import HwSpace
from ..spaces.joint_space import JointSpace
from ..spaces.registry import get_space
from ..yaml_io import dump_yaml
from ..accuracy.sources import prepare_accuracy
from ..metric_registry import BUILTIN_METRICS, metric
from ..run import CONFIG_FILE
from .config import SearchConfig
from .evaluator import ConfigEvaluator
from .objectives import Constraint
from .phase_spaces import AcceleratorForNetworks, NetworkOnFixedAccelerator
from .references import resolve_references
from .store import protect_url, redact_url
from .study import Phase, SearchAborted, Study
from accel_models.registry import get_backend

__all__ = ["run_search", "study_from_config", "prepare_run", "load_run_config", "SearchAborted"]


def joint_space(cfg: SearchConfig) -> JointSpace:
    """The configuration's architecture × hardware (× hyperparameter) space, or the registered space
    it names (errors name the configuration's field)."""
    if cfg.space_name:
        space = get_space(cfg.space_name, f"{cfg.source or 'search configuration'}:space.name")
        if not isinstance(getattr(space, "arch", None), ArchSpace):
            raise ValidationError(Problem(f"{cfg.source or 'search configuration'}:space.name",
                                          f"the space `{cfg.space_name}` has no `arch` (an ArchSpace): a YAML search "
                                          "scores networks with the built-in evaluator, which needs it"))
        return space
    return JointSpace(_space(ArchSpace, cfg.arch_space, cfg, "space.arch"), _space(HwSpace, cfg.hw_space, cfg, "space.hw"),
                      cfg.hp_space)


def _space(kind, name: str, cfg: SearchConfig, field: str):
    try:
        return kind.resolve(name)
    except ValidationError as exc:
        where = f"{cfg.source or 'search configuration'}:{field}"
        raise ValidationError([Problem(where, str(p)) for p in exc.problems], exc.headline) from None


def load_run_config(run_dir: Path) -> SearchConfig:
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise ValidationError(Problem(str(run_dir), f"not a search run directory (no {CONFIG_FILE})"))
    return SearchConfig.from_yaml(path)


def resolved_config(cfg: SearchConfig, joint: JointSpace) -> SearchConfig:
    """References filled in, and the hardware space's area budget as a constraint unless one is given."""
    cons = cfg.constraints
    budget = getattr(getattr(joint, "hw", None), "area_budget_mm2", None)
    if budget is not None and not any(c.metric == "area_mm2" for c in cons):
        cons = (*cons, Constraint("area_mm2", hi=budget))
    return replace(cfg, objectives=resolve_references(cfg.objectives, joint, cfg.backend), constraints=cons)


def prepare_run(cfg: SearchConfig | None, run_dir: Path, resume: bool) -> SearchConfig:
    """Create (or, resuming, check) the run directory; return the configuration the run uses.
    Resuming with a configuration that differs from the saved one only in its budget extends or
    shortens the budget; any other difference is an error."""
    path = run_dir / CONFIG_FILE
    if resume:
        saved = load_run_config(run_dir)
        if cfg is None:
            return saved
        if _strip(cfg) != _strip(saved):
            raise ValidationError(Problem(str(path), f"the run was started with a different configuration than "
                                                     f"{cfg.source or 'the one given'}; resume without CONFIG "
                                                     "to continue it as it was"))
        if (cfg.trials, cfg.wall_time_s) != (saved.trials, saved.wall_time_s):
            saved = replace(saved, trials=cfg.trials, wall_time_s=cfg.wall_time_s)
            _write_config(saved, path)
        return saved
    if cfg is None:
        raise ValidationError(Problem("CONFIG", "a new search needs a configuration file"))
    if path.exists():
        raise ValidationError(Problem(str(run_dir), "already holds a search run: pass --resume to continue it, "
                                                    "or choose another --out"))
    from .preflight import preflight

    joint = joint_space(cfg)
    preflight(cfg, joint)  # before the run directory exists: a search that cannot start leaves nothing
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_config(resolved_config(cfg, joint), path)
    return replace(SearchConfig.from_yaml(path), storage=cfg.storage)  # the saved copy holds no password


def _write_config(cfg: SearchConfig, path: Path) -> None:
    if cfg.storage:
        cfg = replace(cfg, storage=protect_url(cfg.storage))
    tmp = path.with_suffix(".tmp")
    tmp.write_text("# The configuration this run used (references and constraints resolved).\n"
                   + dump_yaml(cfg.to_dict()), encoding="utf-8")
    tmp.replace(path)


def _strip(cfg: SearchConfig) -> dict[str, Any]:
    """The parts of a configuration a resumed run must share with the original."""
    d = cfg.to_dict()
    for key in ("objectives", "constraints", "budget", "executor", "storage"):
        d.pop(key)
    return d


def study_from_config(cfg: SearchConfig, run_dir: Path) -> Study:
    """The engine's objects for the configuration ``cfg`` (as saved in ``run_dir``)."""
    joint = joint_space(cfg)
    computed = {m: metric(m).compute for m in cfg.named_metrics
                if m not in BUILTIN_METRICS and metric(m).compute is not None}
    evaluator = ConfigEvaluator(cfg, str(run_dir), get_backend(cfg.backend), joint.arch, computed)
    phases = None
    if cfg.mode == "phase":
        phases = [Phase("network", 0.5, lambda st: NetworkOnFixedAccelerator(joint, phase_accelerator(cfg, joint))),
                  Phase("hardware", 0.5, lambda st: AcceleratorForNetworks(joint, _front_networks(st, joint)))]

    def prepare(searcher, space, progress: bool) -> None:
        from .oneshot_context import OneShotContext

        searcher.prepare(OneShotContext(cfg, joint, run_dir, space), progress=progress)

    study = Study(joint, evaluator, cfg.objectives, cfg.searcher, run_dir=run_dir, storage=cfg.storage, name=cfg.name,
                 constraints=cfg.constraints, reward=cfg.reward, seed=cfg.seed, batch=cfg.batch,
                 searcher_options=cfg.searcher_options, phases=phases, prepare_searcher=prepare, source=cfg.source)
    study.config = cfg
    return study


def _front_networks(study: Study, joint: JointSpace) -> tuple[str, ...]:
    nets = sorted({Candidate.from_string(r.candidate).arch.to_string() for r in study.front()})
    return tuple(nets) or (joint.arch.decode(joint.arch.extreme_values(largest=False)).to_string(),)


def phase_accelerator(cfg: SearchConfig, joint: JointSpace):
    if cfg.phase_accelerator == "median":
        return joint.hw.decode({c.name: c.options[(len(c.options) - 1) // 2] for c in joint.hw.fields})
    return resolve_accel(cfg.phase_accelerator)


def run_search(cfg: SearchConfig | None, run_dir: str | Path, resume: bool = False, progress: bool = True) -> Study:
    """Run (or resume) the search ``cfg`` in ``run_dir``; returns the study (its trials and front)."""
    run_dir = Path(run_dir)
    cfg = prepare_run(cfg, run_dir, resume)
    study = study_from_config(cfg, run_dir)
    store = study.store
    store.set_info("storage", redact_url(store.url))
    timings = dict(store.info("setup_timings_s", {}))
    timings.update(prepare_accuracy(cfg, study.space.arch, run_dir, progress))
    store.set_info("setup_timings_s", timings)
    study.optimize(cfg.trials, cfg.wall_time_s, executor=cfg.executor, progress=progress)
    return study
