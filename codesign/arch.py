"""``ArchConfig``: an MBConv/IBN network as plain data, with a canonical timm-style string.

The string lists the network left to right; ``:`` separates the header, stem, stages and head,
``,`` separates the blocks of one stage::

    net_r32_i3_n10:stem_k3_c16_s1:ibn_k3_e1_c16_s1:ibn_k5_e6_c24_s2,ibn_k3_e3_c24_s1_se0.25:head_c256

Tokens: ``net_r<input resolution px>_i<input channels>_n<classes>`` with an optional quantization
policy ``_w<weight bits>a<activation bits>`` (e.g. ``net_r32_i3_n10_w8a8``; none means float);
``stem_k<kernel>_c<channels>_s<stride>``; a block ``<ibn|fused_ibn>_k<kernel>_e<expansion>_c<out channels>_s<stride>``
with optional ``_se<ratio>`` (squeeze-excite width as a fraction of the block's input channels) and
an optional activation suffix (``_relu6``, ``_hswish``, ``_swish``; none means ReLU);
``head_c<channels>`` (the 1×1 conv before global pooling and the classifier).
:func:`ArchConfig.from_string` accepts exactly what :meth:`ArchConfig.to_string` writes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from .checks import Checker
from .errors import DecodeError, Problem

BLOCK_TYPES = ("ibn", "fused_ibn")
KERNELS = (1, 3, 5, 7)
STRIDES = (1, 2)
ACTIVATIONS = ("relu", "relu6", "hswish", "swish")
DEFAULT_ACTIVATION = "relu"
MAX_CHANNELS = 8192
QUANT_BITS = (2, 3, 4, 5, 6, 7, 8, 16)
_QUANT_RE = re.compile(r"^w(\d+)a(\d+)$")


def _fmt_float(x: float) -> str:
    return repr(float(x))


@dataclass(frozen=True)
class QuantPolicy:
    """How a network is quantized for deployment: signed symmetric per-output-channel weights of
    ``weight_bits`` bits, unsigned asymmetric per-tensor activations of ``act_bits`` bits, ranges
    calibrated on training images (see :mod:`codesign.quantization`). Canonical string ``w<bits>a<bits>``."""

    weight_bits: int = 8
    act_bits: int = 8

    @property
    def key(self) -> str:
        return f"w{self.weight_bits}a{self.act_bits}"

    @property
    def max_bits(self) -> int:
        """The datapath width (bits) an accelerator needs to run this policy."""
        return max(self.weight_bits, self.act_bits)

    def to_string(self) -> str:
        return self.key

    @classmethod
    def from_string(cls, text: Any, where: str = "quant") -> QuantPolicy:
        """``w8a8`` → ``QuantPolicy(8, 8)``; anything else is a ``DecodeError`` naming ``where``."""
        m = _QUANT_RE.match(text) if isinstance(text, str) else None
        bits = (int(m.group(1)), int(m.group(2))) if m else None
        if bits is None or any(b not in QUANT_BITS for b in bits):
            raise DecodeError(Problem(where, f"expected a quantization policy `w<bits>a<bits>` with bits in "
                                             f"{list(QUANT_BITS)} (e.g. `w8a8`, `w4a8`), got {text!r}"))
        return cls(*bits)


@dataclass(frozen=True)
class BlockConfig:
    """One inverted-bottleneck block.

    ``ibn``: 1×1 expand (skipped when ``expansion == 1``) → k×k depthwise → optional SE → 1×1 project.
    ``fused_ibn``: k×k full conv to the expanded width → optional SE → 1×1 project
    (with ``expansion == 1`` the k×k conv goes straight to ``channels`` and there is no project).
    A residual connection is added when ``stride == 1`` and the input width equals ``channels``.
    """

    type: str
    kernel: int
    expansion: int
    channels: int
    stride: int
    se: float = 0.0
    activation: str = DEFAULT_ACTIVATION

    def to_string(self) -> str:
        s = f"{self.type}_k{self.kernel}_e{self.expansion}_c{self.channels}_s{self.stride}"
        if self.se:
            s += f"_se{_fmt_float(self.se)}"
        if self.activation != DEFAULT_ACTIVATION:
            s += f"_{self.activation}"
        return s

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "kernel": self.kernel, "expansion": self.expansion,
                "channels": self.channels, "stride": self.stride, "se": self.se,
                "activation": self.activation}


@dataclass(frozen=True)
class StemConfig:
    """The first k×k convolution (+ batch norm + activation)."""

    kernel: int = 3
    channels: int = 16
    stride: int = 1
    activation: str = DEFAULT_ACTIVATION

    def to_string(self) -> str:
        s = f"stem_k{self.kernel}_c{self.channels}_s{self.stride}"
        return s if self.activation == DEFAULT_ACTIVATION else f"{s}_{self.activation}"

    def to_dict(self) -> dict[str, Any]:
        return {"kernel": self.kernel, "channels": self.channels, "stride": self.stride,
                "activation": self.activation}


@dataclass(frozen=True)
class HeadConfig:
    """1×1 conv to ``channels`` (+ BN + activation), global average pooling, then the classifier."""

    channels: int = 256
    activation: str = DEFAULT_ACTIVATION

    def to_string(self) -> str:
        s = f"head_c{self.channels}"
        return s if self.activation == DEFAULT_ACTIVATION else f"{s}_{self.activation}"

    def to_dict(self) -> dict[str, Any]:
        return {"channels": self.channels, "activation": self.activation}


@dataclass(frozen=True)
class ArchConfig:
    """A whole network: input, stem, stages of blocks, head."""

    stages: tuple[tuple[BlockConfig, ...], ...]
    stem: StemConfig = field(default_factory=StemConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    resolution: int = 32
    in_channels: int = 3
    num_classes: int = 10
    quant: QuantPolicy | None = None  # None: a float network

    # ---- derived views -------------------------------------------------------------
    @property
    def blocks(self) -> tuple[BlockConfig, ...]:
        return tuple(b for stage in self.stages for b in stage)

    @property
    def depth(self) -> int:
        return len(self.blocks)

    @property
    def key(self) -> str:
        return self.to_string()

    # ---- canonical string ----------------------------------------------------------
    def to_string(self) -> str:
        header = f"net_r{self.resolution}_i{self.in_channels}_n{self.num_classes}"
        if self.quant is not None:
            header += f"_{self.quant.key}"
        stages = [",".join(b.to_string() for b in stage) for stage in self.stages]
        return ":".join([header, self.stem.to_string(), *stages, self.head.to_string()])

    def __str__(self) -> str:
        return self.to_string()

    @classmethod
    def from_string(cls, text: str) -> ArchConfig:
        """Decode a canonical architecture string; any unknown or malformed token is an error naming it."""
        return _decode_arch(text)

    # ---- dict / JSON / YAML ----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = {
            "resolution": self.resolution, "in_channels": self.in_channels,
            "num_classes": self.num_classes, "stem": self.stem.to_dict(),
            "stages": [[b.to_dict() for b in stage] for stage in self.stages],
            "head": self.head.to_dict(),
        }
        if self.quant is not None:
            out["quant"] = self.quant.key
        return out

    def as_float(self) -> ArchConfig:
        """The same network without its quantization policy."""
        return self if self.quant is None else replace(self, quant=None)

    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> ArchConfig:
        """Build from :meth:`to_dict`'s form, validating every field (all problems reported at once)."""
        chk = Checker(source)
        arch = _arch_from_dict(chk, data)
        chk.raise_if_any("invalid architecture")
        assert arch is not None  # noqa: S101 - internal invariant: no problems implies a value
        return arch


