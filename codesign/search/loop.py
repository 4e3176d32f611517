"""The joint loop: searcher.ask → candidates → executor (evaluator) → store → objectives/reward →
searcher.tell, in batches, until the trial or wall-time budget is spent.

Resuming replays the searcher from its seed: for every index the store already settled, the stored
result is told instead of evaluating again, so a resumed deterministic search proposes exactly the
trials an uninterrupted one would, and the budget counts every settled trial once.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..candidate import Candidate
from ..errors import CodesignError, Problem, ValidationError
from ..hw_files import resolve_accel
from ..metrics import Metrics
from ..spaces.arch_space import ArchSpace
from ..spaces.hw_space import HwSpace
from ..spaces.joint_space import JointSpace
from ..yaml_io import dump_yaml
from ..accuracy.sources import prepare_accuracy
from .config import SearchConfig
from .executors import make_executor
from .objectives import Constraint, flat_metrics, losses, total_violation
from ..pareto import hypervolume, pareto_mask
from .phase_spaces import AcceleratorForNetworks, NetworkOnFixedAccelerator
from .references import resolve_references
from .store import StoredTrial, TrialStore, protect_url, redact_url

CONFIG_FILE = "config.yaml"


@dataclass
class Outcome:
    """Scores of one settled trial, as the loop and the searchers see them."""

    index: int
    candidate: str
    flat: dict[str, float] | None
    losses: tuple[float, ...] | None
    violation: float
    reward: float | None
    error: str | None = None

    @property
    def feasible(self) -> bool:
        return self.flat is not None and self.violation == 0.0


@dataclass
class SearchState:
    cfg: SearchConfig
    run_dir: Path
    joint: JointSpace
    store: TrialStore
    outcomes: list[Outcome] = field(default_factory=list)

    def front(self) -> list[Outcome]:
        ok = [o for o in self.outcomes if o.feasible]
        if not ok:
            return []
        mask = pareto_mask(np.array([o.losses for o in ok]))
        return [o for o, m in zip(ok, mask) if m]

    def hypervolume(self, front: list[Outcome] | None = None) -> float:
        """Hypervolume of ``front`` (default: this state's front)."""
        front = self.front() if front is None else front
        return hypervolume(np.array([o.losses for o in front])) if front else 0.0


def joint_space(cfg: SearchConfig) -> JointSpace:
    """The configuration's architecture × hardware space (errors name the configuration's field)."""
    return JointSpace(_space(ArchSpace, cfg.arch_space, cfg, "space.arch"), _space(HwSpace, cfg.hw_space, cfg, "space.hw"))


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
    if joint.hw.area_budget_mm2 is not None and not any(c.metric == "area_mm2" for c in cons):
        cons = (*cons, Constraint("area_mm2", hi=joint.hw.area_budget_mm2))
    return replace(cfg, objectives=resolve_references(cfg.objectives, joint), constraints=cons)


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


def outcome_of(cfg: SearchConfig, index: int, candidate: str, result: dict[str, Any]) -> Outcome:
    if result.get("metrics") is None:
        return Outcome(index, candidate, None, None, 0.0, None, result.get("error") or "no metrics")
    metrics = Metrics.from_dict(result["metrics"], source=f"trial {index}")
    runtime = cfg.measure.runtime if cfg.measure.trials == "all" else None
    flat = flat_metrics(metrics, cfg.backend, runtime)
    violation = total_violation(flat, list(cfg.constraints))
    return Outcome(index, candidate, flat, tuple(losses(flat, list(cfg.objectives))), violation,
                   cfg.reward(flat, violation))


def feedback_of(o: Outcome):
    from searchers import Feedback

    return Feedback(o.losses, o.reward, o.feasible, o.violation)


def _space_for_phase(state: SearchState, phase: str):
    cfg, joint = state.cfg, state.joint
    if phase == "joint":
        return joint
    if phase == "network":
        return NetworkOnFixedAccelerator(joint, phase_accelerator(cfg, joint))
    nets = sorted({Candidate.from_string(o.candidate).arch.to_string() for o in state.front()}) or \
        [joint.arch.decode(joint.arch.extreme_values(largest=False)).to_string()]
    return AcceleratorForNetworks(joint, tuple(nets))


def phase_accelerator(cfg: SearchConfig, joint: JointSpace):
    if cfg.phase_accelerator == "median":
        return joint.hw.decode({c.name: c.options[(len(c.options) - 1) // 2] for c in joint.hw.fields})
    return resolve_accel(cfg.phase_accelerator)


def run_search(cfg: SearchConfig | None, run_dir: str | Path, resume: bool = False, progress: bool = True) -> SearchState:
    """Run (or resume) the search ``cfg`` in ``run_dir``; returns the final state (trials and front)."""
    run_dir = Path(run_dir)
    cfg = prepare_run(cfg, run_dir, resume)
    joint = joint_space(cfg)
    url = cfg.storage or TrialStore.default_url(run_dir)
    store = TrialStore(url, cfg.name, [o.direction for o in cfg.objectives])
    store.set_info("storage", redact_url(url))
    store.mark_interrupted()
    timings = dict(store.info("setup_timings_s", {}))
    timings.update(prepare_accuracy(cfg, joint.arch, run_dir, progress))
    store.set_info("setup_timings_s", timings)
    state = SearchState(cfg, run_dir, joint, store)
    done = store.finished_by_index()
    elapsed_before = float(store.info("elapsed_s", 0.0))
    start = time.perf_counter()
    executor = make_executor(cfg.executor)
    phases = [("joint", cfg.trials)] if cfg.mode == "joint" else [("network", cfg.trials // 2),
                                                                  ("hardware", cfg.trials - cfg.trials // 2)]
    bar = tqdm(total=cfg.trials, desc=f"search {cfg.name}", disable=not progress, unit="trial")
    try:
        index = 0
        for p, (phase, budget) in enumerate(phases):
            space = _space_for_phase(state, phase)
            searcher = _make_searcher(cfg, space, p, state, progress)
            end = index + budget
            while index < end:
                if cfg.wall_time_s and elapsed_before + time.perf_counter() - start > cfg.wall_time_s:
                    break
                n = min(cfg.batch, end - index)
                values = [searcher.ask() for _ in range(n)]
                cands = [space.decode(v).to_string() for v in values]
                outcomes = _settle(state, executor, index, phase, values, cands, done, bar)
                for v, o in zip(values, outcomes):
                    searcher.tell(v, feedback_of(o))
                state.outcomes.extend(outcomes)
                _stop_if_every_trial_fails_alike(state)
                index += n
                store.set_info("elapsed_s", elapsed_before + time.perf_counter() - start)
                front = state.front()
                bar.set_postfix(front=len(front), hv=f"{state.hypervolume(front):.4g}", refresh=False)
            else:
                continue
            break
    finally:
        bar.close()
        executor.close()
        store.set_info("elapsed_s", elapsed_before + time.perf_counter() - start)
    return state


#: a search whose first trials (this many, or its whole budget) all failed with one reason stops
FAIL_FAST_TRIALS = 4


class SearchAborted(CodesignError):
    """Every trial so far failed for the same reason: running more would only repeat it."""


def _stop_if_every_trial_fails_alike(state: SearchState) -> None:
    done = state.outcomes
    if len(done) < min(FAIL_FAST_TRIALS, state.cfg.trials) or any(o.flat is not None for o in done):
        return
    reasons = {o.error for o in done}
    if len(reasons) == 1:
        raise SearchAborted(f"the first {len(done)} trials all failed with the same error, so the search stopped: "
                            f"{reasons.pop()}\n(the failed trials are kept in {state.run_dir}; fix the cause and "
                            "start a new run)")


def _make_searcher(cfg: SearchConfig, space, phase_no: int, state: SearchState, progress: bool):
    from searchers import make_searcher

    searcher = make_searcher(cfg.searcher, space, len(cfg.objectives), cfg.seed + 1000 * phase_no,
                             cfg.searcher_options, cfg.source)
    if hasattr(searcher, "prepare"):
        from .oneshot_context import OneShotContext

        searcher.prepare(OneShotContext(cfg, state.joint, state.run_dir, space), progress=progress)
    return searcher


def _settle(state: SearchState, executor, first: int, phase: str, values: list[dict], cands: list[str],
            done: dict[int, StoredTrial], bar) -> list[Outcome]:
    """Outcomes of one batch: stored ones replayed, the others evaluated and recorded as they finish."""
    cfg, store = state.cfg, state.store
    outcomes: dict[int, Outcome] = {}
    todo = []
    for j, cand in enumerate(cands):
        stored = done.get(first + j)
        if stored is not None:
            if stored.candidate != cand:
                raise ValidationError(Problem(str(state.run_dir), f"trial {first + j} in the store is {stored.candidate}, "
                                                                  f"but the searcher now proposes {cand}: the store "
                                                                  "belongs to a different configuration or seed"))
            outcomes[j] = outcome_of(cfg, first + j, cand, stored.result)
            bar.update(1)
        else:
            todo.append(j)
    numbers = {j: store.start(first + j, phase, cands[j], values[j]) for j in todo}
    config = cfg.to_dict()
    tasks = [(config, str(state.run_dir), cands[j]) for j in todo]

    def on_done(k: int, result: dict[str, Any]) -> None:
        j = todo[k]
        o = outcomes[j] = outcome_of(cfg, first + j, cands[j], result)
        result = {**result, "flat": o.flat, "violation": o.violation, "reward": o.reward, "feasible": o.feasible}
        objective_values = [o.flat[ob.metric] for ob in cfg.objectives] if o.flat else None
        store.finish(numbers[j], result, objective_values)
        bar.update(1)

    if tasks:
        executor.run(tasks, on_done)
    return [outcomes[j] for j in range(len(cands))]
