"""JSON files: reading with errors that name the file, and atomic writes (a killed process never
leaves half a file)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .errors import Problem, ValidationError


def read_json(path: str | Path, what: str, expected_format: str | None = None) -> Any:
    """Parse ``path``; a missing, non-UTF-8 or malformed file, or a wrong ``format`` field, is a
    ``ValidationError`` naming the file and ``what`` was expected."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(Problem(str(p), f"{what} not found")) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(Problem(str(p), f"not a JSON {what} ({exc})")) from None
    if expected_format is not None and (not isinstance(data, dict) or data.get("format") != expected_format):
        raise ValidationError(Problem(f"{p}:format", f"expected a {what} of format `{expected_format}`"))
    return data


def write_json_atomic(path: str | Path, data: Any, indent: int | None = None) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=indent, sort_keys=indent is not None))
    os.replace(tmp, p)
