"""``AccelConfig``: a spatial accelerator (PE array + memory hierarchy) as plain data.

Canonical string, fields in a fixed order (sizes in bytes with binary ``k``/``M``/``G`` suffixes)::

    pe16x16_m1_rf512_lb0_gb128k_bw16_clk800_ws_p8_t45nm

``pe<rows>x<cols>`` PE array, ``m`` MACs per PE per cycle, ``rf`` register file bytes per PE,
``lb`` local (input) buffer bytes per PE (0 for none), ``gb`` global (shared) buffer bytes, ``bw`` DRAM bandwidth in
bytes/cycle, ``clk`` clock in MHz, dataflow ``ws``/``os``/``rs``, ``p`` precision in bits,
``t`` technology table name (``hw_configs/tech/<name>.yaml``). Optional tokens follow, each only
when its field differs from the default (the simple model of earlier versions):
``vu<lanes>c<add>-<mul>-<relu>-<sigmoid>-<pool>-<move>`` the vector unit (:class:`VectorUnit`),
``ov<cycles>`` fixed cycles per layer, ``wc<bytes>`` the weight cache, ``fu`` element-wise fusion,
``ac`` activations kept on chip, ``sq`` sequential (not pipelined) execution; a calibrated accelerator (see :class:`Calibration`,
``codesign hw calibrate``) ends with ``_cal<conv>-<depthwise>-<pointwise>-<fc>-<vector>-<dram>-<gb>-<overhead>``.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .checks import Checker, format_size_bytes, human_size_bytes, parse_size_bytes
from .errors import DecodeError, Problem
from .yaml_io import dump_yaml, load_yaml

#: every dataflow and its token in accelerator keys (the spatial unrolling each allows:
#: ``accel_models.dataflows.SPATIAL_DIMS``)
DATAFLOWS = {"weight_stationary": "ws", "output_stationary": "os", "row_stationary": "rs",
             "weight_stationary_flex": "wsf"}
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

#: primitive operations of the vector unit; :class:`VectorUnit` gives each one's cycles per element
VECTOR_OPS = ("add", "mul", "relu", "sigmoid", "pool", "move")
#: the largest cycles per element a vector op may take
MAX_VECTOR_CYCLES = 1000.0


@dataclass(frozen=True)
class VectorUnit:
    """The unit that runs element-wise work: activations fused into MAC layers, residual adds,
    squeeze-excite gates, pooling, concatenation and reshapes.

    ``lanes``: elements per cycle (0, the default: one per PE column × MAC lane, the array's output
    edge). The other fields are cycles per element of each primitive op (:data:`VECTOR_OPS`):
    ``add`` (add/subtract, batch-norm shift), ``mul`` (multiply, scale), ``relu`` (clamp: ReLU, ReLU6),
    ``sigmoid`` (one sigmoid/exp evaluation), ``pool`` (per input element of a pooling window),
    ``move`` (copy: concat, reshape, shuffle). Composite functions run as their op sequences
    (``accel_models.hardware_arrays.FN_OPS``: h-swish = add, clamp, multiply, multiply). Every MAC
    layer's outputs also pass the output stage (``OUTPUT_STAGE_OPS``: integer outputs are rescaled,
    offset and saturated; float outputs get their bias added).
    """

    lanes: int = 0
    add: float = 1.0
    mul: float = 1.0
    relu: float = 1.0
    sigmoid: float = 1.0
    pool: float = 1.0
    move: float = 1.0

    @property
    def is_default(self) -> bool:
        return self == VectorUnit()

    def cycles(self) -> tuple[float, ...]:
        return tuple(getattr(self, op) for op in VECTOR_OPS)

    def token(self) -> str:
        return f"vu{self.lanes}c" + "-".join(_fmt_num(c) for c in self.cycles())

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


VECTOR_UNIT_FIELDS = tuple(VectorUnit.__dataclass_fields__)


def check_vector_unit(chk: Checker, value: Any, path: str) -> VectorUnit | None:
    """Validate a ``vector_unit:`` mapping: every key required (lanes ≥ 1; cycles per element in (0, 1000])."""
    m = chk.mapping(value, path, required=VECTOR_UNIT_FIELDS)
    if m is None:
        return None
    n = len(chk.problems)
    if any(k not in m for k in VECTOR_UNIT_FIELDS):  # already reported by the mapping check
        return None
    out: dict[str, Any] = {"lanes": chk.integer(m["lanes"], f"{path}.lanes", 1, 1 << 20)}
    for op in VECTOR_OPS:
        v = chk.number(m[op], f"{path}.{op}", 0.0, MAX_VECTOR_CYCLES, lo_open=True)
        out[op] = None if v is None else round(float(v), 4)
    if len(chk.problems) > n:
        return None
    return VectorUnit(**out)
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
    """A spatial accelerator; every size is in bytes, bandwidth in bytes/cycle, clock in MHz.

    Beyond the array and its buffers, how the target executes a network (each field optional; the
    defaults are the plain per-layer model): ``vector_unit`` (:class:`VectorUnit`),
    ``layer_overhead_cycles`` (fixed cycles every layer costs: configuration, synchronisation,
    pipeline fill), ``weight_cache_bytes`` (on-chip memory beside the global buffer that keeps a
    network's weights resident across inferences, filled in layer order: the Edge TPU's parameter
    cache; weights beyond it are streamed from DRAM every inference), ``fuse_elementwise``
    (element-wise layers run in their producer's output pipeline: no tensors of their own, no
    overhead), ``activations_on_chip`` (a layer's input and output stay in the global buffer when
    they fit: no DRAM round trip between layers) and ``pipelined`` (true: the MAC array, the vector
    unit and the memory transfers work at once and a layer takes the slowest of them, as in an
    accelerator's decoupled units; false: one datapath issues MACs, element-wise ops and loads in
    turn, as a CPU core does, and they add up).
    """

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
    vector_unit: VectorUnit = VectorUnit()
    layer_overhead_cycles: float = 0.0
    weight_cache_bytes: int = 0
    fuse_elementwise: bool = False
    activations_on_chip: bool = False
    pipelined: bool = True
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
        ex = [tok for tok, on in ((self.vector_unit.token(), not self.vector_unit.is_default),
                                  (f"ov{_fmt_num(self.layer_overhead_cycles)}", self.layer_overhead_cycles > 0),
                                  (f"wc{format_size_bytes(self.weight_cache_bytes)}", self.weight_cache_bytes > 0),
                                  ("fu", self.fuse_elementwise), ("ac", self.activations_on_chip),
                                  ("sq", not self.pipelined)) if on]
        return "_".join([
            f"pe{self.pe_rows}x{self.pe_cols}", f"m{self.macs_per_pe}",
            f"rf{format_size_bytes(self.rf_bytes_per_pe)}",
            f"lb{format_size_bytes(self.local_buffer_bytes_per_pe)}",
            f"gb{format_size_bytes(self.global_buffer_bytes)}",
            f"bw{_fmt_num(self.dram_bw_bytes_per_cycle)}", f"clk{_fmt_num(self.clock_mhz)}",
            DATAFLOWS[self.dataflow], f"p{self.precision_bits}", f"t{self.tech}", *ex, *cal,
        ])

    def __str__(self) -> str:
        return self.to_string()

    @classmethod
    def from_string(cls, text: str) -> AccelConfig:
        """Decode a canonical accelerator string; a malformed or unknown token is an error naming it."""
        return _decode_accel(text)

    # ---- dict / YAML ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Every required field; the optional ones only when they differ from their defaults."""
        out = asdict(self)
        for f in OPTIONAL_ACCEL_FIELDS:
            if getattr(self, f) == _DEFAULTS[f]:
                del out[f]
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
            if f in body:
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
    if name == "vector_unit":
        return check_vector_unit(chk, value, path)
    if name == "layer_overhead_cycles":
        return chk.number(value, path, 0.0, 1e9)
    if name == "weight_cache_bytes":
        return chk.size_bytes(value, path, 0, 1024**3)
    if name in ("fuse_elementwise", "activations_on_chip", "pipelined"):
        return chk.boolean(value, path)
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
OPTIONAL_ACCEL_FIELDS = ("vector_unit", "layer_overhead_cycles", "weight_cache_bytes", "fuse_elementwise",
                         "activations_on_chip", "pipelined", "calibration")
