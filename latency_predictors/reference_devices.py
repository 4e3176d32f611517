"""The reference-device tables (HELP / HW-NAS-Bench measurements) and which devices play which role.

HELP's protocol: a prior is learned from the *reference* devices; calibration is scored on the
*unseen* ones. HELP's meta-test devices are never read, whatever table holds them.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from codesign.errors import Problem, ValidationError

FILES = {"nasbench201": "nb201_latency_ms.csv", "fbnet": "fbnet_latency_ms.csv"}
REFERENCE_PREFIXES = ("1080ti_", "silver_", "samsung_", "pixel3", "essential_ph_1")
UNSEEN_PREFIXES = ("titanx_", "gold_6240")
#: HELP's meta-test devices: how results are judged, so never fitted, tuned or selected on
META_TEST_PREFIXES = ("titan_rtx_", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss")
SOURCES = ["H. Lee et al., HELP: Hardware-Adaptive Efficient Latency Prediction for NAS via Meta-Learning, "
           "NeurIPS 2021 (data files, MIT license)",
           "C. Li et al., HW-NAS-Bench: Hardware-Aware Neural Architecture Search Benchmark, ICLR 2021 (pixel3)"]


def role(device: str) -> str:
    """``reference``, ``unseen`` or ``meta_test`` (never to be used) — ``other`` for anything else."""
    if device.startswith(META_TEST_PREFIXES):
        return "meta_test"
    if device.startswith(REFERENCE_PREFIXES):
        return "reference"
    if device.startswith(UNSEEN_PREFIXES):
        return "unseen"
    return "other"


def load_table(data_dir: str | Path, family: str) -> tuple[list[str], list[str], np.ndarray]:
    """(architecture strings, devices, latency ms: networks × devices) of one family's table;
    meta-test columns are dropped unread."""
    path = Path(data_dir) / FILES[family]
    if not path.is_file():
        raise ValidationError(Problem(str(path), "reference latency table not found (pass --data DIR)"))
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        cols = [i for i, c in enumerate(header) if c not in ("arch", "nb201_index") and role(c) in ("reference", "unseen")]
        arch_col = header.index("arch")
        archs, rows = [], []
        for line, row in enumerate(reader, start=2):
            archs.append(row[arch_col])
            try:
                rows.append([float(row[i]) for i in cols])
            except (ValueError, IndexError):
                raise ValidationError(Problem(f"{path}:{line}", "expected a number in every device column")) from None
    return archs, [header[i] for i in cols], np.array(rows)
