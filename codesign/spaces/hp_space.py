"""The optional third part of the joint space (AutoHAS, Dong et al. 2021): training hyperparameters
searched together with the network and the accelerator.

Declared in YAML beside the other parts, each field one value (fixed) or a list of options::

    space:
      arch: ibn_32_compact
      hw: nahas_like
      hp: {lr: [0.001, 0.003, 0.01], weight_decay: [0.0, 0.01], label_smoothing: [0.0, 0.1], augment: [true, false]}

A candidate's hyperparameters (:class:`HyperParams`) override the run's training recipe
(``accuracy.train``) when its network is proxy-trained; the ``oneshot`` searcher trains the supernet
under each sampled candidate's values (learning rate, weight decay, label smoothing), as AutoHAS does.
Choices are named ``hp.<field>``; a candidate's key ends ``@hp:<field>=<value>,…``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..checks import Checker
from ..errors import DecodeError, Problem
from .choice import Choice, options_field

#: field → (what it is, checker of one value); the fields of ``TrainConfig`` a search may vary
HP_FIELDS: dict[str, tuple[str, Callable[[Checker, Any, str], Any]]] = {
    "lr": ("peak learning rate", lambda c, v, p: c.number(v, p, 0.0, 10.0, lo_open=True)),
    "weight_decay": ("decoupled weight decay", lambda c, v, p: c.number(v, p, 0.0, 1.0)),
    "label_smoothing": ("label smoothing (fraction)", lambda c, v, p: c.number(v, p, 0.0, 0.99)),
    "momentum": ("SGD momentum", lambda c, v, p: c.number(v, p, 0.0, 0.999)),
    "augment": ("random shifts and flips on training images", lambda c, v, p: c.boolean(v, p)),
    "optimizer": ("optimizer", lambda c, v, p: c.choice(v, p, ("adamw", "sgd"))),
    "batch_size": ("training batch (images)", lambda c, v, p: c.integer(v, p, 1, 65536)),
}


@dataclass(frozen=True)
class HyperParams:
    """One candidate's training hyperparameters: ``items`` is ((field, value), …) in ``HP_FIELDS`` order."""

    items: tuple[tuple[str, Any], ...]

    def to_string(self) -> str:
        return ",".join(f"{k}={_text(v)}" for k, v in self.items)

    @classmethod
    def from_string(cls, text: str) -> HyperParams:
        chk, out = Checker(), []
        for part in filter(None, text.split(",")):
            name, sep, raw = part.partition("=")
            if not sep or name not in HP_FIELDS:
                raise DecodeError(Problem("hyperparameters", f"expected `field=value` with a field of "
                                                             f"{', '.join(HP_FIELDS)}, got {part!r}"))
            out.append((name, HP_FIELDS[name][1](chk, _parse(raw), f"hp.{name}")))
        chk.raise_if_any("invalid hyperparameters")
        return cls(tuple(sorted(out, key=lambda kv: list(HP_FIELDS).index(kv[0]))))

    def as_dict(self) -> dict[str, Any]:
        return dict(self.items)

    def apply(self, train_config):
        """``train_config`` (a ``TrainConfig``) with these values."""
        return replace(train_config, **self.as_dict())


@dataclass(frozen=True)
class HpSpace:
    """Hyperparameter field → its options (one option: fixed)."""

    options: tuple[tuple[str, tuple[Any, ...]], ...]

    @classmethod
    def from_config(cls, chk: Checker, data: Any, path: str = "space.hp") -> HpSpace | None:
        m = chk.mapping(data, path, optional=tuple(HP_FIELDS))
        if m is None:
            return None
        if not m:
            chk.fail(path, f"declare at least one hyperparameter ({', '.join(HP_FIELDS)})")
            return None
        out = []
        for name in HP_FIELDS:
            if name in m:
                opts = options_field(chk, m[name], f"{path}.{name}", lambda v, p, n=name: HP_FIELDS[n][1](chk, v, p))
                if opts is not None:
                    out.append((name, opts))
        return cls(tuple(out))

    def to_config(self) -> dict[str, Any]:
        return {k: list(v) if len(v) > 1 else v[0] for k, v in self.options}

    def choices(self) -> list[Choice]:
        return [Choice(k, v) for k, v in self.options if len(v) > 1]

    def decode(self, values: dict[str, Any]) -> HyperParams:
        out = []
        for name, opts in self.options:
            value = values.get(name, opts[0]) if len(opts) > 1 else opts[0]
            if value not in opts:
                raise DecodeError(Problem(f"hp.{name}", f"no option {value!r} (options: {list(opts)})"))
            out.append((name, value))
        return HyperParams(tuple(out))

    def encode(self, hp: HyperParams) -> dict[str, Any]:
        given = hp.as_dict()
        return {c.name: given.get(c.name, c.options[0]) for c in self.choices()}

    def log10_size(self) -> float:
        import math

        return sum(math.log10(len(v)) for _, v in self.options)


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else f"{value:g}" if isinstance(value, float) else str(value)


def _parse(raw: str) -> Any:
    if raw in ("true", "false"):
        return raw == "true"
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw
