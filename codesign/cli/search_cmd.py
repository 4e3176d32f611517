"""``codesign search CONFIG --out RUN`` and ``codesign search --resume RUN``."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from ..run import Run
from ..search.executors import EXECUTORS
from ..yaml_io import dump_yaml
from ..errors import Problem, ValidationError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="joint search of network and accelerator; writes a run directory")
    p.add_argument("config", metavar="CONFIG", nargs="?", help="search configuration (YAML)")
    p.add_argument("--out", metavar="RUN_DIR", help="run directory (default runs/<name>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the search in RUN_DIR (finished trials are kept)")
    p.add_argument("--executor", choices=list(EXECUTORS), help="override the configuration's executor")
    p.add_argument("--workers", type=int, help="worker processes / Ray CPUs")
    p.add_argument("--address", help="Ray cluster address (with --executor ray)")
    p.add_argument("--trials", type=int, help="override the trial budget")
    p.add_argument("--threads", type=int, help="torch threads for proxy and supernet training (a new run only; "
                                               "default: accuracy.*.threads, else the cores this process may use)")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N for proxy and supernet training (a new run only; "
                                    "default: accuracy.*.device, auto)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the run summary as one JSON line")
    p.add_argument("--check", action="store_true",
                   help="validate the configuration and its spaces, print it resolved, and stop (nothing is run)")
    p.set_defaults(func=search)


def check(cfg) -> int:
    """Validate ``cfg`` with its spaces (everything a search needs before its first trial) and print it."""
    from ..search.loop import joint_space, resolved_config
    from ..search.preflight import preflight

    joint = joint_space(cfg)
    preflight(cfg, joint)
    print(dump_yaml(resolved_config(cfg, joint).to_dict()), end="")
    print(f"# valid: {joint.arch.name} × {joint.hw.name}, searcher {cfg.searcher}, budget {cfg.trials} trials")
    return 0


def search(args: argparse.Namespace) -> int:
    from ..search.config import SearchConfig
    from ..search.front_measurement import measure_front
    from ..search.loop import run_search
    from ..search.summary import write_summary

    if args.resume and args.out:
        raise ValidationError(Problem("--out", "give either --out (new run) or --resume (existing run), not both"))
    if not args.config and not args.resume:
        raise ValidationError(Problem("CONFIG", "give a search configuration, or --resume RUN_DIR"))
    cfg = SearchConfig.from_yaml(args.config) if args.config else None
    if args.threads is not None:
        if cfg is None:
            raise ValidationError(Problem("--threads", "applies to a new run (give CONFIG); a resumed run keeps "
                                                       "the threads it started with"))
        if not 1 <= args.threads <= 1024:
            raise ValidationError(Problem("--threads", f"must be between 1 and 1024, got {args.threads}"))
        a = cfg.accuracy
        cfg = replace(cfg, accuracy=replace(a, train=replace(a.train, threads=args.threads),
                                            supernet=replace(a.supernet, threads=args.threads)))
    if args.device is not None:
        from ..accuracy.devices import device_option  # loads torch

        if cfg is None:
            raise ValidationError(Problem("--device", "applies to a new run (give CONFIG); a resumed run keeps "
                                                      "the device it started with"))
        a = cfg.accuracy
        device = device_option(args.device)
        cfg = replace(cfg, accuracy=replace(a, train=replace(a.train, device=device),
                                            supernet=replace(a.supernet, device=device)))
    if args.check:
        if cfg is None:
            raise ValidationError(Problem("--check", "give the search configuration to check"))
        return check(cfg)
    run_dir = Path(args.resume or args.out or f"runs/{cfg.name}")
    overrides = {}
    if args.trials is not None:
        if args.trials < 1:
            raise ValidationError(Problem("--trials", f"must be at least 1, got {args.trials}"))
        overrides["trials"] = args.trials
    if args.workers is not None and args.workers < 1:
        raise ValidationError(Problem("--workers", f"must be at least 1, got {args.workers}"))
    if cfg is None and args.resume:
        from ..search.loop import load_run_config
        cfg = load_run_config(run_dir) if (overrides or args.executor or args.workers is not None or args.address) \
            else None
    if cfg is not None:
        ex = cfg.executor
        if args.executor:
            ex = replace(ex, kind=args.executor)
        if args.workers is not None:
            ex = replace(ex, workers=args.workers)
        if args.address:
            ex = replace(ex, address=args.address)
        cfg = replace(cfg, executor=ex, **overrides)
    try:
        state = run_search(cfg, run_dir, resume=bool(args.resume), progress=not args.no_progress)
    except KeyboardInterrupt:
        print(f"codesign: interrupted; {_kept_trials(run_dir)}", file=sys.stderr)
        return 130
    measure_front(state, progress=not args.no_progress)
    summary = write_summary(run_dir)
    print(f"{summary['trials_settled']}/{summary['budget_trials']} trials ({summary['trials_failed']} failed, "
          f"{summary['trials_infeasible']} infeasible, {summary['trials_skipped']} not trained), "
          f"front of {summary['front_size']}, "
          f"hypervolume {summary['hypervolume']:.4g}; setup {summary['setup_s']:.1f} s + search "
          f"{summary['elapsed_s']:.1f} s = {summary['total_s']:.1f} s → {run_dir}")
    unmet = _unmet_constraints(state)
    if unmet:
        print("no trial met every constraint: " + "; ".join(unmet), file=sys.stderr)
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    if summary["trials_settled"] and summary["trials_failed"] == summary["trials_settled"]:
        print(f"codesign: error: every trial failed; see the reasons in {run_dir / 'trials.csv'} "
              f"(or `codesign report {run_dir}`)", file=sys.stderr)
        return 1
    return 0


def _kept_trials(run_dir: Path) -> str:
    """What an interrupted search leaves behind, and how to continue it."""
    from ..search.loop import load_run_config
    from ..search.store import TrialStore

    if not Run(run_dir).is_config_run():
        return "nothing had started; run the same command again"
    try:
        cfg = load_run_config(run_dir)
        kept = len(TrialStore(cfg.storage or TrialStore.default_url(run_dir), cfg.name, create=False).finished_by_index())
    except Exception:  # noqa: BLE001 - the message must not fail; the run directory is intact either way
        kept = "the"
    return f"{kept} finished trial(s) are kept in {run_dir}; continue with: codesign search --resume {run_dir}"


def _unmet_constraints(state) -> list[str]:
    """For a search whose finished trials were all infeasible: each constraint and the best value any
    trial reached against its limit."""
    done = [r for r in state.records if r.metrics is not None]
    if not done or any(r.feasible for r in done):
        return []
    out = []
    for c in state.scoring.constraints:
        values = [r.metrics[c.metric] for r in done if c.metric in r.metrics]
        if not values:
            continue
        best = min(values) if c.hi is not None else max(values)
        if c.violation(best) > 0:
            out.append(f"`{c.describe()}`: the best trial reached {best:.4g}")
    return out
