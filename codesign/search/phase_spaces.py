"""The spaces a search walks, as the searchers see them: ``choices()``, ``active(values)``, and
``decode(values) -> Candidate``.

- :class:`~codesign.spaces.joint_space.JointSpace` — the joint search (network × accelerator);
- :class:`NetworkOnFixedAccelerator` — phase 1 of the phase baseline: the network choices only,
  every candidate on one fixed accelerator;
- :class:`AcceleratorForNetworks` — phase 2: the accelerator choices, plus which of the networks
  phase 1 found (its Pareto front) to build it for.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..accel import AccelConfig
from ..arch import ArchConfig
from ..candidate import Candidate
from ..spaces.choice import Choice
from ..spaces.joint_space import JointSpace


@dataclass(frozen=True)
class NetworkOnFixedAccelerator:
    joint: JointSpace
    accel: AccelConfig

    def choices(self) -> list[Choice]:
        return [c for c in self.joint.choices() if c.name.startswith("arch.")]

    def active(self, values: dict[str, Any]) -> list[str]:
        return [n for n in self.joint.active(values) if n.startswith("arch.")]

    def decode(self, values: dict[str, Any]) -> Candidate:
        arch = {k[5:]: v for k, v in values.items() if k.startswith("arch.")}
        return Candidate(self.joint.arch.decode(arch), self.accel)


@dataclass(frozen=True)
class AcceleratorForNetworks:
    joint: JointSpace
    networks: tuple[str, ...]  # canonical architecture strings

    def choices(self) -> list[Choice]:
        hw = [c for c in self.joint.choices() if c.name.startswith("hw.")]
        return ([Choice("network", self.networks)] if len(self.networks) > 1 else []) + hw

    def active(self, values: dict[str, Any]) -> list[str]:
        return [c.name for c in self.choices()]

    def decode(self, values: dict[str, Any]) -> Candidate:
        hw = {k[3:]: v for k, v in values.items() if k.startswith("hw.")}
        return Candidate(ArchConfig.from_string(values.get("network", self.networks[0])), self.joint.hw.decode(hw))
