"""Built-in searchers, registered lazily (optuna and torch load only when a searcher needs them)."""
from __future__ import annotations

from .base import register_searcher


@register_searcher("random")
def _random():
    from .random_search import RandomSearch
    return RandomSearch


@register_searcher("evolution")
def _evolution():
    from .evolution import RegularizedEvolution
    return RegularizedEvolution


@register_searcher("reinforce")
def _reinforce():
    from .reinforce import Reinforce
    return Reinforce


@register_searcher("ppo")
def _ppo():
    from .ppo import PPO
    return PPO


@register_searcher("nsga2")
def _nsga2():
    from .optuna_samplers import NSGA2
    return NSGA2


@register_searcher("tpe")
def _tpe():
    from .optuna_samplers import TPE
    return TPE


@register_searcher("gp")
def _gp():
    from .optuna_samplers import GaussianProcess
    return GaussianProcess


@register_searcher("bohb")
def _bohb():
    from .bohb import BOHB
    return BOHB


@register_searcher("differentiable")
def _differentiable():
    from .differentiable import Differentiable
    return Differentiable


@register_searcher("oneshot")
def _oneshot():
    from .oneshot import OneShot
    return OneShot
