"""codesign: joint search of MBConv/IBN networks and the accelerators that run them.

The public API (everything here imports without torch)::

    from codesign import Study, CategoricalSpace, MetricSpec, register_metric

    study = Study(space, evaluator, ["accuracy", "latency_ms"], searcher="evolution", run_dir="runs/mine")
    study.optimize(trials=200)
    for t in study.front():
        print(t.candidate, t.metrics)

A space has ``choices()``, ``active(values)`` and ``decode(values)`` (→ a candidate with
``to_string()``); an evaluator maps a candidate to ``{metric name: value}``; searchers, cost-model
backends, metrics and spaces register by name from Python or through entry points. The model
builder, ONNX export and workload extraction are imported from their modules
(``codesign.workload.model_builder``, ``codesign.workload.onnx_export``, …).
"""
from accel_models.registry import register_backend
from searchers.base import Feedback, Searcher, register_searcher

from .accel import AccelConfig
from .arch import ArchConfig, BlockConfig, HeadConfig, StemConfig
from .candidate import Candidate
from .errors import CodesignError, DecodeError, Problem, UnsupportedOpError, ValidationError
from .layer import Layer
from .metric_registry import MetricSpec, metric, metric_names, register_metric
from .metrics import Metrics
from .protocols import Evaluation, Evaluator, SearchSpace
from .run import Run, TrialRecord
from .search.objectives import Constraint, Objective
from .search.study import Phase, SearchAborted, Study
from .spaces.categorical import CategoricalSpace, ChoiceValues
from .spaces.joint_space import JointSpace
from .spaces.registry import register_space
from .workload import arch_workload

__version__ = "0.1.0"
__all__ = [
    "Study", "Phase", "SearchAborted", "SearchSpace", "Evaluator", "Evaluation", "Objective", "Constraint",
    "MetricSpec", "register_metric", "metric", "metric_names", "register_searcher", "register_backend",
    "register_space", "Searcher", "Feedback", "Run", "TrialRecord", "CategoricalSpace", "ChoiceValues", "JointSpace",
    "AccelConfig", "ArchConfig", "BlockConfig", "HeadConfig", "StemConfig", "Candidate", "Layer", "Metrics",
    "arch_workload", "CodesignError", "DecodeError", "Problem", "UnsupportedOpError", "ValidationError",
]
