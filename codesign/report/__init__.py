"""``codesign report RUN``: a self-contained HTML report of a search run, plus PNG plots."""
from .build import build_report

__all__ = ["build_report"]
