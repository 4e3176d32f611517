"""Deployable artifacts for one trial of a search run (``codesign export``)."""
from .bundle import export_trial
from ..picks import KNEE_RULE, NAMED_PICKS, pick_row
from .weights import load_exported_model

__all__ = ["KNEE_RULE", "NAMED_PICKS", "export_trial", "load_exported_model", "pick_row"]
