"""codesign: joint search of MBConv/IBN networks and the accelerators that run them.

The data types import without torch; the model builder, ONNX export and workload extraction are
imported from their modules (``codesign.workload.model_builder``, ``codesign.workload.onnx_export``, …).
"""
from .accel import AccelConfig
from .arch import ArchConfig, BlockConfig, HeadConfig, StemConfig
from .candidate import Candidate
from .errors import CodesignError, DecodeError, Problem, UnsupportedOpError, ValidationError
from .layer import Layer
from .metrics import Metrics
from .workload.from_arch import arch_workload

__version__ = "0.1.0"
__all__ = [
    "AccelConfig", "ArchConfig", "BlockConfig", "HeadConfig", "StemConfig", "Candidate", "Layer", "Metrics",
    "arch_workload", "CodesignError", "DecodeError", "Problem", "UnsupportedOpError", "ValidationError",
]
