"""The examples run as a user would run them: each adds its piece from outside the package (a
metric, a tabular benchmark with its own space and evaluator, a searcher) and goes through search,
resume, report and export where they apply."""
from __future__ import annotations

import csv
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from search_helpers import write_samples

from codesign import ValidationError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

import custom_metric  # noqa: E402
import own_searcher  # noqa: E402
import tabular_benchmark  # noqa: E402


def predictor_accuracy(tmp_path: Path) -> dict:
    return {"fidelity": "predictor", "samples_file": str(write_samples(tmp_path / "samples.json"))}


@pytest.mark.slow  # a search, report and export end to end: a minute on 2 cores
def test_custom_metric_is_an_objective_plotted_and_on_the_exported_model_card(tmp_path):
    run = tmp_path / "run"
    out = custom_metric.main(run, trials=12, accuracy=predictor_accuracy(tmp_path))
    assert out["summary"]["trials_settled"] == 12 and out["summary"]["front_size"] >= 1
    rows = json.loads((run / "trials.json").read_text())
    assert all(r["peak_activation_kib"] > 0 for r in rows if r["state"] == "COMPLETE")
    assert "peak activation memory (KiB)" in Path(out["report"]).read_text(encoding="utf-8")
    # a fresh process that never imported the example still reads the run and exports its smallest point
    proc = subprocess.run([sys.executable, "-m", "codesign.cli.main", "export", str(run), "--pick",
                           "min-peak_activation_kib", "--out", str(tmp_path / "export")],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    card = json.loads((tmp_path / "export" / "model_card.json").read_text())
    peak = [m for m in card["metrics"] if m["name"] == "peak_activation_kib"]
    assert peak and peak[0]["unit"] == "KiB"
    assert peak[0]["value"] == min(r["peak_activation_kib"] for r in rows if r["on_front"])


def nb201_table(path: Path) -> Path:
    """A latency table over every NAS-Bench-201 cell: 0.5 ms plus 1 ms per 3×3 and 0.3 ms per 1×1 conv."""
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["arch", "board"])
        for ops in itertools.product(tabular_benchmark.OPS, repeat=6):
            values = {f"Op{i}": op for i, op in enumerate(ops)}
            w.writerow([tabular_benchmark.nb201_string(values),
                        0.5 + ops.count("nor_conv_3x3") + 0.3 * ops.count("nor_conv_1x1")])
    return path


def test_tabular_benchmark_is_searched_resumed_and_reported_like_any_run(tmp_path):
    table = nb201_table(tmp_path / "latency.csv")
    first = tabular_benchmark.main(tmp_path / "run", table, "board", trials=40)
    assert first["summary"]["trials_settled"] == 40 and first["front"]
    more = tabular_benchmark.main(tmp_path / "run", table, "board", trials=64)
    assert more["summary"]["trials_settled"] == 64
    trials = json.loads((tmp_path / "run" / "trials.json").read_text())
    assert len(trials) == 64                                # resumed: the first 40 were not evaluated again
    best = max(trials, key=lambda r: r["accuracy"])
    assert 0.85 < best["accuracy"] < 0.95                   # NAS-Bench-201's CIFAR-10 validation accuracies
    from codesign.cli.main import main

    assert main(["report", str(tmp_path / "run")]) == 0


def test_tabular_benchmark_names_the_line_of_a_bad_latency_table(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("arch,board\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,fast\n")
    with pytest.raises(ValidationError, match=r"expected a latency in ms, got 'fast'.*bad.csv:2:board"):
        tabular_benchmark.read_latency_table(bad, "board")
    with pytest.raises(ValidationError, match=r"expected columns `arch` and `phone`.*bad.csv:1"):
        tabular_benchmark.read_latency_table(bad, "phone")


def test_own_searcher_defined_in_the_example_runs_a_configured_search(tmp_path):
    out = own_searcher.main(tmp_path / "run", trials=10, accuracy=predictor_accuracy(tmp_path))
    assert out["summary"]["searcher"] == "annealing" and out["summary"]["trials_settled"] == 10
    assert len({r.candidate for r in out["study"].records}) > 1
    assert Path(out["report"]).is_file()
