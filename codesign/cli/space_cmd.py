"""``codesign space describe``: the sizes and choices of the architecture, hardware and joint spaces."""
from __future__ import annotations

import argparse
import json

from ..spaces import ArchSpace, HwSpace, JointSpace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("space", help="inspect search spaces")
    ssub = p.add_subparsers(dest="space_cmd", required=True)
    d = ssub.add_parser("describe", help="print the size (log10) and choices of each space")
    d.add_argument("--arch-space", metavar="NAME|FILE", help="architecture space: ibn_32, ibn_32_compact or a YAML "
                                                            "file (default: ibn_32)")
    d.add_argument("--hw-space", metavar="NAME|FILE", help="hardware space: nahas_like or a YAML file "
                                                          "(default: nahas_like)")
    d.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    d.set_defaults(func=describe)


def load_spaces(args: argparse.Namespace) -> JointSpace:
    arch = ArchSpace.resolve(args.arch_space) if getattr(args, "arch_space", None) else ArchSpace.default()
    hw = HwSpace.resolve(args.hw_space) if getattr(args, "hw_space", None) else HwSpace.default()
    return JointSpace(arch, hw)


def describe(args: argparse.Namespace) -> int:
    joint = load_spaces(args)
    sizes = {"arch_log10": round(joint.arch.log10_size(), 3), "hw_log10": round(joint.hw.log10_size(), 3),
             "joint_log10": round(joint.log10_size(), 3), "decisions": len(joint.choices())}
    print(f"architecture space `{joint.arch.name}`: 10^{sizes['arch_log10']:.2f} networks, "
          f"{len(joint.arch.choices())} decisions, {len(joint.arch.stages)} stages, "
          f"{joint.arch.resolution}x{joint.arch.resolution} input")
    for i, st in enumerate(joint.arch.stages):
        print(f"  s{i}: stride {st.stride}, depth {list(st.depth)}, channels {list(st.channels)}, "
              f"kernel {list(st.kernel)}, expansion {list(st.expansion)}, type {list(st.block_type)}, "
              f"se {list(st.se)}")
    budget = f", area budget {joint.hw.area_budget_mm2} mm²" if joint.hw.area_budget_mm2 else ""
    print(f"hardware space `{joint.hw.name}`: 10^{sizes['hw_log10']:.2f} accelerators, "
          f"{len(joint.hw.choices())} decisions{budget}")
    for c in joint.hw.fields:
        print(f"  {c.name}: {list(c.options)}")
    print(f"joint space: 10^{sizes['joint_log10']:.2f} candidates, {sizes['decisions']} decisions")
    if args.json:
        print(json.dumps(sizes))
    return 0
