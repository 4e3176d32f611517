"""Plotly figures of a run: pairwise fronts, a 3-D front, hypervolume history, per-layer costs."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from ..accel import AccelConfig
from ..arch import ArchConfig
from ..metric_registry import is_metric, metric
from accel_models.registry import evaluate
from ..workload.from_arch import arch_workload


def label(name: str) -> str:
    """An axis title: the metric registry's label (a name it does not know, as is)."""
    return metric(name).label if is_metric(name) else name


def axis_type(name: str) -> str | None:
    """``log`` for a log-scaled metric, else plotly's default."""
    return "log" if is_metric(name) and metric(name).scale == "log" else None


def _value(name: str, v: Any) -> str:
    unit = metric(name).unit if is_metric(name) else ""
    text = f"{v:.4f}" if unit == "fraction" else f"{v:.4g}" if isinstance(v, float) else str(v)
    return f"{name} {text}"


def _hover(r: dict[str, Any], metrics: list[str] | None = None) -> str:
    metrics = metrics or [k for k, v in r.items() if v is not None and k not in ("trial", "index") and is_metric(k)]
    values = " · ".join(_value(m, r[m]) for m in metrics if r.get(m) is not None)
    where = f"{r['arch']}<br>{r['accel']}" if r.get("arch") else str(r.get("candidate", ""))
    return f"trial {r['trial']}<br>{values}<br>{where}"


def plotted(rows: list[dict[str, Any]], x: str, y: str) -> list[dict[str, Any]]:
    """The completed trials with a value on both axes (an untrained candidate has no accuracy)."""
    return [r for r in rows if r["state"] == "COMPLETE" and r.get(x) is not None and r.get(y) is not None]


def pareto_pair(rows: list[dict[str, Any]], x: str, y: str, constraints: dict[str, float],
                picks: dict[int, list[str]] | None = None) -> go.Figure:
    """One pairwise front; ``picks`` (trial → ``--pick`` names, e.g. ``knee``) are starred and labelled."""
    done = plotted(rows, x, y)
    fig = go.Figure()
    for name, subset, style in (
            ("infeasible", [r for r in done if not r["feasible"]], dict(color="#d9a0a0", size=5, symbol="x")),
            ("feasible", [r for r in done if r["feasible"] and not r["on_front"]], dict(color="#b0b8c8", size=6)),
            ("Pareto front", sorted([r for r in done if r["on_front"]], key=lambda r: r[x]),
             dict(color="#d62728", size=9, line=dict(width=1, color="black")))):
        fig.add_trace(go.Scatter(x=[r[x] for r in subset], y=[r[y] for r in subset], mode="markers", name=name,
                                 marker=style, hovertext=[_hover(r) for r in subset], hoverinfo="text"))
    picked = [r for r in done if r["trial"] in (picks or {})]
    if picked:
        fig.add_trace(go.Scatter(x=[r[x] for r in picked], y=[r[y] for r in picked], mode="markers+text",
                                 name="picks", text=[", ".join(picks[r["trial"]]) for r in picked],
                                 textposition="top center", hovertext=[_hover(r) for r in picked], hoverinfo="text",
                                 marker=dict(symbol="star", size=15, color="#ffbf00", line=dict(width=1, color="black"))))
    for name, bound in constraints.items():
        if name == x:
            fig.add_vline(x=bound, line_dash="dash", annotation_text=f"{name} ≤ {bound:g}")
        if name == y:
            fig.add_hline(y=bound, line_dash="dash", annotation_text=f"{name} ≤ {bound:g}")
    fig.update_layout(xaxis_title=label(x), yaxis_title=label(y), height=420, margin=dict(l=60, r=20, t=30, b=50),
                      xaxis_type=axis_type(x), yaxis_type=axis_type(y))
    return fig


def pareto_3d(rows: list[dict[str, Any]], axes: tuple[str, str, str] = ("latency_ms", "energy_mj", "accuracy")) -> go.Figure:
    """The front in three objectives (x, y, z)."""
    x, y, z = axes
    done = [r for r in rows if r["state"] == "COMPLETE" and r["feasible"]]
    fig = go.Figure()
    for name, subset, color, size in (("feasible", [r for r in done if not r["on_front"]], "#b0b8c8", 3),
                                      ("Pareto front", [r for r in done if r["on_front"]], "#d62728", 6)):
        fig.add_trace(go.Scatter3d(x=[r[x] for r in subset], y=[r[y] for r in subset],
                                   z=[r[z] for r in subset], mode="markers", name=name,
                                   marker=dict(color=color, size=size), hovertext=[_hover(r) for r in subset],
                                   hoverinfo="text"))
    fig.update_layout(height=520, margin=dict(l=0, r=0, t=30, b=0),
                      scene=dict(xaxis_title=label(x), yaxis_title=label(y), zaxis_title=label(z),
                                 xaxis_type=axis_type(x), yaxis_type=axis_type(y), zaxis_type=axis_type(z)))
    return fig


def hv_history(hv: dict[str, list[float]]) -> go.Figure:
    fig = go.Figure()
    for label, values in hv.items():
        fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines", name=label))
    fig.update_layout(xaxis_title="trials", yaxis_title="hypervolume", height=360, margin=dict(l=60, r=20, t=30, b=50))
    return fig


def layer_costs(arch: ArchConfig, accel: AccelConfig, backend: str = "analytical") -> tuple[go.Figure, Any]:
    """Per-layer latency and energy bars of ``arch`` on ``accel`` (the run's cost model), coloured by bound."""
    from plotly.subplots import make_subplots


    rep = evaluate(arch_workload(arch), accel, backend)
    names = [f"{i}:{c.name}" for i, c in enumerate(rep.layers)]
    colors = ["#1f77b4" if c.bound == "compute" else "#ff7f0e" for c in rep.layers]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, subplot_titles=("latency (ms) — blue compute-bound, "
                                                                           "orange memory-bound", "energy (µJ)"))
    hover = [f"{c.op} · {c.macs:,} MACs · util {c.utilization:.0%} · {c.bound}"
             + "".join(f" · {t} {v:,.0f} cyc" for t, v in c.terms_cycles.items() if v)
             + (" · weights resident" if c.weights_resident else "") for c in rep.layers]
    fig.add_trace(go.Bar(x=names, y=[c.latency_ms for c in rep.layers], marker_color=colors, hovertext=hover,
                         showlegend=False), row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=[c.energy_total_pj * 1e-6 for c in rep.layers], marker_color="#2ca02c",
                         hovertext=hover, showlegend=False), row=2, col=1)
    fig.update_layout(height=460, margin=dict(l=60, r=20, t=40, b=120))
    return fig, rep
