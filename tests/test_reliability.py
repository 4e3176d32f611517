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


@pytest.mark.slow  # each kill-and-resume runs three searches in fresh processes; bohb's resume is in make test
@pytest.mark.parametrize("searcher", ["ppo", "gp"])
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


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["pool", "ray"])
def test_a_killed_worker_fails_only_its_own_trial_which_runs_again(tmp_path, monkeypatch, kind):
    if kind == "ray":
        pytest.importorskip("ray")
    monkeypatch.setenv("CODESIGN_FAULT", "die_once:3,die:7")
    monkeypatch.setenv("CODESIGN_FAULT_STATE", str(tmp_path))
    config = write_faulty_config(tmp_path / "dying.yaml", timeout_s=120)
    if kind == "ray":
        config.write_text(config.read_text().replace("{kind: pool, workers: 2, timeout_s: 120, memory_mb: 3072}",
                                                     "{kind: ray, workers: 2, timeout_s: 120}"))
    run = tmp_path / "run"
    assert main(["search", str(config), "--out", str(run), "--no-progress"]) == 0
    rows = json.loads((run / "trials.json").read_text())
    assert len(rows) == 12 and sorted(r["index"] for r in rows) == list(range(12))
    died_once = list(tmp_path.glob("died-*"))
    failed = [r for r in rows if r["state"] == "FAIL"]
    assert died_once                                           # some workers were killed under a trial …
    assert all("died" in r["error"] and "2 times" in r["error"] for r in failed)  # … only `die` ones fail, twice
    assert sum(r["state"] == "COMPLETE" for r in rows) == 12 - len(failed) >= 6


def test_ray_resources_and_address_are_checked_before_any_trial(tmp_path):
    pytest.importorskip("ray")
    from codesign.errors import ValidationError
    from codesign.search.config import SearchConfig
    from codesign.search.executors import ExecutorConfig, make_executor

    config = write_faulty_config(tmp_path / "r.yaml")
    doc = SearchConfig.from_yaml(config).to_dict()
    doc["executor"] = {"kind": "pool", "resources_per_trial": {"cpu": 1, "gpu": 0.5}}
    with pytest.raises(ValidationError, match="executor.resources_per_trial.*applies to executor kind ray"):
        SearchConfig.from_dict(doc)
    doc["executor"] = {"kind": "ray", "workers": 2, "resources_per_trial": {"cpu": 1, "gpu": 0.5}}
    cfg = SearchConfig.from_dict(doc)
    assert dict(cfg.executor.resources_per_trial) == {"cpu": 1.0, "gpu": 0.5}
    assert SearchConfig.from_dict(cfg.to_dict()).executor == cfg.executor
    with pytest.raises(ValidationError, match="no Ray cluster answers at 127.0.0.1:1"):
        make_executor(ExecutorConfig(kind="ray", address="127.0.0.1:1"))
    with pytest.raises(ValidationError, match="no node of the Ray cluster has cpu 1 and gpu 0.5"):
        make_executor(cfg.executor)


def constant(candidate) -> dict[str, float]:
    return {"accuracy": 0.5}


def test_the_process_pool_runs_more_trials_than_its_workers_notes_fill_a_pipe_with():
    """Each pool worker tells the driver which task it starts (so a killed worker fails only its own
    trial); the driver reads those notes while it waits, so a long run never fills the pipe (it
    did at ~2,700 trials: the workers blocked until the trial timeout failed their trials)."""
    import threading

    from codesign.search.executors import ExecutorConfig, make_executor

    exe = make_executor(ExecutorConfig(kind="pool", workers=2, timeout_s=60))
    done: dict = {}
    tasks = [(constant, i, str(i)) for i in range(4000)]
    runner = threading.Thread(target=exe.run, args=(tasks, done.__setitem__), daemon=True)
    runner.start()
    runner.join(timeout=120)
    finished = not runner.is_alive()
    exe.close() if finished else exe._kill()
    assert finished, f"the pool hung after {len(done)} of {len(tasks)} tasks"
    assert len(done) == len(tasks) and all(r["error"] is None for r in done.values())
