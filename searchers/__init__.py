"""Searchers behind one ask/tell interface (``base.Searcher``), registered by name.

Multi-trial: ``random``, ``evolution`` (regularized/aging evolution), ``reinforce`` (policy-gradient
controller, NAHAS/MnasNet), ``nsga2`` and ``tpe`` (optuna's samplers). One-shot: ``oneshot``
(TuNAS-style controller trained alongside the weight-sharing supernet).
"""
from .base import Feedback, Searcher, make_searcher, searcher_names

__all__ = ["Feedback", "Searcher", "make_searcher", "searcher_names"]
