"""The architecture search space: per stage depth and width, per block kernel, expansion, type, SE.

Loaded from YAML (``codesign/spaces/ibn_32.yaml`` is the default) so users can edit it. Every
field is either one value (fixed) or a list of values (a choice). Flattened, the space is a fixed
list of named categorical :class:`Choice` s; the blocks past a stage's sampled depth are inactive.

``quant`` (optional, default ``float``) is the network's quantization policy: ``float`` or
``w<weight bits>a<activation bits>`` (e.g. ``[float, w8a8, w4a8]`` makes precision a choice); a
quantized network's accuracy is measured after post-training quantization (:mod:`codesign.quantization`)
and an accelerator whose ``precision_bits`` is narrower cannot run it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from math import log10
from pathlib import Path
from typing import Any

import numpy as np

from ..arch import (ACTIVATIONS, BLOCK_TYPES, KERNELS, MAX_CHANNELS, STRIDES, ArchConfig, BlockConfig, HeadConfig,
                    QuantPolicy, StemConfig)
from ..errors import DecodeError
from ..checks import Checker
from ..errors import Problem, ValidationError
from ..yaml_io import load_space_yaml, shipped_or_file
from .choice import Choice, options_field

_SHIPPED = Path(str(resources.files("codesign.spaces")))
FLOAT = "float"  # the quantization option of a float network
BLOCK_FIELDS = ("kernel", "expansion", "block_type", "se", "activation")
_STAGE_KEYS = ("stride", "depth", "channels", *BLOCK_FIELDS)
_BLOCK_ATTR = {"kernel": "kernel", "expansion": "expansion", "block_type": "type", "se": "se",
               "activation": "activation"}


@dataclass(frozen=True)
class StageSpace:
    """Choices of one stage; ``stride`` applies to its first block."""

    stride: int
    depth: tuple[int, ...]
    channels: tuple[int, ...]
    kernel: tuple[int, ...]
    expansion: tuple[int, ...]
    block_type: tuple[str, ...]
    se: tuple[float, ...]
    activation: tuple[str, ...]


@dataclass(frozen=True)
class ArchSpace:
    name: str
    resolution: int
    in_channels: int
    num_classes: int
    stem_kernel: int
    stem_stride: int
    stem_channels: tuple[int, ...]
    stem_activation: str
    head_channels: tuple[int, ...]
    head_activation: str
    stages: tuple[StageSpace, ...]
    quant: tuple[str, ...] = (FLOAT,)

    # ---- loading -------------------------------------------------------------------
    @classmethod
    def default(cls) -> ArchSpace:
        return cls.from_yaml(resources.files("codesign.spaces") / "ibn_32.yaml")

    @classmethod
    def resolve(cls, name_or_path: str | Path) -> ArchSpace:
        """A shipped space by name (``ibn_32``, ``ibn_32_compact``) or a YAML file."""
        return cls.from_yaml(shipped_or_file(name_or_path, _SHIPPED, "architecture space"))

    @classmethod
    def from_yaml(cls, path: str | Path) -> ArchSpace:
        """A space file (``extends: <space>`` reuses another's fields, see :func:`load_space_yaml`)."""
        return cls.from_dict(load_space_yaml(path, _SHIPPED, "architecture space"), source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> ArchSpace:
        chk = Checker(source)
        space = _space_from_dict(chk, data)
        chk.raise_if_any(f"invalid architecture space{' ' + source if source else ''}")
        return space  # type: ignore[return-value]

    # ---- the flattened encoding ------------------------------------------------------
    def all_choices(self) -> list[Choice]:
        """Every field of the space in a fixed order, including those with a single option."""
        return list(self._all_choices)

    @cached_property
    def _all_choices(self) -> tuple[Choice, ...]:  # a frozen space's fields: built once (decode asks per trial)
        out = [Choice("stem.channels", self.stem_channels), Choice("head.channels", self.head_channels),
               Choice("quant", self.quant)]
        for i, st in enumerate(self.stages):
            out += [Choice(f"s{i}.depth", st.depth), Choice(f"s{i}.channels", st.channels)]
            for j in range(max(st.depth)):
                out += [Choice(f"s{i}.b{j}.{f}", getattr(st, f)) for f in BLOCK_FIELDS]
        return tuple(out)

    def choices(self) -> list[Choice]:
        """The decisions: fields with at least two options."""
        return [c for c in self.all_choices() if len(c.options) > 1]

    def active(self, values: dict[str, Any]) -> set[str]:
        """Names of the choices that shape the network for these values (blocks within depth)."""
        names = {"stem.channels", "head.channels", "quant"}
        for i, st in enumerate(self.stages):
            names |= {f"s{i}.depth", f"s{i}.channels"}
            depth = values.get(f"s{i}.depth", st.depth[0])
            names |= {f"s{i}.b{j}.{f}" for j in range(depth) for f in BLOCK_FIELDS}
        return names

    def decode(self, values: dict[str, Any]) -> ArchConfig:
        """Choice values (missing single-option fields take their only value) → ``ArchConfig``."""
        full = {c.name: values.get(c.name, c.options[0]) for c in self.all_choices()}
        stages = []
        for i, st in enumerate(self.stages):
            blocks = []
            for j in range(full[f"s{i}.depth"]):
                kw = {_BLOCK_ATTR[f]: full[f"s{i}.b{j}.{f}"] for f in BLOCK_FIELDS}
                blocks.append(BlockConfig(channels=full[f"s{i}.channels"], stride=st.stride if j == 0 else 1, **kw))
            stages.append(tuple(blocks))
        return ArchConfig(
            stages=tuple(stages),
            stem=StemConfig(self.stem_kernel, full["stem.channels"], self.stem_stride, self.stem_activation),
            head=HeadConfig(full["head.channels"], self.head_activation),
            resolution=self.resolution, in_channels=self.in_channels, num_classes=self.num_classes,
            quant=None if full["quant"] == FLOAT else QuantPolicy.from_string(full["quant"]),
        )

    def encode(self, arch: ArchConfig) -> dict[str, Any]:
        """``ArchConfig`` → values of :meth:`all_choices` (inactive blocks take their first option).

        Raises ``ValidationError`` listing every field of ``arch`` that the space does not allow.
        """
        problems: list[Problem] = []
        values: dict[str, Any] = {}

        def put(name: str, value: Any, options: tuple) -> None:
            if value not in options:
                problems.append(Problem(f"space {self.name}:{name}",
                                        f"`{name}` = {value!r} is not allowed (options: {list(options)})"))
            values[name] = value

        if (arch.resolution, arch.in_channels, arch.num_classes) != (self.resolution, self.in_channels,
                                                                     self.num_classes):
            problems.append(Problem(f"space {self.name}", "input resolution/channels/classes "
                                    f"{(arch.resolution, arch.in_channels, arch.num_classes)} differ from the space's "
                                    f"{(self.resolution, self.in_channels, self.num_classes)}"))
        if (arch.stem.kernel, arch.stem.stride, arch.stem.activation) != (self.stem_kernel, self.stem_stride,
                                                                          self.stem_activation):
            problems.append(Problem(f"space {self.name}:stem", "stem kernel/stride/activation differ from the space"))
        put("stem.channels", arch.stem.channels, self.stem_channels)
        put("head.channels", arch.head.channels, self.head_channels)
        put("quant", FLOAT if arch.quant is None else arch.quant.key, self.quant)
        if arch.head.activation != self.head_activation:
            problems.append(Problem(f"space {self.name}:head", "head activation differs from the space"))
        if len(arch.stages) != len(self.stages):
            raise ValidationError(problems + [Problem(f"space {self.name}", f"{len(arch.stages)} stages, the space "
                                                                            f"has {len(self.stages)}")])
        for i, (stage, st) in enumerate(zip(arch.stages, self.stages)):
            put(f"s{i}.depth", len(stage), st.depth)
            put(f"s{i}.channels", stage[0].channels, st.channels)
            for j in range(max(st.depth)):
                for f in BLOCK_FIELDS:
                    opts = getattr(st, f)
                    if j < len(stage):
                        put(f"s{i}.b{j}.{f}", getattr(stage[j], _BLOCK_ATTR[f]), opts)
                    else:
                        values[f"s{i}.b{j}.{f}"] = opts[0]
            for j, b in enumerate(stage):
                want = st.stride if j == 0 else 1
                if b.stride != want or b.channels != stage[0].channels:
                    problems.append(Problem(f"space {self.name}:s{i}.b{j}",
                                            f"block stride {b.stride} / channels {b.channels} do not follow the "
                                            f"stage (stride {want} on the first block only, one width per stage)"))
        if problems:
            raise ValidationError(problems, f"architecture not in space {self.name}")
        return values

    def contains(self, arch: ArchConfig) -> bool:
        try:
            self.encode(arch)
        except ValidationError:
            return False
        return True

    def extreme_values(self, largest: bool, rng: np.random.Generator | None = None) -> dict[str, Any]:
        """The largest (or smallest) network: every numeric choice at its max (min); the block type
        ``fused_ibn`` (``ibn``) where it is a choice — or drawn from ``rng`` when one is given; the
        activation first, or drawn from ``rng``."""
        out = {}
        for c in self.all_choices():
            if c.name == "quant":
                pick = c.options[0]
            elif rng is not None and (c.name.endswith(".block_type") or c.name.endswith(".activation")):
                pick = c.options[int(rng.integers(len(c.options)))]
            elif c.name.endswith(".block_type"):
                pick = "fused_ibn" if largest and "fused_ibn" in c.options else (
                    "ibn" if "ibn" in c.options else c.options[0])
            elif c.name.endswith(".activation"):
                pick = c.options[0]
            else:
                pick = max(c.options) if largest else min(c.options)
            out[c.name] = pick
        return out

    # ---- sampling and size -----------------------------------------------------------
    def sample_values(self, rng: np.random.Generator) -> dict[str, Any]:
        return {c.name: c.sample(rng) for c in self.all_choices()}

    def sample(self, rng: np.random.Generator) -> ArchConfig:
        return self.decode(self.sample_values(rng))

    def log10_size(self) -> float:
        """log10 of the number of distinct networks (inactive blocks do not count)."""
        total = log10(len(self.stem_channels)) + log10(len(self.head_channels)) + log10(len(self.quant))
        for st in self.stages:
            per_block = log10(len(st.kernel) * len(st.expansion) * len(st.block_type) * len(st.se)
                              * len(st.activation))
            total += log10(len(st.channels)) + _log10_sum(d * per_block for d in st.depth)
        return total


def _log10_sum(logs) -> float:
    logs = list(logs)
    m = max(logs)
    return m + log10(sum(10 ** (x - m) for x in logs))


def _space_from_dict(chk: Checker, data: Any) -> ArchSpace | None:
    m = chk.mapping(data, "", required=("stages",),
                    optional=("name", "description", "resolution", "in_channels", "num_classes", "stem", "head",
                              "quant"))
    if m is None:
        return None
    n = len(chk.problems)
    name = m.get("name", "custom")
    if not isinstance(name, str):
        chk.fail("name", "`name` must be text")
    res = chk.integer(m.get("resolution", 32), "resolution", 8, 4096)
    inc = chk.integer(m.get("in_channels", 3), "in_channels", 1, 64)
    ncls = chk.integer(m.get("num_classes", 10), "num_classes", 1, 100000)

    def channels(v: Any, p: str) -> Any:
        return chk.integer(v, p, 1, MAX_CHANNELS)

    sm = chk.mapping(m.get("stem", {}), "stem", optional=("kernel", "stride", "channels", "activation")) or {}
    stem_k = chk.choice(sm.get("kernel", 3), "stem.kernel", KERNELS)
    stem_s = chk.choice(sm.get("stride", 1), "stem.stride", STRIDES)
    stem_c = options_field(chk, sm.get("channels", 16), "stem.channels", channels)
    stem_a = chk.choice(sm.get("activation", "relu"), "stem.activation", ACTIVATIONS)
    hm = chk.mapping(m.get("head", {}), "head", optional=("channels", "activation")) or {}
    head_c = options_field(chk, hm.get("channels", 256), "head.channels", channels)
    head_a = chk.choice(hm.get("activation", "relu"), "head.activation", ACTIVATIONS)
    quant = options_field(chk, m.get("quant", FLOAT), "quant", lambda v, q: _quant_option(chk, v, q))
    stages = []
    for i, raw in enumerate(chk.sequence(m.get("stages"), "stages") or []):
        p = f"stages[{i}]"
        sd = chk.mapping(raw, p, required=("stride", "depth", "channels"), optional=BLOCK_FIELDS)
        if sd is None:
            continue
        stages.append(StageSpace(
            stride=chk.choice(sd.get("stride"), f"{p}.stride", STRIDES),
            depth=options_field(chk, sd.get("depth"), f"{p}.depth", lambda v, q: chk.integer(v, q, 1, 32)),
            channels=options_field(chk, sd.get("channels"), f"{p}.channels", channels),
            kernel=options_field(chk, sd.get("kernel", 3), f"{p}.kernel", lambda v, q: chk.choice(v, q, KERNELS)),
            expansion=options_field(chk, sd.get("expansion", 6), f"{p}.expansion",
                                    lambda v, q: chk.integer(v, q, 1, 8)),
            block_type=options_field(chk, sd.get("block_type", "ibn"), f"{p}.block_type",
                                     lambda v, q: chk.choice(v, q, BLOCK_TYPES)),
            se=options_field(chk, sd.get("se", 0.0), f"{p}.se",
                             lambda v, q: 0.0 if v == 0 and not isinstance(v, bool)
                             else chk.number(v, q, 0.0, 1.0, lo_open=True)),
            activation=options_field(chk, sd.get("activation", "relu"), f"{p}.activation",
                                     lambda v, q: chk.choice(v, q, ACTIVATIONS)),
        ))
    if len(chk.problems) > n:
        return None
    total_stride = stem_s
    for st in stages:
        total_stride *= st.stride
    if total_stride > res:
        chk.fail("stages", f"the strides multiply to {total_stride}, more than the resolution {res} px")
        return None
    return ArchSpace(name, res, inc, ncls, stem_k, stem_s, stem_c, stem_a, head_c, head_a, tuple(stages), quant)


def _quant_option(chk: Checker, value: Any, path: str) -> str | None:
    """``float`` or a canonical ``w<bits>a<bits>`` policy."""
    if value == FLOAT:
        return FLOAT
    try:
        return QuantPolicy.from_string(value, where=path).key
    except DecodeError as exc:
        chk.problems.extend(exc.problems)
        return None
