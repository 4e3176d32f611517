"""``AccelConfig``: a spatial accelerator (PE array + memory hierarchy) as plain data.

Canonical string, fields in a fixed order (sizes in bytes with binary ``k``/``M``/``G`` suffixes)::

    pe16x16_m1_rf512_lb0_gb128k_bw16_clk800_ws_p8_t45nm

``pe<rows>x<cols>`` PE array, ``m`` MACs per PE per cycle, ``rf`` register file bytes per PE,
``lb`` local (input) buffer bytes per PE (0 for none), ``gb`` global (shared) buffer bytes, ``bw`` DRAM bandwidth in
bytes/cycle, ``clk`` clock in MHz, dataflow ``ws``/``os``/``rs``, ``p`` precision in bits,
``t`` technology table name (``hw_configs/tech/<name>.yaml``). A calibrated accelerator (see
:class:`Calibration`, ``codesign hw calibrate``) adds ``_cal<conv>-<depthwise>-<pointwise>-<fc>-<vector>-<dram>-<gb>-<overhead>``.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .checks import Checker, format_size_bytes, human_size_bytes, parse_size_bytes
from .errors import DecodeError, Problem
from .yaml_io import dump_yaml, load_yaml

DATAFLOWS = {"weight_stationary": "ws", "output_stationary": "os", "row_stationary": "rs"}
_DATAFLOW_BY_SHORT = {v: k for k, v in DATAFLOWS.items()}
PRECISIONS = (4, 8, 16, 32)
_TECH_PATTERN = r"[A-Za-z0-9.\-]{1,40}"
#: keys a hardware YAML may carry besides the fields: free text for people
DOC_KEYS = ("name", "description", "source")


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


#: op kinds with their own compute efficiency (``vector``: elementwise, pooling, data movement)
EFFICIENCY_KINDS = ("conv", "depthwise", "pointwise", "fc", "vector")


@dataclass(frozen=True)
class Calibration:
    """Physical efficiency terms fitted to a real accelerator's measurements (``codesign hw calibrate``).

    ``efficiency_<kind>``: the real array's compute throughput on that op kind relative to the
    model's (below 1 it is slower, e.g. stalls the model ignores; above 1 faster, e.g. a better
    mapping than the model's; 0.001 to 4); ``dram_bw_efficiency`` / ``gb_bw_efficiency``: the same
    for the DRAM and global-buffer bandwidth; ``layer_overhead_cycles``: fixed cycles per layer
    (configuration, synchronisation, pipeline fill). The defaults are the uncalibrated model. Values
    are held to 4 decimals so the canonical string carries them exactly.
    """

    efficiency_conv: float = 1.0
    efficiency_depthwise: float = 1.0
    efficiency_pointwise: float = 1.0
    efficiency_fc: float = 1.0
    efficiency_vector: float = 1.0
    dram_bw_efficiency: float = 1.0
    gb_bw_efficiency: float = 1.0
    layer_overhead_cycles: float = 0.0

    @property
    def is_ideal(self) -> bool:
        return self == Calibration()

    def token(self) -> str:
        return "cal" + "-".join(f"{v:.4f}".rstrip("0").rstrip(".") for v in asdict(self).values())

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


CALIBRATION_FIELDS = tuple(Calibration.__dataclass_fields__)
#: the largest calibrated efficiency factor (the real accelerator 4x faster than modelled on a term)
MAX_EFFICIENCY = 4.0


def check_calibration(chk: Checker, value: Any, path: str) -> Calibration | None:
    """Validate a ``calibration:`` mapping (every key optional; efficiencies in [0.001, 4], overhead ≥ 0 cycles)."""
    m = chk.mapping(value, path, optional=CALIBRATION_FIELDS)
    if m is None:
        return None
    n = len(chk.problems)
    out = {}
    for key, v in m.items():
        if key == "layer_overhead_cycles":
            out[key] = chk.number(v, f"{path}.{key}", 0.0, 1e9)
        else:
            out[key] = chk.number(v, f"{path}.{key}", 0.001, MAX_EFFICIENCY)
    if len(chk.problems) > n:
        return None
    return Calibration(**{k: round(float(v), 4) for k, v in out.items()})


@dataclass(frozen=True)
class AccelConfig:
    """A spatial accelerator; every size is in bytes, bandwidth in bytes/cycle, clock in MHz."""

    pe_rows: int = 16
    pe_cols: int = 16
    macs_per_pe: int = 1
    rf_bytes_per_pe: int = 512
    local_buffer_bytes_per_pe: int = 0
    global_buffer_bytes: int = 128 * 1024
    dram_bw_bytes_per_cycle: float = 16.0
    clock_mhz: float = 800.0
    dataflow: str = "weight_stationary"
    precision_bits: int = 8
    tech: str = "45nm"
    calibration: Calibration = Calibration()

    # ---- derived -------------------------------------------------------------------
    @property
    def num_pes(self) -> int:
        return self.pe_rows * self.pe_cols

    @property
    def peak_macs_per_cycle(self) -> int:
        return self.num_pes * self.macs_per_pe

    @property
    def peak_gmacs_per_s(self) -> float:
        """Peak throughput in GMAC/s (clock in MHz × MACs per cycle / 1000)."""
        return self.peak_macs_per_cycle * self.clock_mhz / 1000.0

    @property
    def key(self) -> str:
        return self.to_string()

    # ---- canonical string ----------------------------------------------------------
    def to_string(self) -> str:
        cal = [] if self.calibration.is_ideal else [self.calibration.token()]
        return "_".join([
            f"pe{self.pe_rows}x{self.pe_cols}", f"m{self.macs_per_pe}",
            f"rf{format_size_bytes(self.rf_bytes_per_pe)}",
            f"lb{format_size_bytes(self.local_buffer_bytes_per_pe)}",
            f"gb{format_size_bytes(self.global_buffer_bytes)}",
            f"bw{_fmt_num(self.dram_bw_bytes_per_cycle)}", f"clk{_fmt_num(self.clock_mhz)}",
            DATAFLOWS[self.dataflow], f"p{self.precision_bits}", f"t{self.tech}", *cal,
        ])

    def __str__(self) -> str:
        return self.to_string()

    @classmethod
    def from_string(cls, text: str) -> AccelConfig:
        """Decode a canonical accelerator string; a malformed or unknown token is an error naming it."""
        return _decode_accel(text)

    # ---- dict / YAML ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Every field; ``calibration`` only when it is not the ideal model."""
        out = asdict(self)
        if self.calibration.is_ideal:
            del out["calibration"]
        return out

    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> AccelConfig:
        """Validate every field (all problems reported at once, with ``source`` and the field path)."""
        chk = Checker(source)
        accel = accel_fields(chk, data, "", allow_doc_keys=True)
        chk.raise_if_any(f"invalid accelerator configuration{' in ' + source if source else ''}")
        return accel  # type: ignore[return-value]

    @classmethod
    def from_yaml(cls, path: str | Path) -> AccelConfig:
        return cls.from_dict(load_yaml(path), source=str(path))

    def to_yaml(self, name: str | None = None, description: str | None = None) -> str:
        """The YAML a user would write (sizes as ``64KiB``); ``from_yaml`` reads it back exactly."""
        head = {k: v for k, v in (("name", name), ("description", description)) if v}
        body = self.to_dict()
        for f in _SIZE_FIELDS:
            body[f] = human_size_bytes(body[f])
        for f in ("dram_bw_bytes_per_cycle", "clock_mhz"):
            body[f] = int(body[f]) if float(body[f]).is_integer() else body[f]
        if "calibration" in body:  # only the terms that differ from the ideal model
            body["calibration"] = {k: v for k, v in body["calibration"].items() if v != getattr(Calibration(), k)}
        return dump_yaml({**head, **body})


