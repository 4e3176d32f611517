"""`codesign report RUN` on a finished search: one self-contained HTML file and PNG plots."""
import json
import re

from codesign.cli.main import main


def test_report_of_a_search_opens_offline_and_shows_the_front(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["search", "examples/smoke.yaml", "--out", str(run), "--no-progress"]) == 0
    assert main(["report", str(run), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    page = (run / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", page)          # nothing fetched: plotly.js is inline
    assert "Plotly.newPlot" in page and page.count("Plotly.newPlot") >= 5
    front = json.loads((run / "front.json").read_text())
    for r in front:
        assert r["candidate"] in page                         # every front point is drilled into
    assert "How far to trust the numbers" in page and "Summary" in page
    assert len(out["pngs"]) == 4 and all((run / p.split("/")[-1]).stat().st_size > 5000 for p in out["pngs"])


def test_report_of_a_directory_that_is_not_a_run_is_a_clear_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a search run directory" in capsys.readouterr().err