_DEFAULTS = {f.name: f.default for f in AccelConfig.__dataclass_fields__.values()}
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


_SIZE_FIELDS = ("rf_bytes_per_pe", "local_buffer_bytes_per_pe", "global_buffer_bytes", "weight_cache_bytes")
_ACCEL_TOKENS = [
    ("pe", r"pe(\d+)x(\d+)"), ("macs_per_pe", r"m(\d+)"), ("rf_bytes_per_pe", r"rf(\d+[kMG]?)"),
    ("local_buffer_bytes_per_pe", r"lb(\d+[kMG]?)"), ("global_buffer_bytes", r"gb(\d+[kMG]?)"),
    ("dram_bw_bytes_per_cycle", r"bw(\d+(?:\.\d+)?)"), ("clock_mhz", r"clk(\d+(?:\.\d+)?)"),
    ("dataflow", r"(" + "|".join(sorted(_DATAFLOW_BY_SHORT, key=len, reverse=True)) + ")"),
    ("precision_bits", r"p(\d+)"), ("tech", r"t(" + _TECH_PATTERN + ")"),
]


_NUM = r"(\d+(?:\.\d+)?)"
_VU_RE = re.compile(r"vu(\d+)c" + "-".join([_NUM] * len(VECTOR_OPS)))


def _decode_optional_token(tok: str, data: dict[str, Any]) -> str | None:
    """Store one optional token's field in ``data``; a problem text when it is not one."""
    if m := _VU_RE.fullmatch(tok):
        data["vector_unit"] = {"lanes": int(m.group(1)), **{op: float(v) for op, v in zip(VECTOR_OPS, m.groups()[1:])}}
    elif m := re.fullmatch("ov" + _NUM, tok):
        data["layer_overhead_cycles"] = float(m.group(1))
    elif m := re.fullmatch(r"wc(\d+[kMG]?)", tok):
        data["weight_cache_bytes"] = parse_size_bytes(m.group(1))
    elif tok in ("fu", "ac"):
        data["fuse_elementwise" if tok == "fu" else "activations_on_chip"] = True
    elif tok == "sq":
        data["pipelined"] = False
    elif tok.startswith("cal"):
        values = tok[3:].split("-")
        try:
            if len(values) != len(CALIBRATION_FIELDS):
                raise ValueError
            data["calibration"] = dict(zip(CALIBRATION_FIELDS, (float(v) for v in values)))
        except ValueError:
            return (f"malformed calibration token `{tok}`: expected `cal` and {len(CALIBRATION_FIELDS)} numbers "
                    f"joined by `-` ({', '.join(CALIBRATION_FIELDS)})")
    else:
        return (f"unknown token `{tok}` after the {len(_ACCEL_TOKENS)} fixed ones: expected `vu<lanes>c<cycles…>`, "
                "`ov<cycles>`, `wc<bytes>`, `fu`, `ac`, `sq` or `cal…`")
    return None


def _decode_accel(text: Any) -> AccelConfig:
    source = "accelerator string"
    form = "pe<R>x<C>_m<n>_rf<bytes>_lb<bytes>_gb<bytes>_bw<bytes/cycle>_clk<MHz>_<ws|os|rs>_p<bits>_t<tech>"
    if not isinstance(text, str) or not text.strip():
        raise DecodeError(Problem(source, f"expected a non-empty string, got {text!r}"))
    text = text.strip()
    tokens = text.split("_")
    extra = tokens[len(_ACCEL_TOKENS):]
    tokens = tokens[:len(_ACCEL_TOKENS)]
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
    for tok in extra:
        problem = _decode_optional_token(tok, data)
        if problem:
            problems.append(Problem(source, f"{problem} in `{text}`"))
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
