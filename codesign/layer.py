"""``Layer``: one operation of a workload in Timeloop-style dimensions; a workload is a list of them.

Dimensions: N batch, K output channels, C input channels, P×Q output height×width, R×S filter
height×width. Convolution-like layers (``conv``, ``depthwise``, ``pointwise``, ``fc``) carry MACs;
``elementwise``, ``pool`` and ``data_movement`` carry none but still read and write tensors, so
cost models must charge them memory traffic (and vector work), never zero.

Canonical string (no name; the key of lookup tables and caches)::

    pointwise-relu6_n1_k96_c16_p32_q32_r1_s1_sh1_sw1_h32_w32_dh1_dw1_g1_b1_x1

``<op>-<fn>`` then N K C P Q R S, strides (``sh``/``sw``),
input height/width (``h``/``w``, pixels), dilations (``dh``/``dw``), groups ``g``, bias ``b0``/``b1``,
operand tensors ``x``.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from .checks import Checker
from .errors import DecodeError, Problem

OPS = ("conv", "depthwise", "pointwise", "fc", "elementwise", "pool", "data_movement")
MAC_OPS = ("conv", "depthwise", "pointwise", "fc")
#: ``fn`` of conv-like layers: the activation fused after them (batch norm is always folded)
FUSED_ACTIVATIONS = ("none", "relu", "relu6", "hswish", "swish", "sigmoid", "hsigmoid", "tanh")
_FN_PATTERN = r"[a-z0-9]{1,32}"
_DIMS = ("n", "k", "c", "p", "q", "r", "s", "stride_h", "stride_w", "h_in", "w_in",
         "dilation_h", "dilation_w", "groups", "bias", "operands")
_TOKENS = ("n", "k", "c", "p", "q", "r", "s", "sh", "sw", "h", "w", "dh", "dw", "g", "b", "x")
_KEY_RE = re.compile(r"^([a-z_]+)-(" + _FN_PATTERN + ")_" + "_".join(t + r"(\d+)" for t in _TOKENS) + "$")


@dataclass(frozen=True)
class Layer:
    """One workload operation. ``h_in``/``w_in`` are the input height/width in pixels; 0 (the default)
    means the smallest input that gives P×Q without padding."""

    op: str
    fn: str
    n: int
    k: int
    c: int
    p: int
    q: int
    r: int = 1
    s: int = 1
    stride_h: int = 1
    stride_w: int = 1
    h_in: int = 0
    w_in: int = 0
    dilation_h: int = 1
    dilation_w: int = 1
    groups: int = 1
    bias: int = 0
    operands: int = 1
    name: str = ""

    def __post_init__(self) -> None:
        if not self.h_in:
            object.__setattr__(self, "h_in", (self.p - 1) * self.stride_h + self.dilation_h * (self.r - 1) + 1)
        if not self.w_in:
            object.__setattr__(self, "w_in", (self.q - 1) * self.stride_w + self.dilation_w * (self.s - 1) + 1)

    # ---- sizes ---------------------------------------------------------------------
    @property
    def pad_h(self) -> int:
        """Total padding (both sides) along the height that the input size implies, in pixels."""
        return max(0, (self.p - 1) * self.stride_h + self.dilation_h * (self.r - 1) + 1 - self.h_in)

    @property
    def pad_w(self) -> int:
        return max(0, (self.q - 1) * self.stride_w + self.dilation_w * (self.s - 1) + 1 - self.w_in)

    @property
    def macs(self) -> int:
        """Multiply-accumulates (0 for non-MAC ops)."""
        if self.op not in MAC_OPS:
            return 0
        return self.n * self.k * self.p * self.q * (self.c // self.groups) * self.r * self.s

    @property
    def weight_elems(self) -> int:
        return self.k * (self.c // self.groups) * self.r * self.s if self.op in MAC_OPS else 0

    @property
    def params(self) -> int:
        """Deployed parameters: weights plus bias (batch norm folded into the bias)."""
        return self.weight_elems + (self.k if self.bias else 0)

    @property
    def input_elems(self) -> int:
        """Elements read from activation tensors (all operands)."""
        return self.operands * self.n * self.c * self.h_in * self.w_in

    @property
    def output_elems(self) -> int:
        return self.n * self.k * self.p * self.q

    # ---- canonical string ----------------------------------------------------------
    @property
    def key(self) -> str:
        vals = [getattr(self, d) for d in _DIMS]
        return f"{self.op}-{self.fn}_" + "_".join(f"{t}{v}" for t, v in zip(_TOKENS, vals))

    def to_string(self) -> str:
        return self.key

    @classmethod
    def from_string(cls, text: str, name: str = "") -> Layer:
        m = _KEY_RE.match(text.strip()) if isinstance(text, str) else None
        if not m:
            form = "<op>-<fn>_" + "_".join(t + "<n>" for t in _TOKENS)
            raise DecodeError(Problem("layer string", f"expected `{form}`, got `{text}`"))
        data = {"op": m.group(1), "fn": m.group(2), "name": name,
                **{d: int(v) for d, v in zip(_DIMS, m.groups()[2:])}}
        layer = cls.from_dict(data, source="layer string")
        if layer.key != text.strip():
            raise DecodeError(Problem("layer string", f"`{text}` is not canonical; write `{layer.key}`"))
        return layer

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> Layer:
        chk = Checker(source)
        m = chk.mapping(data, "", required=("op", "fn", "n", "k", "c", "p", "q"),
                        optional=(*_DIMS[7:], "r", "s", "name"))
        if m is not None:
            chk.choice(m.get("op"), "op", OPS)
            chk.string(m.get("fn"), "fn", _FN_PATTERN, "a lower-case function name such as 'relu'")
            defaults = {f.name: f.default for f in cls.__dataclass_fields__.values()}
            for d in _DIMS:
                lo = 0 if d in ("h_in", "w_in", "bias") else 1
                hi = 1 if d == "bias" else 2**31
                chk.integer(m.get(d, defaults.get(d)), d, lo, hi)
            if not isinstance(m.get("name", ""), str):
                chk.fail("name", "`name` must be text")
            if not chk.problems and m["c"] % m.get("groups", 1):
                chk.fail("groups", f"`groups` must divide c={m['c']}, got {m.get('groups')}")
        chk.raise_if_any("invalid layer")
        return cls(**dict(m))  # type: ignore[arg-type]


def workload_totals(layers: list[Layer]) -> dict[str, int]:
    """Totals of a workload: MACs, deployed parameters, layer count."""
    return {"layers": len(layers), "macs": sum(l.macs for l in layers), "params": sum(l.params for l in layers)}
