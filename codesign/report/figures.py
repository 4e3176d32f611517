"""Plotly figures of a run: pairwise fronts, a 3-D front, hypervolume history, per-layer costs."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from ..accel import AccelConfig
from ..arch import ArchConfig

LABELS = {"accuracy": "accuracy", "latency_ms": "accelerator latency (ms)", "energy_mj": "energy (mJ)",
          "area_mm2": "area (mm²)", "measured_latency_ms": "measured CPU latency (ms)", "params": "parameters",
          "macs": "MACs"}
PAIRS = (("latency_ms", "accuracy"), ("energy_mj", "accuracy"), ("latency_ms", "energy_mj"))


def _hover(r: dict[str, Any]) -> str:
    return (f"trial {r['trial']}<br>acc {r['accuracy']:.4f} · {r['latency_ms']:.4g} ms · {r['energy_mj']:.4g} mJ · "
            f"{r['area_mm2']:.3g} mm²<br>{r['arch']}<br>{r['accel']}")


def pareto_pair(rows: list[dict[str, Any]], x: str, y: str, constraints: dict[str, float],
                picks: dict[int, list[str]] | None = None) -> go.Figure:
    """One pairwise front; ``picks`` (trial → ``--pick`` names, e.g. ``knee``) are starred and labelled."""
    done = [r for r in rows if r["state"] == "COMPLETE" and r.get(x) is not None and r.get(y) is not None]
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
    for metric, bound in constraints.items():
        if metric == x:
            fig.add_vline(x=bound, line_dash="dash", annotation_text=f"{metric} ≤ {bound:g}")
        if metric == y:
            fig.add_hline(y=bound, line_dash="dash", annotation_text=f"{metric} ≤ {bound:g}")
    fig.update_layout(xaxis_title=LABELS[x], yaxis_title=LABELS[y], height=420, margin=dict(l=60, r=20, t=30, b=50),
                      xaxis_type="log" if x != "accuracy" else None, yaxis_type="log" if y != "accuracy" else None)
    return fig


def pareto_3d(rows: list[dict[str, Any]]) -> go.Figure:
    done = [r for r in rows if r["state"] == "COMPLETE" and r["feasible"]]
    fig = go.Figure()
    for name, subset, color, size in (("feasible", [r for r in done if not r["on_front"]], "#b0b8c8", 3),
                                      ("Pareto front", [r for r in done if r["on_front"]], "#d62728", 6)):
        fig.add_trace(go.Scatter3d(x=[r["latency_ms"] for r in subset], y=[r["energy_mj"] for r in subset],
                                   z=[r["accuracy"] for r in subset], mode="markers", name=name,
                                   marker=dict(color=color, size=size), hovertext=[_hover(r) for r in subset],
                                   hoverinfo="text"))
    fig.update_layout(height=520, margin=dict(l=0, r=0, t=30, b=0),
                      scene=dict(xaxis_title="latency (ms)", yaxis_title="energy (mJ)", zaxis_title="accuracy",
                                 xaxis_type="log", yaxis_type="log"))
    return fig


def hv_history(hv: dict[str, list[float]]) -> go.Figure:
    fig = go.Figure()
    for label, values in hv.items():
        fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines", name=label))
    fig.update_layout(xaxis_title="trials", yaxis_title="hypervolume", height=360, margin=dict(l=60, r=20, t=30, b=50))
    return fig


def layer_costs(arch: ArchConfig, accel: AccelConfig) -> tuple[go.Figure, Any]:
    """Per-layer latency and energy bars of ``arch`` on ``accel`` (analytical model), coloured by bound."""
    from accel_models.registry import evaluate
    from plotly.subplots import make_subplots

    from ..workload.from_arch import arch_workload

    rep = evaluate(arch_workload(arch), accel, "analytical")
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
