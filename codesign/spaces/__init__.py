"""Search spaces: architecture (YAML), hardware (YAML) and their flattened joint product."""
from .arch_space import ArchSpace, StageSpace
from .choice import Choice
from .hw_space import HwSpace
from .joint_space import JointSpace

__all__ = ["ArchSpace", "StageSpace", "Choice", "HwSpace", "JointSpace"]
