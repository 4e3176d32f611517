"""A search survives being killed and resumed, and trials that raise, hang or run out of memory."""
import json

import numpy as np
import pytest

from codesign.cli.main import main
from kill_resume import FAULTS, run_with_kills, uninterrupted, write_config, write_faulty_config


def test_sigkill_at_random_points_loses_no_trial_and_resumes_to_the_uninterrupted_result(tmp_path):
    config = write_config(tmp_path / "search.yaml", trials=24)
    straight = uninterrupted(config, tmp_path / "straight")
    killed = run_with_kills(config, tmp_path / "killed", kills=3, rng=np.random.default_rng(7))
    assert killed.kills == 3 and killed.problems == [] and killed.trials_lost == 0
    assert sorted(killed.final) == list(range(24))          # the budget, exactly, each index once
    assert killed.final == straight                          # same trials, same results, same front


@pytest.mark.parametrize("searcher", ["ppo", pytest.param("gp", marks=pytest.mark.slow)])
def test_a_new_searcher_killed_twice_resumes_to_the_uninterrupted_result(tmp_path, searcher):
    config = write_config(tmp_path / "search.yaml", trials=16, searcher=searcher)
    straight = uninterrupted(config, tmp_path / "straight")
    killed = run_with_kills(config, tmp_path / "killed", kills=2, rng=np.random.default_rng(3))
    assert killed.kills == 2 and killed.problems == [] and killed.trials_lost == 0
    assert killed.final == straight


def test_trials_that_raise_hang_or_exhaust_memory_fail_alone_and_show_in_the_report(tmp_path, monkeypatch):
    monkeypatch.setenv("CODESIGN_FAULT", FAULTS)
    config = write_faulty_config(tmp_path / "faulty.yaml")
    run = tmp_path / "run"
    assert main(["search", str(config), "--out", str(run), "--no-progress"]) == 0
    rows = json.loads((run / "trials.json").read_text())
    assert len(rows) == 12 and sorted(r["index"] for r in rows) == list(range(12))
    errors = [r["error"] for r in rows if r["state"] == "FAIL"]
    assert any("injected fault" in e for e in errors)
    assert any("timed out" in e for e in errors)
    assert any("out of memory" in e for e in errors)
    assert sum(r["state"] == "COMPLETE" for r in rows) >= 4   # the innocent trials were evaluated
    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text(encoding="utf-8")
    for reason in ("injected fault", "timed out", "out of memory"):
        assert reason in page
