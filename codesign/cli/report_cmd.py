"""``codesign report RUN``: self-contained HTML report and PNG plots of a search run;
``codesign report RUN_A RUN_B … --out DIR``: their fronts overlaid on one page."""
from __future__ import annotations

import argparse
import json

from ..errors import Problem, ValidationError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write RUN/report.html (self-contained) and PNG plots; with several runs, "
                                      "DIR/compare.html overlaying their fronts")
    p.add_argument("run", metavar="RUN_DIR", nargs="+")
    p.add_argument("--out", metavar="DIR", help="where several runs' comparison goes (required with two or more runs)")
    p.add_argument("--zigzag", action="store_true", help="add zigzag-dse's latency for the front (slow)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=report)


def report(args: argparse.Namespace) -> int:
    from ..report import build_report

    if len(args.run) > 1:
        from ..report.compare import build_comparison

        if not args.out:
            raise ValidationError(Problem("--out", f"{len(args.run)} runs given: name the folder for their comparison "
                                                   "with --out DIR"))
        out = build_comparison(args.run, args.out)
        print(f"wrote {out['report']} ({out['bytes'] / 1e6:.1f} MB) comparing {', '.join(out['runs'])} "
              f"in {out['seconds']:.1f} s")
        if args.json:
            print(json.dumps(out, sort_keys=True))
        return 0
    if args.out:
        raise ValidationError(Problem("--out", "one run's report is written into its run directory; --out is for "
                                               "comparing several runs"))
    out = build_report(args.run[0], zigzag=args.zigzag)
    print(f"wrote {out['report']} ({out['bytes'] / 1e6:.1f} MB) and {len(out['pngs'])} PNGs in {out['seconds']:.1f} s")
    if args.json:
        print(json.dumps(out, sort_keys=True))
    return 0
