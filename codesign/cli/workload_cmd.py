"""``codesign workload ARCH_STRING|MODEL.onnx``: the layer table of a network."""
from __future__ import annotations

import argparse
import json

from ..layer import workload_totals
from ..workload.source import workload_source
from .table import format_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("workload", help="layer table (op, shapes, MACs, params) of a network")
    p.add_argument("network", metavar="ARCH_STRING|MODEL.onnx")
    p.add_argument("--batch", type=int, default=1, help="batch size (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    src = workload_source(args.network, batch=args.batch)
    rows = [[l.name, l.op, l.fn, f"{l.c}x{l.h_in}x{l.w_in}", f"{l.k}x{l.p}x{l.q}", f"{l.r}x{l.s}",
             f"{l.stride_h}", l.groups, l.macs, l.params] for l in src.layers]
    print(format_table(["layer", "op", "fn", "in CxHxW", "out KxPxQ", "RxS", "stride", "groups", "MACs", "params"],
                       rows, right=[False] * 6 + [True] * 4))
    totals = workload_totals(src.layers)
    print(f"total: {totals['layers']} layers, {totals['macs']:,} MACs, {totals['params']:,} params")
    if args.json:
        layers = [{"name": l.name, "op": l.op, "key": l.key, "macs": l.macs, "params": l.params} for l in src.layers]
        print(json.dumps({"num_layers": totals["layers"], "macs": totals["macs"], "params": totals["params"],
                          "layers": layers}))
    return 0