# ---------------------------------------------------------------------------------------
# validation shared by the dict and string forms
def _check_activation(chk: Checker, value: Any, path: str) -> str | None:
    return chk.choice(value, path, ACTIVATIONS)


def _block_from_dict(chk: Checker, data: Any, path: str) -> BlockConfig | None:
    m = chk.mapping(data, path, required=("type", "kernel", "expansion", "channels", "stride"),
                    optional=("se", "activation"))
    if m is None:
        return None
    n = len(chk.problems)
    vals = dict(
        type=chk.choice(m.get("type"), f"{path}.type", BLOCK_TYPES),
        kernel=chk.choice(m.get("kernel"), f"{path}.kernel", KERNELS),
        expansion=chk.integer(m.get("expansion"), f"{path}.expansion", 1, 8),
        channels=chk.integer(m.get("channels"), f"{path}.channels", 1, MAX_CHANNELS),
        stride=chk.choice(m.get("stride"), f"{path}.stride", STRIDES),
        se=0.0 if m.get("se", 0) == 0 else chk.number(m.get("se"), f"{path}.se", 0.0, 1.0, lo_open=True),
        activation=_check_activation(chk, m.get("activation", DEFAULT_ACTIVATION), f"{path}.activation"),
    )
    return None if len(chk.problems) > n else BlockConfig(**vals)


