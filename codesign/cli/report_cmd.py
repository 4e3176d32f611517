"""``codesign report RUN``: self-contained HTML report and PNG plots of a search run."""
from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write RUN/report.html (self-contained) and PNG plots")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--zigzag", action="store_true", help="add zigzag-dse's latency for the front (slow)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=report)


def report(args: argparse.Namespace) -> int:
    from ..report import build_report

    out = build_report(args.run, zigzag=args.zigzag)
    print(f"wrote {out['report']} ({out['bytes'] / 1e6:.1f} MB) and {len(out['pngs'])} PNGs in {out['seconds']:.1f} s")
    if args.json:
        print(json.dumps(out, sort_keys=True))
    return 0
