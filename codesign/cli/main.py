"""``codesign`` entry point: parse, dispatch, and turn every user error into a message and exit 2."""
from __future__ import annotations

import argparse
import sys

from ..errors import CodesignError
from . import (arch_cmd, device_cmd, evaluate_cmd, export_cmd, hw_cmd, measure_cmd, report_cmd, search_cmd, space_cmd, train_cmd,
               workload_cmd)

COMMANDS = (space_cmd, arch_cmd, hw_cmd, workload_cmd, evaluate_cmd, measure_cmd, device_cmd, train_cmd, search_cmd,
            report_cmd, export_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codesign",
        description="Joint search of MBConv/IBN networks and their accelerators: "
                    "accuracy / latency / energy Pareto fronts.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CodesignError as exc:
        print(f"codesign: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("codesign: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
