"""``codesign report RUN_A RUN_B … --out DIR``: several runs' fronts overlaid on one page.

Each run's Pareto front is one coloured series in every pairwise plot (its other feasible points
faint in the same colour), its hypervolume curve one line, and a table lists the runs side by side.
Hypervolumes are each run's own (its objectives' reference point): compare them only between runs
with the same objectives and reference point.
"""
from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from ..errors import Problem, ValidationError
from .build import _PAGE, _fig, _table
from . import figures
from .figures import _hover, axis_type
from ..run_data import RunData, load_run

COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def _label(run: RunData, names: list[str]) -> str:
    """The run's name, or its directory when two runs share a name."""
    return run.name if names.count(run.name) == 1 else str(run.run_dir)


def overlay_pair(runs: list[RunData], labels: list[str], x: str, y: str) -> go.Figure:
    fig = go.Figure()
    for i, (run, label) in enumerate(zip(runs, labels)):
        color = COLORS[i % len(COLORS)]
        ok = [r for r in run.rows if r["state"] == "COMPLETE" and r["feasible"] and r.get(x) is not None
              and r.get(y) is not None]
        rest = [r for r in ok if not r["on_front"]]
        front = sorted([r for r in ok if r["on_front"]], key=lambda r: r[x])
        fig.add_trace(go.Scatter(x=[r[x] for r in rest], y=[r[y] for r in rest], mode="markers", opacity=0.25,
                                 name=f"{label}: feasible", legendgroup=label, showlegend=False,
                                 marker=dict(color=color, size=5), hovertext=[_hover(r) for r in rest],
                                 hoverinfo="text"))
        fig.add_trace(go.Scatter(x=[r[x] for r in front], y=[r[y] for r in front], mode="markers+lines",
                                 name=f"{label} ({len(front)} on the front)", legendgroup=label,
                                 line=dict(color=color, shape="hv", width=1),
                                 marker=dict(color=color, size=9, line=dict(width=1, color="black")),
                                 hovertext=[_hover(r) for r in front], hoverinfo="text"))
    fig.update_layout(xaxis_title=figures.label(x), yaxis_title=figures.label(y), height=440, margin=dict(l=60, r=20, t=30, b=50),
                      xaxis_type=axis_type(x), yaxis_type=axis_type(y))
    return fig


def overlay_hv(runs: list[RunData], labels: list[str]) -> go.Figure:
    fig = go.Figure()
    for i, (run, label) in enumerate(zip(runs, labels)):
        for sub, values in run.hv.items():
            fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines",
                                     name=f"{label}: {sub}", line=dict(color=COLORS[i % len(COLORS)])))
    fig.update_layout(xaxis_title="trials", yaxis_title="hypervolume (each run's reference point)", height=360,
                      margin=dict(l=60, r=20, t=30, b=50))
    return fig


def _summary_rows(runs: list[RunData], labels: list[str]) -> list[dict[str, Any]]:
    rows = []
    for run, label in zip(runs, labels):
        final_hv = max((v[-1] for v in run.hv.values() if v), default=0.0)
        first = run.objectives[0]
        values = [r[first.metric] for r in run.front if r.get(first.metric) is not None]
        best = (max(values) if first.direction == "maximize" else min(values)) if values else None
        rows.append({"run": label, "directory": str(run.run_dir), "searcher": run.info["run_info"].get("searcher"),
                     "mode": "phase" if len(run.info["run_info"].get("phases", [])) > 1 else "joint",
                     "trials": len(run.rows), "front": len(run.front), "hypervolume": round(final_hv, 4),
                     "best": best})
    return rows


def build_comparison(run_dirs: list[str | Path], out_dir: str | Path) -> dict[str, Any]:
    """Write ``out_dir/compare.html`` overlaying the runs' fronts; every run must load."""
    start = time.perf_counter()
    if len(run_dirs) < 2:
        raise ValidationError(Problem("runs", f"comparing needs at least two run directories, got {len(run_dirs)}"))
    runs = [load_run(d) for d in run_dirs]
    names = [r.name for r in runs]
    pairs = runs[0].pairs
    if any(r.pairs != pairs for r in runs[1:]):
        raise ValidationError(Problem("runs", "the runs do not share objectives: " + "; ".join(
            f"{r.run_dir}: {', '.join(o.metric for o in r.objectives)}" for r in runs)))
    labels = [_label(r, names) for r in runs]
    parts = [f"<h1>codesign: {len(runs)} runs compared</h1>",
             "<h2>Runs</h2>" + _table(_summary_rows(runs, labels), ["run", "directory", "searcher", "mode", "trials",
                                                                   "front", "hypervolume", "best"], "runs")
             + f"<p>best: each run's best {html.escape(runs[0].objectives[0].metric)} on its front.</p>",
             "<h2>Fronts overlaid</h2><div class=\"grid\">"
             + "".join(f"<div>{_fig(overlay_pair(runs, labels, x, y), f'pair{i}')}</div>" for i, (x, y) in enumerate(pairs))
             + "</div>",
             "<h2>Hypervolume against trials</h2>" + _fig(overlay_hv(runs, labels), "hv")
             + "<p>Each curve uses its own run's reference point; compare them only when the runs share objectives "
               "and reference points.</p>"]
    page = _PAGE.format(title=html.escape("codesign: runs compared"), plotlyjs=get_plotlyjs(), body="\n".join(parts))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "compare.html"
    tmp = out.with_suffix(".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return {"report": str(out), "bytes": out.stat().st_size, "runs": labels, "seconds": time.perf_counter() - start}
