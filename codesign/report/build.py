"""Assemble ``report.html`` (one file, plotly's JavaScript embedded once, opens offline) and PNGs.

Sections: summary (configuration, budget used, wall time, seed, versions, host); the Pareto front
(three pairwise views and a 3-D view; every trial in the background, constraints drawn); the
hypervolume against trials; a sortable table of the front; per front point, the network as a
stage/block table, the accelerator, and per-layer latency/energy bars; a fidelity panel comparing
the front's accelerator latency (analytical, and zigzag with ``zigzag=True``) with the latency
measured on the host; failed trials with their reasons.
"""
from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

import numpy as np
import plotly.io as pio
from plotly.offline import get_plotlyjs

from ..accel import AccelConfig
from ..arch import ArchConfig, block_rows
from ..run import REPORT_FILE
from ..picks import KNEE_RULE, pick_names, pick_row
from . import figures
from ..run_data import RunData, load_run
from accel_models.report import ENERGY_COMPONENTS, LATENCY_TERMS
from ..errors import ValidationError
from accel_models.registry import evaluate
from ..workload.from_arch import arch_workload

MAX_DRILLDOWN = 24  # front points given a per-layer section (most accurate first)


def _fig(fig, div_id: str) -> str:
    return pio.to_html(fig, include_plotlyjs=False, full_html=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def _plain(value: Any) -> Any:
    """A nested mapping (setup timings, versions) as ``key value`` pairs, not JSON."""
    if isinstance(value, dict):
        return "; ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items()) or "–"
    return value


def _cell_text(col: str, v: Any) -> str:
    """Numbers as an engineer reads them: counts with thousands separators (no scientific notation),
    fractions to 4 decimals, other quantities to 4 significant digits."""
    if v is None:
        return ""
    if col in ("params", "macs") and isinstance(v, (int, float)):
        return f"{int(v):,}"
    if isinstance(v, float):
        return f"{v:.4f}" if col == "accuracy" else f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return str(v)


def _table(rows: list[dict[str, Any]], cols: list[str], table_id: str) -> str:
    head = "".join(f"<th onclick=\"sortTable('{table_id}',{i})\">{html.escape(c)}</th>" for i, c in enumerate(cols))
    body = []
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c)
            text = _cell_text(c, v)
            cells.append(f"<td data-v=\"{html.escape(str(v if v is not None else ''))}\">{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table id=\"{table_id}\" class=\"t\"><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _layer_terms_table(rep: Any, table_id: str) -> str:
    """Per layer: bound, utilization, the named latency terms (cycles) and energy per level (µJ)."""
    rows = [{"layer": l.name, "op": l.op, "MACs": l.macs, "latency µs": round(l.latency_ms * 1e3, 3), "bound": l.bound,
             "util": round(l.utilization, 3),
             **{f"{t} cyc": round(l.terms_cycles.get(t, 0.0)) for t in LATENCY_TERMS},
             "weights": "resident" if l.weights_resident else ("streamed" if l.macs else "-"),
             **{f"{c} µJ": round(l.energy_pj.get(c, 0.0) * 1e-6, 4) for c in ENERGY_COMPONENTS}} for l in rep.layers]
    cols = list(rows[0]) if rows else []
    return ("<p>Latency terms in cycles (before calibration): compute = MAC array, dram = DRAM / host-link transfers, "
            "global_buffer = buffer transfers, vector = vector unit (activations and fused element-wise work), "
            "overhead = fixed per-layer cost; a layer takes their maximum plus the overhead (their sum on a sequential "
            "target). Energy per memory level in µJ.</p>" + _table(rows, cols, table_id))


def _network_table(arch: ArchConfig) -> str:
    return _table(block_rows(arch), ["stage", "block", "channels"], f"net{abs(hash(arch.to_string())) % 10**8}")


def _fidelity(run: RunData, zigzag: bool) -> tuple[str, dict[str, Any]]:
    from scipy import stats

    b = run.cfg.backend  # the run's cost model: its latency is the front's `latency_ms`
    pts = [r for r in run.front if r.get("measured_latency_ms")]
    out: dict[str, Any] = {"n": len(run.front), "n_measured": len(pts)}
    rows = [{"trial": r["trial"], f"{b}_ms": r["latency_ms"], "measured_cpu_ms": r.get("measured_latency_ms")}
            for r in run.front]
    if zigzag and run.front:
        for row, r in zip(rows, run.front):
            rep = evaluate(arch_workload(ArchConfig.from_string(r["arch"])), AccelConfig.from_string(r["accel"]), "zigzag")
            row["zigzag_ms"] = rep.latency_ms
        a = np.array([r[f"{b}_ms"] for r in rows])
        z = np.array([r["zigzag_ms"] for r in rows])
        out[f"within_10pct_{b}_vs_zigzag"] = float(np.mean(np.abs(a / z - 1) <= 0.10))
        if len(rows) >= 3:
            out[f"spearman_{b}_vs_zigzag"] = float(stats.spearmanr(a, z)[0])
    if len(pts) >= 3:
        out[f"spearman_{b}_vs_measured_cpu"] = float(stats.spearmanr(
            [r["latency_ms"] for r in pts], [r["measured_latency_ms"] for r in pts])[0])
    cols = ["trial", f"{b}_ms"] + (["zigzag_ms"] if zigzag else []) + ["measured_cpu_ms"]
    device_text = ""
    if run.cfg.measure.device:
        from latency_predictors.device_model import describe_device_model

        out["device_model"] = describe_device_model(run.cfg.measure.device)
        for row, r in zip(rows, run.front):
            row["device_model_ms"] = r.get("device_latency_ms")
        cols.append("device_model_ms")
        d = out["device_model"]
        device_text = (f"<p>Device latency (<code>device_latency_ms</code>) is predicted by the device model "
                       f"<code>{html.escape(str(d['file']))}</code>" + (
                           f" of {html.escape(str(d['device']))}, fitted on {d['measurements']} measured networks; "
                           f"its leave-one-out median error is {100 * d['loo_median_rel_err']:.1f}% "
                           f"({100 * d['loo_within_10pct']:.0f}% of the measurements within ±10% when left out)."
                           if "error" not in d else f" which cannot be read now: {html.escape(d['error'])}.") + "</p>")
    text = device_text + ("<p>Accelerator latency is a cost-model estimate for the candidate's accelerator; measured CPU "
            "latency is the same network timed with the run's runtime on this host — a different device, so "
            "only their ranking is comparable. " + (
                "Analytical vs zigzag-dse compares two models of the same accelerator. " if zigzag else
                "Run <code>codesign report RUN --zigzag</code> to add zigzag-dse's estimate for the front. ")
            + "</p>" + _fidelity_figures(out, b) + _table(rows, cols, "fid"))
    return text, out


#: what each fidelity figure means, for the engineer reading the report
_FIDELITY_MEANING = {
    "n": "front points", "n_measured": "front points whose CPU latency was measured",
    "within_10pct_analytical_vs_zigzag": "share of front points where the analytical latency is within ±10% of "
                                         "zigzag-dse's",
    "spearman_analytical_vs_zigzag": "rank agreement (Spearman ρ, -1 to 1; 1 = same order) of the two models of "
                                     "the accelerator over the front",
    "spearman_analytical_vs_measured_cpu": "rank agreement of accelerator latency with CPU latency measured on "
                                           "this host (a different device: only a sanity check)",
}


def _fidelity_figures(out: dict[str, Any], backend: str = "analytical") -> str:
    """The fidelity figures as a table that says what each means; a rank correlation near zero is flagged."""
    rows = []
    for key, value in out.items():
        generic = key.replace(f"_{backend}_", "_analytical_")  # the meanings are written for the default model
        if generic not in _FIDELITY_MEANING:
            continue
        meaning = _FIDELITY_MEANING[generic].replace("analytical", backend)
        if key.startswith("spearman") and abs(value) < 0.3:
            meaning += " — near zero: this ordering says little about the other"
        rows.append({"figure": key, "value": value, "meaning": meaning})
    return _table(rows, ["figure", "value", "meaning"], "fidfig")


def _pngs(run: RunData, out_dir: Path, picks: dict[int, list[str]]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for x, y in run.pairs:
        fig, ax = plt.subplots(figsize=(5.5, 4), dpi=120)
        shown = figures.plotted(run.rows, x, y)
        for subset, kw in (([r for r in shown if not r["on_front"]], dict(c="#b0b8c8", s=8, label="trials")),
                           ([r for r in shown if r["on_front"]], dict(c="#d62728", s=22, label="Pareto front"))):
            ax.scatter([r[x] for r in subset], [r[y] for r in subset], **kw)
        for r in (r for r in shown if r["trial"] in picks):
            ax.scatter([r[x]], [r[y]], marker="*", s=160, c="#ffbf00", edgecolors="black", zorder=3)
            ax.annotate(", ".join(picks[r["trial"]]), (r[x], r[y]), textcoords="offset points", xytext=(6, 6), fontsize=8)
        for axis, m in (("x", x), ("y", y)):
            if figures.axis_type(m) == "log" and any(r[m] > 0 for r in shown):  # log needs a positive value
                getattr(ax, f"set_{axis}scale")("log")
        if not shown:
            ax.text(0.5, 0.5, "no finished trial with both values", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel(figures.label(x))
        ax.set_ylabel(figures.label(y))
        ax.legend()
        ax.set_title(run.name)
        fig.tight_layout()
        p = out_dir / f"front_{y}_vs_{x}.png"
        fig.savefig(p)
        plt.close(fig)
        paths.append(p)
    fig, ax = plt.subplots(figsize=(5.5, 3.5), dpi=120)
    for label, values in run.hv.items():
        ax.plot(range(1, len(values) + 1), values, label=label)
    ax.set_xlabel("trials")
    ax.set_ylabel("hypervolume")
    ax.legend()
    fig.tight_layout()
    p = out_dir / "hypervolume.png"
    fig.savefig(p)
    plt.close(fig)
    return paths + [p]


def _named_picks(run: RunData) -> dict[int, list[str]]:
    """trial number → the ``--pick`` names that would export it."""
    out: dict[int, list[str]] = {}
    for name in pick_names(run.objectives):
        try:
            row, _ = pick_row(run.rows, run.objectives, name)
        except ValidationError:  # no front yet, or a metric the run did not record
            continue
        out.setdefault(row["trial"], []).append(name)
    return out


def _summary(run: RunData) -> dict[str, Any]:
    info, cfg = run.info, run.cfg
    hv = next(iter(run.hv.values()))
    out = {"name": run.name, "searcher": info["run_info"].get("searcher"), "seed": info["run_info"].get("seed"),
           "budget": f"{info['trials_settled']} of {info['budget_trials']} trials", "failed": info["trials_failed"],
           "infeasible": info["trials_infeasible"],
           "not trained (broke a constraint before training)": info.get("trials_skipped", 0), "front size": len(run.front), "hypervolume": hv[-1] if hv else 0.0,
           "objectives": ", ".join(f"{o.metric} ({o.direction})" for o in run.objectives),
           "wall time (s)": round(info["elapsed_s"], 1), "setup (s)": info["setup_timings_s"]}
    if cfg is not None:
        out.update({"mode": cfg.mode, "accuracy fidelity": cfg.accuracy.fidelity, "cost model": cfg.backend,
                    "measured on": f"{cfg.measure.runtime} ({cfg.measure.trials})"})
    else:
        out.update({"space": info["run_info"].get("space"), "evaluator": info["run_info"].get("evaluator")})
    return {**out, "store": info["storage"], "host": info["host"], "versions": info["versions"]}


def _status(run: RunData) -> list[str]:
    finished = [r for r in run.rows if r["state"] == "COMPLETE"]
    if not finished:
        return ["<p><strong>No trial finished: every trial failed.</strong> Their reasons are listed under "
                "<em>Failed trials</em> below; the plots are empty.</p>"]
    if not any(r["feasible"] for r in finished):
        return ["<p><strong>No feasible trial:</strong> every finished trial breaks a constraint "
                f"({html.escape(', '.join(c.describe() for c in run.constraints))}); the front is empty.</p>"]
    return []


def _front_section(run: RunData, picks: dict[int, list[str]]) -> str:
    first = run.objectives[0]
    sign = -1.0 if first.direction == "maximize" else 1.0
    ordered = sorted(run.front, key=lambda r: sign * r[first.metric])
    ids = ["arch", "accel"] if run.joint else ["candidate"]
    cols = ["trial", "pick", *run.metrics, *ids]
    rows = [{**r, "pick": ", ".join(picks.get(r["trial"], []))} for r in ordered]
    how = (f"<p>Export a point with <code>codesign export {html.escape(str(run.run_dir))} --pick knee</code> "
           f"(or {', '.join(f'<code>{n}</code>' for n in pick_names(run.objectives)[1:])}, a trial number). "
           if run.joint else "<p>Named points: " + ", ".join(pick_names(run.objectives)) + ". ")
    return "<h2>Front (click a column to sort)</h2>" + _table(rows, cols, "front") + how + \
        f"Knee: the {html.escape(KNEE_RULE)}.</p>"


def _drilldown(run: RunData) -> str:
    """Per front point (best first objective first): network, accelerator and per-layer costs from
    the run's cost model."""
    first = run.objectives[0]
    sign = -1.0 if first.direction == "maximize" else 1.0
    drill = []
    for r in sorted(run.front, key=lambda r: sign * r[first.metric])[:MAX_DRILLDOWN]:
        arch, accel = ArchConfig.from_string(r["arch"]), AccelConfig.from_string(r["accel"])
        fig, rep = figures.layer_costs(arch, accel, run.cfg.backend)
        head = ", ".join(figures._value(m, r[m]) for m in run.metrics[:5] if r.get(m) is not None)
        drill.append(f"<details><summary>trial {r['trial']}: {html.escape(head)}</summary>"
                     f"<p><code>{html.escape(r['candidate'])}</code></p><div class=\"grid\"><div>"
                     f"<h4>Network</h4>{_network_table(arch)}</div><div><h4>Accelerator</h4>"
                     f"<pre>{html.escape(accel.to_yaml())}</pre></div></div>{_fig(fig, 'layers' + str(r['trial']))}"
                     f"<details><summary>per-layer terms ({html.escape(run.cfg.backend)})</summary>"
                     f"{_layer_terms_table(rep, 'terms' + str(r['trial']))}</details></details>")
    return "<h2>Front points in detail</h2>" + "".join(drill)


def build_report(run_dir: str | Path, zigzag: bool = False) -> dict[str, Any]:
    """Write ``report.html`` and PNGs into ``run_dir``; returns paths, sizes and seconds taken."""
    start = time.perf_counter()
    run = load_run(run_dir)
    cons = {c.metric: c.hi for c in run.constraints if c.hi is not None}
    parts = _status(run)
    parts.append("<h2>Summary</h2>" + _table([{"field": k, "value": _plain(v)} for k, v in _summary(run).items()],
                                             ["field", "value"], "summary"))
    picks = _named_picks(run)
    three = [o.metric for o in run.objectives[:3]]
    axes = (three[1], three[2], three[0]) if len(three) == 3 and run.objectives[0].direction == "maximize" else tuple(three)
    parts.append("<h2>Pareto front</h2><div class=\"grid\">" + "".join(
        f"<div>{_fig(figures.pareto_pair(run.rows, x, y, cons, picks), f'pair{i}')}</div>"
        for i, (x, y) in enumerate(run.pairs))
        + (f"<div>{_fig(figures.pareto_3d(run.rows, axes), 'front3d')}</div>" if len(three) == 3 else "") + "</div>")
    parts.append("<h2>Hypervolume against trials</h2>" + _fig(figures.hv_history(run.hv), "hv"))
    parts.append(_front_section(run, picks))
    fid = {}
    if run.joint:
        parts.append(_drilldown(run))
        fid_html, fid = _fidelity(run, zigzag)
        parts.append("<h2>How far to trust the numbers</h2>" + fid_html)
    failed = [r for r in run.rows if r["state"] == "FAIL"]
    if failed:
        parts.append("<h2>Failed trials</h2>" + _table(failed, ["trial", "index", "candidate", "error"], "failed"))
    parts.append("<p>All trials: <a href=\"trials.csv\">trials.csv</a>.</p>")
    page = _PAGE.format(title=html.escape(f"codesign report: {run.name}"), plotlyjs=get_plotlyjs(),
                        body="\n".join(parts))
    out = Path(run_dir) / REPORT_FILE
    tmp = out.with_suffix(".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    pngs = _pngs(run, Path(run_dir), picks)
    return {"report": str(out), "bytes": out.stat().st_size, "pngs": [str(p) for p in pngs],
            "seconds": time.perf_counter() - start, "fidelity": fid}


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<script type="text/javascript">{plotlyjs}</script>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 1400px; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 1em; }}
table.t {{ border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }}
table.t th, table.t td {{ border: 1px solid #ccc; padding: 2px 6px; text-align: left; max-width: 60em;
  overflow-wrap: anywhere; }}
table.t th {{ background: #f0f0f0; cursor: pointer; }}
details {{ margin: 0.5em 0; border: 1px solid #ddd; padding: 0.3em 0.8em; }}
pre {{ background: #f7f7f7; padding: 0.5em; font-size: 0.8em; }}
</style>
<script>
function sortTable(id, col) {{
  const t = document.getElementById(id), b = t.tBodies[0], rows = Array.from(b.rows);
  const asc = t.dataset.col == col ? t.dataset.asc != "1" : true;
  rows.sort((r1, r2) => {{
    const a = r1.cells[col].dataset.v, c = r2.cells[col].dataset.v, x = parseFloat(a), y = parseFloat(c);
    const d = (!isNaN(x) && !isNaN(y)) ? x - y : a.localeCompare(c);
    return asc ? d : -d; }});
  rows.forEach(r => b.appendChild(r)); t.dataset.col = col; t.dataset.asc = asc ? "1" : "0";
}}
// plots drawn before their grid column had its width: fit them once the page is laid out
window.addEventListener("load", () => document.querySelectorAll(".js-plotly-plot").forEach(p => Plotly.Plots.resize(p)));
</script></head>
<body><h1>{title}</h1>
{body}
</body></html>
"""
