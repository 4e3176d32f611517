"""`codesign report RUN` on a finished search: one self-contained HTML file and PNG plots."""
import json
import re
import shutil
import subprocess

import pytest

from codesign.cli.main import main


def test_report_of_a_search_opens_offline_and_shows_the_front(smoke_run, capsys):
    run = smoke_run
    assert main(["report", str(run), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    page = (run / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", page)          # nothing fetched: plotly.js is inline
    assert "Plotly.newPlot" in page and page.count("Plotly.newPlot") >= 5
    front = json.loads((run / "front.json").read_text())
    for r in front:
        assert r["candidate"] in page                         # every front point is drilled into
    assert "How far to trust the numbers" in page and "Summary" in page
    assert "CPU latency was measured" in page and "Plotly.Plots.resize" in page   # figures explained; plots refit
    assert "--pick knee" in page and ">knee" in page                # which point `codesign export` would take
    assert page.count('"name":"picks"') == 3                       # the knee is starred in every front plot
    assert len(out["pngs"]) == 4 and all((run / p.split("/")[-1]).stat().st_size > 5000 for p in out["pngs"])
    # the drill-down names, per layer, the bounding term, utilization, each latency term and energy by level
    assert "per-layer terms" in page and "vector cyc" in page and "dram µJ" in page and "util" in page
    # candidates over the area budget were not trained, and the summary counts them
    skipped = sum(r["skipped"] is not None for r in json.loads((run / "trials.json").read_text()))
    shown = re.search(r"not trained \(broke a constraint before training\)</td><td data-v=\"(\d+)\"", page)
    assert skipped > 0 and shown and int(shown.group(1)) == skipped


def test_report_overlays_several_runs_fronts(smoke_run, tmp_path, capsys):
    other = tmp_path / "again"
    shutil.copytree(smoke_run, other)
    assert main(["report", str(smoke_run), str(other), "--out", str(tmp_path / "cmp"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    page = (tmp_path / "cmp" / "compare.html").read_text(encoding="utf-8")
    assert out["runs"] == [str(smoke_run), str(other)]  # same run name twice: told apart by directory
    assert page.count("Plotly.newPlot") == 4 and str(other) in page and "on the front" in page
    assert not re.search(r"<script[^>]+src=", page)


def test_several_runs_without_an_output_folder_is_a_clear_error(smoke_run, capsys):
    assert main(["report", str(smoke_run), str(smoke_run)]) == 2
    assert "--out" in capsys.readouterr().err


def test_report_of_a_directory_that_is_not_a_run_is_a_clear_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a search run directory" in capsys.readouterr().err


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--disable-quic",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--virtual-time-budget=15000"]
# Records console.error calls and uncaught exceptions into the page, where --dump-dom can read them.
ERROR_HOOK = """<script>window.__errs=[];var __ce=console.error;console.error=function(){
window.__errs.push(Array.from(arguments).join(' '));__ce.apply(console,arguments)};
window.addEventListener('error',function(e){window.__errs.push('uncaught: '+e.message)});
window.addEventListener('load',function(){setTimeout(function(){var p=document.createElement('pre');
p.id='__errs';p.textContent=JSON.stringify(window.__errs);document.body.appendChild(p)},500)});</script>"""


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("headless Chromium is not installed (`make test` installs Debian's `chromium` when it runs as root "
                "with apt; otherwise install it to run this test)")


def test_report_renders_in_headless_chromium_without_console_errors(smoke_run, tmp_path):
    browser = chromium()
    assert main(["report", str(smoke_run)]) == 0
    page = (smoke_run / "report.html").read_text(encoding="utf-8")
    probe = tmp_path / "report_probe.html"
    probe.write_text(page.replace("<head>", "<head>" + ERROR_HOOK, 1), encoding="utf-8")
    flags = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=180)
    assert dom.returncode == 0, dom.stderr[-2000:]
    errors = re.search(r'<pre id="__errs">([^<]*)</pre>', dom.stdout)
    assert errors is not None, "the page never finished loading"
    assert json.loads(errors.group(1).replace("&quot;", '"')) == []
    plot_ids = re.findall(r'Plotly\.newPlot\(\s*"([^"]+)"', page)
    assert len(plot_ids) >= 5
    for pid in plot_ids:    # every plot container was drawn into (SVG, plus a WebGL canvas for the 3-D view)
        drawn = re.search(rf'<div id="{re.escape(pid)}"[^>]*>(.{{0,600}})', dom.stdout, re.S)
        assert drawn and ("main-svg" in drawn.group(1) or "<canvas" in drawn.group(1)), pid
    shot = tmp_path / "report.png"
    subprocess.run([*flags, "--window-size=1400,3000", f"--screenshot={shot}", (smoke_run / "report.html").as_uri()],
                   capture_output=True, timeout=180, check=True)
    assert shot.stat().st_size > 50_000
