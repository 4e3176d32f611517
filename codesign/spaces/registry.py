"""Spaces by name, for configurations: ``space: {name: NAME}`` uses a space registered from Python
(``register_space``) or an entry point in the group ``codesign.spaces``. The plug-in is a space
object or a zero-argument callable returning one; a space a YAML search uses must decode to
network × accelerator :class:`~codesign.candidate.Candidate` s and have an ``arch``
(:class:`~codesign.spaces.arch_space.ArchSpace`, for the accuracy fidelity and export), as
:class:`~codesign.spaces.joint_space.JointSpace` does. The Python API takes any space object directly.
"""
from __future__ import annotations

from typing import Any

from ..errors import Problem, ValidationError
from ..plugins import Registry
from ..protocols import SearchSpace

SPACES = Registry("space", "codesign.spaces")


def register_space(name: str, space: Any) -> Any:
    """Register a space object (or a zero-argument callable returning one) under ``name``."""
    SPACES.register(name, space)
    return space


def space_names() -> list[str]:
    return SPACES.names()


def get_space(name: str, where: str | None = None) -> SearchSpace:
    obj = SPACES.get(name, where)
    space = obj if isinstance(obj, SearchSpace) else obj() if callable(obj) else obj
    if not isinstance(space, SearchSpace):
        raise ValidationError(Problem(where or f"space `{name}`", f"the space plug-in `{name}` gave "
                                                                  f"{type(space).__name__}, which lacks choices(), "
                                                                  "active() or decode()"))
    return space
