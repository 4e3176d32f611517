"""``codesign hw show|list``: validate and print accelerator configurations."""
from __future__ import annotations

import argparse

from ..hw_files import resolve_accel, template_names


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hw", help="accelerator configurations")
    hsub = p.add_subparsers(dest="hw_cmd", required=True)
    s = hsub.add_parser("show", help="validate a hardware template or YAML file and print it")
    s.add_argument("config", metavar="NAME|FILE", help="template name (see `codesign hw list`) or YAML path")
    s.set_defaults(func=show)
    ls = hsub.add_parser("list", help="list the shipped hardware templates")
    ls.set_defaults(func=list_templates)


def show(args: argparse.Namespace) -> int:
    accel = resolve_accel(args.config)
    print(accel.to_yaml().rstrip())
    print(f"# {accel.num_pes} PEs, {accel.peak_macs_per_cycle} MACs/cycle, {accel.peak_gmacs_per_s:.1f} GMAC/s peak")
    print(accel.to_string())
    return 0


def list_templates(args: argparse.Namespace) -> int:
    for name in template_names():
        print(f"{name:16s} {resolve_accel(name)}")
    return 0