def _arch_from_dict(chk: Checker, data: Any) -> ArchConfig | None:
    m = chk.mapping(data, "", required=("stages",),
                    optional=("resolution", "in_channels", "num_classes", "stem", "head", "quant"))
    if m is None:
        return None
    n = len(chk.problems)
    quant = None
    if m.get("quant") is not None:
        try:
            quant = QuantPolicy.from_string(m["quant"])
        except DecodeError as exc:
            chk.problems.extend(exc.problems)
    res = chk.integer(m.get("resolution", 32), "resolution", 8, 4096)
    inc = chk.integer(m.get("in_channels", 3), "in_channels", 1, 64)
    ncls = chk.integer(m.get("num_classes", 10), "num_classes", 1, 100000)
    stem = head = None
    sm = chk.mapping(m.get("stem", {}), "stem", optional=("kernel", "channels", "stride", "activation"))
    if sm is not None:
        stem = StemConfig(
            kernel=chk.choice(sm.get("kernel", 3), "stem.kernel", KERNELS),
            channels=chk.integer(sm.get("channels", 16), "stem.channels", 1, MAX_CHANNELS),
            stride=chk.choice(sm.get("stride", 1), "stem.stride", STRIDES),
            activation=_check_activation(chk, sm.get("activation", DEFAULT_ACTIVATION), "stem.activation"),
        )
    hm = chk.mapping(m.get("head", {}), "head", optional=("channels", "activation"))
    if hm is not None:
        head = HeadConfig(
            channels=chk.integer(hm.get("channels", 256), "head.channels", 1, MAX_CHANNELS),
            activation=_check_activation(chk, hm.get("activation", DEFAULT_ACTIVATION), "head.activation"),
        )
    stages = []
    raw_stages = chk.sequence(m.get("stages"), "stages", min_len=1) if "stages" in m else None
    for i, raw_stage in enumerate(raw_stages or []):
        blocks = chk.sequence(raw_stage, f"stages[{i}]", min_len=1)
        stages.append(tuple(_block_from_dict(chk, b, f"stages[{i}][{j}]") for j, b in enumerate(blocks or [])))
    if len(chk.problems) > n:
        return None
    arch = ArchConfig(stages=tuple(stages), stem=stem, head=head, resolution=res,
                      in_channels=inc, num_classes=ncls, quant=quant)
    _check_spatial(chk, arch)
    return arch if len(chk.problems) == n else None


def _check_spatial(chk: Checker, arch: ArchConfig) -> None:
    """The product of all strides must not exceed the input resolution."""
    total = arch.stem.stride
    for b in arch.blocks:
        total *= b.stride
    if arch.resolution < total:
        chk.fail("resolution", f"`resolution` {arch.resolution} px is smaller than the total stride {total}")


# ---------------------------------------------------------------------------------------
# string decoding
_NUM = r"(\d+(?:\.\d+)?)"
_TOKEN_RE = re.compile(r"^(k|e|c|s|se|r|i|n)" + _NUM + "$")


