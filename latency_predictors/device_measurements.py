"""Measurement files: the latency (and energy) a user measured on their own target, as CSV.

Format (UTF-8)::

    # device: pixel7-tflite          (comment lines: ``# key: value``; keys device, batch,
    # batch: 1                        runtime, precision; others are kept as notes)
    network,latency_ms,energy_mj
    net_r32_i3_n10:stem_k3_c16_s1:…,4.21,
    models/resnet18.onnx,12.9,0.81

``network`` is an architecture string (MBConv ``net_…``, a NAS-Bench-201 cell or an FBNet string)
or an ONNX file path (relative paths are relative to the CSV); as the first column it may be left
unquoted even though MBConv strings hold commas; ``latency_ms`` is required (an empty
value means "not measured yet", as ``codesign device plan`` writes it); ``energy_mj`` is optional.
Every problem is reported with the file, line and column.
"""
from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codesign.errors import CodesignError, Problem, ValidationError
from codesign.layer import Layer
from codesign.nets import network_workload
from .workload_features import feature_matrix

COLUMNS = ("network", "latency_ms", "energy_mj")
META_KEYS = ("device", "batch", "runtime", "precision")


@dataclass
class MeasurementFile:
    """The rows of a measurement file: ``latency_ms``/``energy_mj`` hold NaN where a cell is empty."""

    path: Path
    device: dict[str, str | int]
    networks: list[str]
    lines: list[int]
    latency_ms: np.ndarray
    energy_mj: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def batch(self) -> int:
        return int(self.device.get("batch", 1))

    def values(self, metric: str) -> np.ndarray:
        return self.latency_ms if metric == "latency_ms" else self.energy_mj

    def resolve(self, network: str) -> str:
        """An ONNX path relative to the file's folder, or the architecture string as written."""
        if network.endswith(".onnx") and not os.path.isabs(network):
            return str(self.path.parent / network)
        return network

    def write(self, path: str | Path | None = None) -> None:
        """Write the file back (atomically), e.g. after ``codesign device measure`` filled a row."""
        out = Path(path or self.path)
        buf = io.StringIO()
        for key in META_KEYS:
            if key in self.device:
                buf.write(f"# {key}: {self.device[key]}\n")
        for note in self.notes:
            buf.write(f"# {note}\n")
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(COLUMNS)
        for net, lat, en in zip(self.networks, self.latency_ms, self.energy_mj):
            w.writerow([net, "" if math.isnan(lat) else f"{lat:.6g}", "" if math.isnan(en) else f"{en:.6g}"])
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        tmp.write_text(buf.getvalue(), encoding="utf-8")
        os.replace(tmp, out)


def _number(text: str, where: str, problems: list[Problem]) -> float:
    if text.strip() == "":
        return math.nan
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        problems.append(Problem(where, f"expected a positive number, got `{text}`"))
        return math.nan
    return value


def read_measurements(path: str | Path) -> MeasurementFile:
    """Parse and validate ``path``; every problem (file, line, column) is listed in one error."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(Problem(str(p), "measurement file not found")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(Problem(str(p), f"cannot read the measurement file ({exc})")) from None
    device: dict[str, str | int] = {}
    notes: list[str] = []
    problems: list[Problem] = []
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if line.lstrip().startswith("#"):
            key, sep, value = line.lstrip()[1:].partition(":")
            key = key.strip().lower()
            if sep and key in META_KEYS:
                device[key] = value.strip()
            else:
                notes.append(line.lstrip()[1:].strip())
            continue
        cells = next(csv.reader([line]))
        if header is None:
            header = [c.strip() for c in cells]
            header_line = lineno
            continue
        rows.append((lineno, cells))
    if header is None:
        raise ValidationError(Problem(str(p), f"no header line; expected the columns {', '.join(COLUMNS[:2])}"
                                      f"[, {COLUMNS[2]}]"))
    for col in COLUMNS[:2]:
        if col not in header:
            problems.append(Problem(f"{p}:{header_line}", f"missing column `{col}` (header: {', '.join(header)})"))
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        problems.append(Problem(f"{p}:{header_line}", f"unknown column(s) {', '.join(unknown)}; expected "
                                f"{', '.join(COLUMNS)}"))
    if "batch" in device:
        try:
            device["batch"] = int(device["batch"])
            if device["batch"] < 1:
                raise ValueError
        except ValueError:
            problems.append(Problem(f"{p}:batch", f"`# batch:` must be a positive integer, got `{device['batch']}`"))
    if problems:
        raise ValidationError(problems, f"invalid measurement file {p}")
    col = {c: header.index(c) for c in COLUMNS if c in header}
    networks, lines, lat, en = [], [], [], []
    for lineno, cells in rows:
        if len(cells) > len(header) and col["network"] == 0:  # an unquoted MBConv string holds commas
            extra = len(cells) - len(header) + 1
            cells = [",".join(cells[:extra]), *cells[extra:]]
        if len(cells) != len(header):
            problems.append(Problem(f"{p}:{lineno}", f"expected {len(header)} cells, got {len(cells)}"))
            continue
        net = cells[col["network"]].strip()
        if not net:
            problems.append(Problem(f"{p}:{lineno}:network", "empty network"))
        networks.append(net)
        lines.append(lineno)
        lat.append(_number(cells[col["latency_ms"]], f"{p}:{lineno}:latency_ms", problems))
        en.append(_number(cells[col["energy_mj"]], f"{p}:{lineno}:energy_mj", problems) if "energy_mj" in col
                  else math.nan)
    if problems:
        raise ValidationError(problems, f"invalid measurement file {p}")
    return MeasurementFile(p, device, networks, lines, np.array(lat), np.array(en), notes)


def network_layers(network: str, batch: int = 1) -> list[Layer]:
    """The workload of an architecture string of any supported family, or of an ONNX file."""
    if network.endswith(".onnx"):
        from codesign.workload.onnx_graph import workload_from_onnx
        return workload_from_onnx(network, batch=batch)
    return network_workload(network, batch)


def measured_workloads(meas: MeasurementFile, metric: str) -> tuple[list[str], list[list[Layer]], np.ndarray]:
    """Networks, workloads (at the file's batch) and values of the rows; a network that cannot be
    built, or an empty value, is an error naming its line."""
    values = meas.values(metric)
    problems, workloads, keep = [], [], []
    for i, (net, line) in enumerate(zip(meas.networks, meas.lines)):
        if math.isnan(values[i]):
            problems.append(Problem(f"{meas.path}:{line}:{metric}", "empty: fill in the measured value "
                                    "(or run `codesign device measure` on the plan's folder)"))
            continue
        try:
            workloads.append(network_layers(meas.resolve(net), meas.batch))
            keep.append(i)
        except CodesignError as exc:
            problems.append(Problem(f"{meas.path}:{line}:network", f"cannot build `{net[:80]}`: {exc}"))
    if problems:
        raise ValidationError(problems, f"cannot fit a model from {meas.path}")
    return [meas.networks[i] for i in keep], workloads, values[keep]


def measured_features(meas: MeasurementFile, metric: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Networks, feature rows and values of the rows (errors as :func:`measured_workloads`)."""
    networks, workloads, values = measured_workloads(meas, metric)
    return networks, feature_matrix(workloads), values
