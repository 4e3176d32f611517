"""The joint search as a user runs it: a config, a run directory, a store that survives restarts."""
import json
from dataclasses import replace

import numpy as np
import pytest

from codesign.cli.main import main
from codesign.errors import ValidationError
from codesign.search.config import SearchConfig
from codesign.search.loop import run_search
from codesign.pareto import hypervolume, hypervolume_history, nondomination_rank, pareto_mask
from codesign.search.rewards import Reward
from codesign.search.store import TrialStore, redact_url
from codesign.search.summary import write_summary
from codesign.spaces.arch_space import ArchSpace
from search_helpers import cheap_config


def candidates(state):
    return [o.candidate for o in state.records]


def test_smoke_example_gives_a_front_with_measured_latency(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["search", "examples/smoke.yaml", "--out", str(run), "--no-progress", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["trials_settled"] == 24 and summary["front_size"] >= 1 and summary["hypervolume"] > 0
    for name in ("config.yaml", "study.db", "trials.csv", "trials.json", "front.csv", "front.json", "summary.json"):
        assert (run / name).is_file(), name
    front = json.loads((run / "front.json").read_text())
    assert all(r["feasible"] and r["area_mm2"] <= 10.0 for r in front)
    assert all(r["measured_latency_ms"] > 0 for r in front)
    assert (run / "supernet.pt").is_file()


def test_same_seed_same_trials_and_resume_continues_without_losing_any(tmp_path):
    full = run_search(cheap_config(tmp_path, searcher={"name": "evolution", "batch": 4, "population": 8, "sample": 3},
                                   budget={"trials": 16}), tmp_path / "full", progress=False)
    part = run_search(cheap_config(tmp_path, searcher={"name": "evolution", "batch": 4, "population": 8, "sample": 3},
                                   budget={"trials": 8}), tmp_path / "part", progress=False)
    assert candidates(part) == candidates(full)[:8]
    resumed = run_search(cheap_config(tmp_path, searcher={"name": "evolution", "batch": 4, "population": 8, "sample": 3},
                                      budget={"trials": 16}), tmp_path / "part", resume=True, progress=False)
    assert candidates(resumed) == candidates(full)
    assert len(resumed.store.finished_by_index()) == 16


def test_a_trial_left_running_by_a_killed_process_is_retried(tmp_path):
    cfg = cheap_config(tmp_path, budget={"trials": 8})
    first = run_search(cfg, tmp_path / "run", progress=False)
    store = first.store
    # pretend the process died while trial 8 (of a longer budget) was running
    store.start(8, "joint", "net@x", {})
    resumed = run_search(cheap_config(tmp_path, budget={"trials": 12}), tmp_path / "run", resume=True, progress=False)
    trials = resumed.store.trials()
    interrupted = [t for t in trials if t.error and t.error.startswith("interrupted")]
    assert len(interrupted) == 1 and interrupted[0].index == 8
    assert sorted(resumed.store.finished_by_index()) == list(range(12))


@pytest.mark.parametrize("name,options", [("random", {}), ("evolution", {"population": 6, "sample": 2}),
                                          ("reinforce", {"lr": 0.1}), ("nsga2", {"population": 6}),
                                          ("tpe", {"startup_trials": 4}), ("ppo", {"rollouts": 4}),
                                          pytest.param("gp", {"startup_trials": 4}, marks=pytest.mark.slow)])
def test_every_multi_trial_searcher_completes_its_budget_reproducibly(tmp_path, name, options):
    cfg = cheap_config(tmp_path, searcher={"name": name, "batch": 3, **options}, budget={"trials": 12})
    a = run_search(cfg, tmp_path / "a", progress=False)
    b = run_search(cfg, tmp_path / "b", progress=False)
    assert len(a.records) == 12 and candidates(a) == candidates(b)
    assert a.hypervolume() > 0


def test_phase_mode_searches_the_network_on_one_accelerator_then_the_accelerator(tmp_path):
    state = run_search(cheap_config(tmp_path, mode="phase", budget={"trials": 12}), tmp_path / "run", progress=False)
    phases = [t.phase for t in sorted(state.store.trials(), key=lambda t: t.index)]
    assert phases == ["network"] * 6 + ["hardware"] * 6
    accels = {o.candidate.split("@")[1] for o in state.records[:6]}
    assert len(accels) == 1
    nets_phase2 = {o.candidate.split("@")[0] for o in state.records[6:]}
    nets_front1 = {o.candidate.split("@")[0] for o in state.records[:6] if o.feasible}
    assert nets_phase2 <= nets_front1


def test_a_failing_trial_is_recorded_with_its_reason_and_the_search_goes_on(tmp_path, monkeypatch):
    monkeypatch.setenv("CODESIGN_FAULT", "raise:3")
    state = run_search(cheap_config(tmp_path, budget={"trials": 12}), tmp_path / "run", progress=False)
    failed = [t for t in state.store.trials() if t.state == "FAIL"]
    assert failed and all("injected fault" in t.error for t in failed)
    assert len(state.store.finished_by_index()) == 12
    summary = write_summary(tmp_path / "run")
    assert summary["trials_failed"] == len(failed)


def test_pool_executor_gives_the_same_trials_and_isolates_a_hang(tmp_path, monkeypatch):
    inline = run_search(cheap_config(tmp_path, budget={"trials": 8}), tmp_path / "inline", progress=False)
    monkeypatch.setenv("CODESIGN_FAULT", "hang:4")
    pool = run_search(cheap_config(tmp_path, budget={"trials": 8},
                                   executor={"kind": "pool", "workers": 2, "timeout_s": 12}),
                      tmp_path / "pool", progress=False)
    assert candidates(pool) == candidates(inline)
    hung = [t for t in pool.store.trials() if t.state == "FAIL"]
    assert hung and all("timed out" in t.error for t in hung)
    ok = {t.index for t in pool.store.trials() if t.state == "COMPLETE"}
    assert len(ok) + len(hung) == 8


def test_ray_executor_runs_the_same_trials(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    inline = run_search(cheap_config(tmp_path, budget={"trials": 6}), tmp_path / "inline", progress=False)
    ray_run = run_search(cheap_config(tmp_path, budget={"trials": 6}, executor={"kind": "ray", "workers": 2}),
                         tmp_path / "ray", progress=False)
    assert candidates(ray_run) == candidates(inline)
    assert [o.metrics for o in ray_run.records] == [o.metrics for o in inline.records]


def test_oneshot_searcher_trains_a_controller_and_stores_its_front_as_trials(tmp_path):
    cfg = SearchConfig.from_yaml("examples/smoke.yaml")
    doc = cfg.to_dict()
    doc["searcher"] = {"name": "oneshot", "batch": 4, "steps": 20, "candidates": 4}
    doc["budget"] = {"trials": 8}
    doc["measure"] = {"runtime": "none"}
    state = run_search(SearchConfig.from_dict(doc), tmp_path / "run", progress=False)
    assert len(state.records) == 8 and len({o.candidate for o in state.records[:4]}) == 4
    assert all(o.metrics is not None for o in state.records)


def differentiable_config(checkpoint=None, **options) -> SearchConfig:
    """The smoke search with the differentiable searcher (on the smoke run's supernet, when given)."""
    doc = SearchConfig.from_yaml("examples/smoke.yaml").to_dict()
    if checkpoint is not None:
        doc["accuracy"]["checkpoint"] = str(checkpoint)
    doc["searcher"] = {"name": "differentiable", "batch": 4, "steps": 6, "warmup_steps": 2, "candidates": 4,
                       "lambdas": [[0.5, 0.5]], "table_every": 6, **options}
    doc["budget"] = {"trials": 4}
    doc["measure"] = {"runtime": "none"}
    return SearchConfig.from_dict(doc)


def test_differentiable_search_stores_its_candidates_reproducibly(tmp_path, smoke_run):
    a = run_search(differentiable_config(smoke_run / "supernet.pt"), tmp_path / "a", progress=False)
    assert len(a.records) == 4 and len({o.candidate for o in a.records}) == 4
    assert all(o.metrics is not None for o in a.records)
    b = run_search(differentiable_config(smoke_run / "supernet.pt"), tmp_path / "b", progress=False)
    assert candidates(b) == candidates(a)


def test_differentiable_search_pulls_towards_cheaper_hardware_as_lambda_grows(tmp_path, smoke_run):
    """The expected-cost term (dominant at λ this large) moves the most likely candidate to a cheaper
    network and accelerator: the λ=50 pick is faster and spends less energy than the λ=0 pick (SNAS
    relaxation here; the GDAS default runs in the test above)."""
    from searchers.differentiable import Differentiable
    from codesign.search.loop import joint_space, prepare_run
    from codesign.accuracy.sources import prepare_accuracy
    from codesign.search.oneshot_context import OneShotContext

    cfg = differentiable_config(smoke_run / "supernet.pt")
    run = tmp_path / "run"
    cfg = prepare_run(cfg, run, resume=False)
    joint = joint_space(cfg)
    prepare_accuracy(cfg, joint.arch, run, progress=False)
    ctx = OneShotContext(cfg, joint, run, joint)
    searcher = Differentiable(joint, 3, 0, {"steps": 16, "warmup_steps": 0, "candidates": 1, "arch_lr": 0.2,
                                            "lambdas": [[0.0, 0.0], [50.0, 50.0]], "table_every": 16,
                                            "relaxation": "snas"})
    searcher.prepare(ctx, progress=False)
    plain, cheap = (ctx.hardware(joint.decode(v)) for v in searcher.queue[:2])
    assert cheap["latency_ms"] < plain["latency_ms"] and cheap["energy_mj"] < plain["energy_mj"]
    assert [h["lambdas"] for h in searcher.history] == [[0.0, 0.0], [50.0, 50.0]]


@pytest.mark.parametrize("options, field", [({"tau_start": 0}, "searcher.tau_start"),
                                            ({"tau_end": -1.0}, "searcher.tau_end"),
                                            ({"lambdas": [[0.1, -0.5]]}, r"searcher.lambdas\[0\]"),
                                            ({"relaxation": "darts"}, "searcher.relaxation")])
def test_differentiable_search_names_a_bad_option_before_anything_runs(options, field):
    with pytest.raises(ValidationError, match=field):
        differentiable_config(**options)


def bohb_config(accuracy: dict | None = None, **options) -> SearchConfig:
    doc = SearchConfig.from_yaml("examples/smoke.yaml").to_dict()
    doc["data"] = {"name": "synthetic", "seed": 0}
    doc["accuracy"] = accuracy or {"fidelity": "proxy", "train": {"epochs": 3, "batch_size": 64}}
    doc["searcher"] = {"name": "bohb", "batch": 4, "min_epochs": 1, "eta": 3, **options}
    doc["budget"] = {"trials": 6}
    doc["measure"] = {"runtime": "none"}
    doc["constraints"] = {"area_mm2": {"max": 1000.0}}  # every candidate trains: these tests are about the rungs
    return SearchConfig.from_dict(doc)


def test_bohb_trains_each_rung_for_its_epochs_and_keeps_the_full_budget_from_the_config(tmp_path):
    state = run_search(bohb_config(), tmp_path / "run", progress=False)
    rows = state.store.trials()
    assert {(t.values["fidelity"], t.state) for t in rows} == {(1, "PRUNED"), (3, "COMPLETE")}
    assert all(t.detail["fidelity_epochs"] == t.values["fidelity"] for t in rows)
    summary = write_summary(tmp_path / "run")
    assert summary["trials_settled"] == 6 and summary["trials_pruned"] == sum(t.state == "PRUNED" for t in rows)


def test_a_promoted_bohb_candidate_continues_its_rung_and_ends_as_if_trained_straight(tmp_path):
    """The 1-epoch rung pauses a 3-epoch schedule; the promoted candidate trains on from the pause
    for 2 more epochs and ends with exactly the accuracy of a plain 3-epoch training. The spent pause
    is deleted (so it was used); those of the stopped candidates stay in the cache."""
    from codesign.accuracy.sources import ProxyAccuracy

    cfg = bohb_config()
    state = run_search(cfg, tmp_path / "run", progress=False)
    rows = state.store.trials()
    rung = {t.candidate: t for t in rows if t.values["fidelity"] == 1}
    promoted = [t for t in rows if t.values["fidelity"] == 3 and t.candidate in rung]
    assert len(promoted) == 1
    (top,) = promoted
    cand = state.space.decode({k: v for k, v in top.values.items() if k != "fidelity"})
    straight = ProxyAccuracy(cfg, state.space.arch, tmp_path / "elsewhere")(cand.arch)
    assert top.metrics["accuracy"] == straight["accuracy"]
    kept = sorted(p.name.split("-e")[1] for p in (tmp_path / "run" / "rung_checkpoints").glob("*.pt"))
    assert kept == ["1.pt"] * (len(rung) - 1)


def test_bohb_untrained_rung_scores_the_hardware_without_training_and_trains_the_best_third(tmp_path):
    cfg = replace(bohb_config(untrained_rung=True, batch=1), trials=12)
    state = run_search(cfg, tmp_path / "run", progress=False)
    rows = sorted(state.store.trials(), key=lambda t: t.number)
    screen, trained = rows[:9], rows[9:]
    assert all(t.values["fidelity"] == 0 and t.state == "PRUNED" for t in screen)
    assert all(t.detail["skipped"]["reason"] == "fidelity 0 epochs: accuracy not evaluated" for t in screen)
    assert all("accuracy_s" not in t.timings_s and t.metrics["latency_ms"] > 0 for t in screen)
    assert [t.values["fidelity"] for t in trained] == [1, 1, 1]
    assert all("skipped" not in t.detail and t.timings_s["accuracy_s"] > 0 for t in trained)
    assert {t.candidate for t in trained} <= {t.candidate for t in screen}
    assert write_summary(tmp_path / "run")["trials_skipped"] == 0


@pytest.mark.parametrize("accuracy, options, field", [
    ({"fidelity": "supernet"}, {}, "accuracy.fidelity"),
    ({"fidelity": "proxy", "train": {"steps": 20}}, {}, "accuracy.train.steps"),
    (None, {"min_epochs": 9}, "searcher.min_epochs"),
])
def test_bohb_names_a_config_it_cannot_run(tmp_path, accuracy, options, field):
    with pytest.raises(ValidationError, match=field.replace(".", r"\.")):
        run_search(bohb_config(accuracy, **options), tmp_path / "run", progress=False)
    db = tmp_path / "run" / "study.db"
    if db.exists():  # stopped before any trial
        import sqlite3

        assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 0


def test_a_bad_config_names_every_wrong_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("objectives: [{metric: speed}]\nsearcher: {name: evolution, populaton: 3}\n"
                   "budget: {trials: 0}\nexecutor: {kind: cluster}\nmeasure: {trials: some}\n")
    with pytest.raises(ValidationError) as err:
        SearchConfig.from_yaml(bad)
    text = str(err.value)
    for field in ("objectives[0].metric", "searcher.populaton", "budget.trials", "executor.kind", "measure.trials"):
        assert field in text, field
    assert main(["search", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert not (tmp_path / "r").exists()


def test_a_searcher_option_out_of_range_is_an_error_before_anything_runs(tmp_path):
    with pytest.raises(ValidationError, match="searcher.population"):
        run_search(cheap_config(tmp_path, searcher={"name": "nsga2", "population": 1}), tmp_path / "run", progress=False)


def test_an_existing_run_is_not_overwritten(tmp_path):
    run_search(cheap_config(tmp_path, budget={"trials": 4}), tmp_path / "run", progress=False)
    with pytest.raises(ValidationError, match="--resume"):
        run_search(cheap_config(tmp_path, budget={"trials": 4}), tmp_path / "run", progress=False)


def test_rewards_follow_mnasnet_and_tunas():
    flat = {"accuracy": 0.9, "latency_ms": 2.0, "energy_mj": 0.5}
    targets = {"latency_ms": 1.0, "energy_mj": 0.5}
    assert Reward("mnas_soft", targets=targets)(flat) == pytest.approx(0.9 * 2.0 ** -0.07)
    assert Reward("mnas_hard", targets=targets, betas={"latency_ms": -1})(flat) == pytest.approx(0.45)
    fast = {**flat, "latency_ms": 0.5}
    assert Reward("mnas_hard", targets=targets)(fast) == pytest.approx(0.9)
    assert Reward("tunas_abs", targets=targets)(fast) == pytest.approx(0.9 - 0.07 * 0.5)
    assert Reward("mnas_soft", targets=targets)(flat, violation=0.2) < 0


def test_pareto_front_and_hypervolume():
    losses = np.array([[-1.0, -1.0], [-0.5, -0.5], [-2.0, -0.25], [0.5, -3.0]])
    assert pareto_mask(losses).tolist() == [True, False, True, True]
    assert hypervolume(losses) == pytest.approx(1.0 + 1.0 * 0.25)  # the last point lies beyond the reference
    assert hypervolume_history(losses).tolist() == pytest.approx([1.0, 1.0, 1.25, 1.25])


def test_hypervolume_is_exact_in_three_and_four_objectives():
    """Against inclusion-exclusion over every subset of points (exact, for a handful of points)."""
    from itertools import combinations

    rng = np.random.default_rng(7)
    for d in (3, 4):
        pts = -rng.random((7, d))
        pts[3] = pts[1]                                        # a duplicate counts once
        exact = 0.0
        for k in range(1, len(pts) + 1):
            for subset in combinations(range(len(pts)), k):
                exact += (-1) ** (k + 1) * np.prod(-pts[list(subset)].max(axis=0))
        assert hypervolume(pts) == pytest.approx(exact, rel=1e-12)
    ranks = nondomination_rank(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [0.0, 0.0], [2.0, 0.5]]))
    assert ranks.tolist() == [0, 1, 2, 0, 1]


def test_database_passwords_never_appear_in_what_is_stored_or_printed():
    assert "s3cret" not in redact_url("postgresql://user:s3cret@db.example:5432/runs")
    assert TrialStore.default_url  # sqlite file in the run directory by default


def test_predicted_cpu_latency_is_an_objective_a_search_can_use(tmp_path):
    from latency_predictors.block_lut_predictor import BlockLutPredictor

    space = ArchSpace.resolve("ibn_32_compact")
    archs = [space.sample(np.random.default_rng(i)) for i in range(6)]
    table = BlockLutPredictor(threads=1)
    for a in archs:
        table.extend(a)
    table.fit(archs, [table.unit_sum(a) for a in archs])
    table.save(tmp_path / "block_lut.json")
    objectives = [{"metric": "accuracy"}, {"metric": "predicted_latency_ms", "reference": 20.0}]
    with pytest.raises(ValidationError, match="predicted_latency_ms needs"):
        cheap_config(tmp_path, objectives=objectives)
    cfg = cheap_config(tmp_path, objectives=objectives, budget={"trials": 6},
                       measure={"predictor": str(tmp_path / "block_lut.json")})
    state = run_search(cfg, tmp_path / "run", progress=False)
    rows = [t.metrics for t in state.store.trials() if t.state == "COMPLETE"]
    assert len(rows) == 6 and all(r["predicted_latency_ms"] > 0 for r in rows)
    assert state.front()                                      # the front is over accuracy × predicted latency


def test_a_search_whose_trials_all_fail_alike_stops_with_the_reason_and_still_reports(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CODESIGN_FAULT", "raise:1")            # every candidate raises
    from kill_resume import write_config

    config = write_config(tmp_path / "s.yaml", trials=12)
    run = tmp_path / "run"
    assert main(["search", str(config), "--out", str(run), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "the first 4 trials all failed with the same error" in err and "injected fault" in err
    assert main(["report", str(run)]) == 0                    # a run with no finished trial still renders
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "No trial finished" in page and "injected fault" in page


def test_check_refuses_a_missing_data_path_and_an_accelerator_over_the_area_budget(tmp_path, capsys):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("name: bad\nspace: {arch: ibn_32_compact, hw: nahas_like, phase_accelerator: edge_tpu_like}\n"
                   "mode: phase\ndata: {name: cifar10, path: /does/not/exist}\n"
                   "accuracy: {fidelity: proxy}\nobjectives: [accuracy, latency_ms]\nbudget: {trials: 8}\n")
    assert main(["search", str(cfg), "--check"]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}:data" in err and "/does/not/exist" in err
    assert f"{cfg}:space.phase_accelerator" in err and "mm²" in err and "10 mm² area budget" in err
    assert main(["search", str(cfg), "--out", str(tmp_path / "run")]) == 2
    assert not (tmp_path / "run").exists()                   # a search that cannot start leaves nothing


def test_a_candidate_that_breaks_a_hardware_constraint_is_not_trained_and_the_report_says_so(tmp_path):
    """Area is known before training: a candidate over the budget cannot reach the front, so its
    accuracy is not evaluated (it counts as 0 to the searcher; the table shows none and says why).
    With ``skip_infeasible: false`` the same candidates are scored."""
    def run(name, skip):
        cfg = cheap_config(tmp_path, constraints={"area_mm2": {"max": 6.0}}, budget={"trials": 16},
                           accuracy={"fidelity": "predictor", "samples_file": str(tmp_path / "samples.json"),
                                     "skip_infeasible": skip})
        return run_search(cfg, tmp_path / name, progress=False).trials()

    skipping, scoring = run("skip", True), run("score", False)
    assert [t.candidate for t in skipping] == [t.candidate for t in scoring]  # the searcher is not steered apart
    over = [t for t in skipping if t.metrics["area_mm2"] > 6.0]
    assert over and len(over) < len(skipping)
    for t in over:
        assert "accuracy_s" not in t.timings_s and t.metrics["accuracy"] == 0.0
        assert t.detail["skipped"]["reason"].startswith("area_mm2 = ") and "<= 6.0" in t.detail["skipped"]["reason"]
    assert all("accuracy_s" in t.timings_s and "skipped" not in t.detail for t in skipping if t not in over)
    assert all("accuracy_s" in t.timings_s and t.metrics["accuracy"] > 0 for t in scoring)
    summary = write_summary(tmp_path / "skip")
    assert summary["trials_skipped"] == len(over)
    rows = json.loads((tmp_path / "skip" / "trials.json").read_text())
    assert all(r["accuracy"] is None and "area_mm2" in r["skipped"] for r in rows if r["area_mm2"] > 6.0)
