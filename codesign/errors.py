"""The package's exception types: every error a user can cause is a :class:`CodesignError`."""
from __future__ import annotations

from dataclasses import dataclass


class CodesignError(Exception):
    """Base class of every error codesign raises on bad input or a failed step."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (``source:field.path``) and what was expected."""

    where: str
    message: str

    def __str__(self) -> str:
        if not self.where:
            return self.message
        if ":" in self.where:  # a field or line inside a file: "<what is wrong> in x.yaml:pe_rows"
            return f"{self.message} in {self.where}"
        return f"{self.where}: {self.message}"  # the input as a whole: "x.yaml: file not found"


class ValidationError(CodesignError):
    """An input (file, string, dict) broke one or more rules; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem] | Problem, headline: str | None = None):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        self.headline = headline
        super().__init__(self._text())

    def _text(self) -> str:
        lines = [str(p) for p in self.problems]
        if len(lines) == 1 and not self.headline:
            return lines[0]
        head = self.headline or f"{len(lines)} problems"
        return head + ":\n" + "\n".join(f"  - {line}" for line in lines)


class DecodeError(ValidationError):
    """A canonical string (architecture, accelerator, layer, candidate) could not be decoded."""


class UnsupportedOpError(CodesignError):
    """An ONNX node whose operator codesign does not know how to turn into a workload layer."""
