"""``codesign export RUN --pick …``: one trial of a run as ONNX, weights, TVM library, accelerator files and a model card."""
from __future__ import annotations

import argparse
import json

from ..errors import Problem, ValidationError
from ..picks import NAMED_PICKS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a point of a run's Pareto front (ONNX, weights, TVM library, "
                                      "accelerator YAML/zigzag/Timeloop, model card)")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--pick", default="knee", metavar="|".join((*NAMED_PICKS, "TRIAL")),
                   help="knee (default): the front point closest to the ideal point after scaling each objective "
                        "to [0, 1] over the front; or a named extreme; or a trial number")
    p.add_argument("--out", default=None, help="output directory (default RUN_DIR/exports/trial<N>)")
    p.add_argument("--tune", type=int, default=0, metavar="TRIALS", help="MetaSchedule trials for the TVM library")
    p.add_argument("--weights", default="auto", choices=("auto", "supernet", "standalone"),
                   help="supernet-inherited weights (auto when the run has a supernet) or stand-alone training")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for the TVM target and the measurements")
    p.add_argument("--zigzag", action="store_true", help="also cost the accelerator with zigzag-dse (slower)")
    p.add_argument("--target", metavar="TVM_TARGET", help="build the TVM library for another board, e.g. "
                                                          "'llvm -mtriple=aarch64-linux-gnu -mattr=+neon'")
    p.add_argument("--cc", metavar="COMPILER", help="cross compiler linking it, e.g. aarch64-linux-gnu-g++")
    p.add_argument("--batch-sizes", default="1", metavar="N[,N…]",
                   help="batch sizes to compile TVM libraries for (default 1; the ONNX file takes any batch)")
    p.add_argument("--force", action="store_true", help="replace a previous export in --out")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=export)


def export(args: argparse.Namespace) -> int:
    from ..export import export_trial

    if args.tune < 0 or args.threads < 1:
        raise ValidationError(Problem("--tune/--threads", "expected --tune >= 0 and --threads >= 1"))
    try:
        batch_sizes = tuple(int(b) for b in str(args.batch_sizes).split(","))
    except ValueError:
        raise ValidationError(Problem("--batch-sizes", f"expected comma-separated integers such as 1,4, "
                                                       f"got {args.batch_sizes!r}")) from None
    card = export_trial(args.run, pick=args.pick, out=args.out, tune=args.tune, weights=args.weights,
                        threads=args.threads, zigzag=args.zigzag, force=args.force, progress=True,
                        target=args.target, cc=args.cc, batch_sizes=batch_sizes)
    w, m = card["weights"], card["measured_on_host"]
    print(f"exported trial {card['run']['trial']} ({card['run']['rule']}) to {card['out']} "
          f"in {card['timings_s']['total_s']:.1f} s")
    print(f"  {card['candidate']}")
    print(f"  weights: {w['source']}, test accuracy {w['test_accuracy']:.4f}; "
          + ", ".join(f"{k} {v['median_ms']:.3f} ms" for k, v in m.items()))
    if args.json:
        print(json.dumps(card, sort_keys=True))
    return 0