def check_accel_field(chk: Checker, name: str, value: Any, path: str) -> Any:
    """Validate one ``AccelConfig`` field value; returns it converted, or ``None`` after a problem."""
    if name in ("pe_rows", "pe_cols"):
        return chk.integer(value, path, 1, 256)
    if name == "macs_per_pe":
        return chk.integer(value, path, 1, 1024)
    if name == "rf_bytes_per_pe":
        return chk.size_bytes(value, path, 4, 1024**2)
    if name == "local_buffer_bytes_per_pe":
        return chk.size_bytes(value, path, 0, 64 * 1024**2)
    if name == "global_buffer_bytes":
        return chk.size_bytes(value, path, 1024, 1024**3)
    if name == "dram_bw_bytes_per_cycle":
        return chk.number(value, path, 0.0, 4096.0, lo_open=True)
    if name == "clock_mhz":
        return chk.number(value, path, 0.0, 10000.0, lo_open=True)
    if name == "dataflow":
        return chk.choice(value, path, DATAFLOWS)
    if name == "precision_bits":
        return chk.choice(value, path, PRECISIONS)
    if name == "calibration":
        return check_calibration(chk, value, path)
    if name == "tech":
        tech = chk.string(value, path, _TECH_PATTERN, "a technology table name such as '45nm'")
        if tech is not None and tech not in known_techs():
            chk.fail(path, f"unknown technology `{tech}`: expected one of {', '.join(known_techs())} "
                           f"(the tables in hw_configs/tech/)")
            return None
        return tech
    raise KeyError(name)


def known_techs() -> list[str]:
    """Names of the shipped technology tables (``hw_configs/tech/<name>.yaml``)."""
    from importlib import resources

    return sorted(p.name[: -len(".yaml")] for p in resources.files("hw_configs").joinpath("tech").iterdir()
                  if p.name.endswith(".yaml"))