def _split_tokens(part: str, where: str, expect_head: str,
                  allowed: tuple[str, ...], problems: list[Problem]) -> dict[str, Any] | None:
    """Split ``part`` (``<head>_<tok>_<tok>…``) into ``{letter: number, 'activation': name}``."""
    tokens = part.split("_")
    head = tokens[0]
    body = tokens[1:]
    if expect_head == "block":
        if head == "fused" and body and body[0] == "ibn":
            head, body = "fused_ibn", body[1:]
        if head not in BLOCK_TYPES:
            problems.append(Problem(where, f"unknown block type `{head}` in `{part}` "
                                           f"(expected one of: {', '.join(BLOCK_TYPES)})"))
            return None
    elif head != expect_head:
        problems.append(Problem(where, f"expected `{expect_head}_…`, got `{part}`"))
        return None
    out: dict[str, Any] = {"head": head}
    for tok in body:
        if tok in ACTIVATIONS and "activation" not in out:
            out["activation"] = tok
            continue
        m = _TOKEN_RE.match(tok)
        if not m or m.group(1) not in allowed:
            problems.append(Problem(where, f"unknown token `{tok}` in `{part}` "
                                           f"(expected {', '.join(a + '<n>' for a in allowed)}"
                                           f" or an activation: {', '.join(ACTIVATIONS[1:])})"))
            return None
        key, val = m.group(1), m.group(2)
        if key in out:
            problems.append(Problem(where, f"token `{key}` given twice in `{part}`"))
            return None
        if key != "se" and "." in val:
            problems.append(Problem(where, f"token `{tok}` in `{part}` must be a whole number"))
            return None
        out[key] = float(val) if key == "se" else int(val)
    missing = [a for a in allowed if a != "se" and a not in out]
    if missing:
        problems.append(Problem(where, f"`{part}` is missing token(s) {', '.join(missing)}"))
        return None
    return out


def _decode_arch(text: Any) -> ArchConfig:
    source = "architecture string"
    if not isinstance(text, str) or not text.strip():
        raise DecodeError(Problem(source, f"expected a non-empty string, got {text!r}"))
    text = text.strip()
    parts = text.split(":")
    problems: list[Problem] = []
    if len(parts) < 4:
        raise DecodeError(Problem(source, "expected `net_…:stem_…:<stage>[:<stage>…]:head_…`, "
                                          f"got {len(parts)} part(s) in `{text}`"))
    header, quant = parts[0], None
    if "_w" in header and _QUANT_RE.match(header.rsplit("_", 1)[1]):
        header, quant = header.rsplit("_", 1)
    head_t = _split_tokens(header, "header", "net", ("r", "i", "n"), problems)
    stem_t = _split_tokens(parts[1], "stem", "stem", ("k", "c", "s"), problems)
    tail_t = _split_tokens(parts[-1], "head", "head", ("c",), problems)
    stages: list[list[dict[str, Any]]] = []
    for si, stage in enumerate(parts[2:-1]):
        blocks = []
        for bi, blk in enumerate(stage.split(",")):
            t = _split_tokens(blk, f"stage {si} block {bi}", "block", ("k", "e", "c", "s", "se"), problems)
            if t is not None:
                blocks.append({"type": t["head"], "kernel": t["k"], "expansion": t["e"], "channels": t["c"],
                               "stride": t["s"], "se": t.get("se", 0.0),
                               "activation": t.get("activation", DEFAULT_ACTIVATION)})
        stages.append(blocks)
    if problems:
        raise DecodeError(problems, f"cannot decode architecture string `{text}`")
    data = {
        "resolution": head_t["r"], "in_channels": head_t["i"], "num_classes": head_t["n"],
        "stem": {"kernel": stem_t["k"], "channels": stem_t["c"], "stride": stem_t["s"],
                 "activation": stem_t.get("activation", DEFAULT_ACTIVATION)},
        "head": {"channels": tail_t["c"], "activation": tail_t.get("activation", DEFAULT_ACTIVATION)},
        "stages": stages,
    }
    if quant is not None:
        data["quant"] = quant
    chk = Checker(source)
    arch = _arch_from_dict(chk, data)
    if chk.problems:
        raise DecodeError(chk.problems, f"invalid values in architecture string `{text}`")
    canonical = arch.to_string()
    if canonical != text:
        raise DecodeError(Problem(source, f"`{text}` is not in canonical form; write `{canonical}`"))
    return arch


def block_rows(arch: ArchConfig) -> list[dict[str, Any]]:
    """The network as a stage/block table: one row per stem, block and head (for reports and model cards)."""
    rows: list[dict[str, Any]] = [{"stage": "stem", "block": f"conv k{arch.stem.kernel} s{arch.stem.stride}",
                                   "channels": arch.stem.channels}]
    for i, stage in enumerate(arch.stages):
        for b in stage:
            rows.append({"stage": i + 1, "block": f"{b.type} k{b.kernel} e{b.expansion} s{b.stride}"
                                                  + (f" se{b.se:g}" if b.se else "") + f" {b.activation}",
                         "channels": b.channels})
    rows.append({"stage": "head", "block": "conv 1x1 + pool + fc", "channels": arch.head.channels})
    return rows
