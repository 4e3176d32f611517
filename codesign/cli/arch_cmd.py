"""``codesign arch sample``: draw architectures from a space."""
from __future__ import annotations

import argparse

import numpy as np

from ..layer import workload_totals
from ..workload.from_arch import arch_workload
from .space_cmd import load_spaces


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("arch", help="architectures")
    asub = p.add_subparsers(dest="arch_cmd", required=True)
    s = asub.add_parser("sample", help="sample architectures; the last line is a canonical string")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--count", type=int, default=1, help="how many to draw (default 1)")
    s.add_argument("--arch-space", metavar="FILE", help="architecture space YAML (default: ibn_32)")
    s.set_defaults(func=sample)


def sample(args: argparse.Namespace) -> int:
    space = load_spaces(args).arch
    rng = np.random.default_rng(args.seed)
    for _ in range(max(1, args.count)):
        arch = space.sample(rng)
        totals = workload_totals(arch_workload(arch))
        print(f"# {arch.depth} blocks, {totals['params']:,} params, {totals['macs'] / 1e6:.2f} MMACs")
        print(arch.to_string())
    return 0