ACCEL_FIELDS = tuple(AccelConfig.__dataclass_fields__)
#: fields a hardware YAML may leave out (their defaults are the ideal, uncalibrated model)
OPTIONAL_ACCEL_FIELDS = ("calibration",)
REQUIRED_ACCEL_FIELDS = tuple(f for f in ACCEL_FIELDS if f not in OPTIONAL_ACCEL_FIELDS)


def accel_fields(chk: Checker, data: Any, path: str, allow_doc_keys: bool = False) -> AccelConfig | None:
    """Validate a mapping of every ``AccelConfig`` field; unknown and missing keys are problems."""
    m = chk.mapping(data, path, required=REQUIRED_ACCEL_FIELDS,
                    optional=OPTIONAL_ACCEL_FIELDS + (DOC_KEYS if allow_doc_keys else ()))
    if m is None:
        return None
    n = len(chk.problems)
    for key in DOC_KEYS:
        if key in m and not isinstance(m[key], str):
            chk.fail(f"{path}.{key}" if path else key, f"`{key}` must be text, got {type(m[key]).__name__}")
    values = {f: check_accel_field(chk, f, m[f], f"{path}.{f}" if path else f) for f in ACCEL_FIELDS if f in m}
    if len(chk.problems) > n:
        return None
    return AccelConfig(**values)


_SIZE_FIELDS = ("rf_bytes_per_pe", "local_buffer_bytes_per_pe", "global_buffer_bytes")
_ACCEL_TOKENS = [
    ("pe", r"pe(\d+)x(\d+)"), ("macs_per_pe", r"m(\d+)"), ("rf_bytes_per_pe", r"rf(\d+[kMG]?)"),
    ("local_buffer_bytes_per_pe", r"lb(\d+[kMG]?)"), ("global_buffer_bytes", r"gb(\d+[kMG]?)"),
    ("dram_bw_bytes_per_cycle", r"bw(\d+(?:\.\d+)?)"), ("clock_mhz", r"clk(\d+(?:\.\d+)?)"),
    ("dataflow", r"(ws|os|rs)"), ("precision_bits", r"p(\d+)"), ("tech", r"t(" + _TECH_PATTERN + ")"),
]


def _decode_accel(text: Any) -> AccelConfig:
    source = "accelerator string"
    form = "pe<R>x<C>_m<n>_rf<bytes>_lb<bytes>_gb<bytes>_bw<bytes/cycle>_clk<MHz>_<ws|os|rs>_p<bits>_t<tech>"
    if not isinstance(text, str) or not text.strip():
        raise DecodeError(Problem(source, f"expected a non-empty string, got {text!r}"))
    text = text.strip()
    tokens = text.split("_")
    cal_token = tokens.pop() if len(tokens) == len(_ACCEL_TOKENS) + 1 and tokens[-1].startswith("cal") else None
    if len(tokens) != len(_ACCEL_TOKENS):
        raise DecodeError(Problem(source, f"expected {len(_ACCEL_TOKENS)} tokens `{form}`, "
                                          f"got {len(tokens)} in `{text}`"))
    data: dict[str, Any] = {}
    problems = []
    for tok, (name, pattern) in zip(tokens, _ACCEL_TOKENS):
        m = re.fullmatch(pattern, tok)
        if not m:
            problems.append(Problem(source, f"unknown or malformed token `{tok}` where `{pattern}` "
                                            f"({name}) was expected in `{text}`"))
            continue
        if name == "pe":
            data["pe_rows"], data["pe_cols"] = int(m.group(1)), int(m.group(2))
        elif name == "dataflow":
            data[name] = _DATAFLOW_BY_SHORT[m.group(1)]
        elif name == "tech":
            data[name] = m.group(1)
        elif name in _SIZE_FIELDS:
            data[name] = parse_size_bytes(m.group(1))
        elif name in ("dram_bw_bytes_per_cycle", "clock_mhz"):
            data[name] = float(m.group(1))
        else:
            data[name] = int(m.group(1))
    if cal_token is not None:
        values = cal_token[3:].split("-")
        try:
            if len(values) != len(CALIBRATION_FIELDS):
                raise ValueError
            data["calibration"] = dict(zip(CALIBRATION_FIELDS, (float(v) for v in values)))
        except ValueError:
            problems.append(Problem(source, f"malformed calibration token `{cal_token}`: expected `cal` and "
                                            f"{len(CALIBRATION_FIELDS)} numbers joined by `-` "
                                            f"({', '.join(CALIBRATION_FIELDS)})"))
    if problems:
        raise DecodeError(problems, f"cannot decode accelerator string `{text}`")
    chk = Checker(source)
    accel = accel_fields(chk, data, "")
    if chk.problems:
        raise DecodeError(chk.problems, f"invalid values in accelerator string `{text}`")
    canonical = accel.to_string()  # type: ignore[union-attr]
    if canonical != text:
        raise DecodeError(Problem(source, f"`{text}` is not in canonical form; write `{canonical}`"))
    return accel  # type: ignore[return-value]
