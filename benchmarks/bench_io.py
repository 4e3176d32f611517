"""Shared by the benchmark scripts: print the JSON line and rewrite this benchmark's BENCHMARKS.md section."""
from __future__ import annotations

import json
import platform
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def host_line() -> str:
    import os

    from latency_predictors.environment import cpu_model

    return f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _fmt(value) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def publish(name: str, results: dict, command: str, notes: str = "", stamp: str | None = None) -> None:
    """Print ``results`` as the last stdout line and replace the ``name`` section of BENCHMARKS.md.
    ``stamp`` (UTC time of the measurement) defaults to now."""
    stamp = stamp or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = [f"## {name}", "", f"`{command}` — {stamp}, {host_line()}", "", "| key | value |", "|---|---|"]
    for key, value in results.items():
        body.append(f"| `{key}` | {_fmt(value)} |")
    if notes:
        body += ["", notes.strip()]
    section = "\n".join(body) + "\n"
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else "# Benchmarks\n\nMeasured, never typed in.\n"
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{section}{end}"
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    BENCHMARKS_MD.write_text(text)
    sys.stdout.flush()
    print(json.dumps(results))
