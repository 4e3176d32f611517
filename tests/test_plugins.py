"""Extending codesign from outside the package: a cost-model backend, a space, a searcher and a
metric, each added from this test module (or an installed entry point) and used by a search end to
end; and the engine's answer to plug-ins that are missing or misbehave."""
from __future__ import annotations

import math
import sys
import textwrap
from dataclasses import replace

import pytest
from search_helpers import cheap_config

from accel_models.analytical_backend import evaluate_analytical
from codesign import (CategoricalSpace, MetricSpec, SearchAborted, Study, ValidationError, register_backend,
                      register_metric, register_space)
from codesign.report import build_report
from codesign.search.loop import run_search
from codesign.search.summary import load_run_trials, write_summary
from codesign.spaces import ArchSpace, HwSpace, JointSpace


def doubled_latency(workload, accel):
    """A user's cost model: the analytical one with twice the latency (a slower target)."""
    rep = evaluate_analytical(workload, accel)
    return replace(rep, backend="doubled", latency_ms=2 * rep.latency_ms)


def test_a_backend_registered_from_a_test_module_scores_every_trial_even_in_worker_processes(tmp_path):
    register_backend("doubled", doubled_latency)
    cfg = cheap_config(tmp_path, hardware={"backend": "doubled"}, budget={"trials": 6},
                       executor={"kind": "pool", "workers": 2})
    study = run_search(cfg, tmp_path / "run", progress=False)
    assert len(study.records) == 6 and all(r.metrics for r in study.records)
    for r in study.records:
        cand = __import__("codesign").Candidate.from_string(r.candidate)
        from codesign.workload import arch_workload

        assert r.metrics["latency_ms"] == pytest.approx(2 * evaluate_analytical(arch_workload(cand.arch), cand.accel).latency_ms)
    out = build_report(tmp_path / "run")
    assert "per-layer terms (doubled)" in open(out["report"], encoding="utf-8").read()


def small_accelerators() -> JointSpace:
    """A user's space: the compact network space on a hardware space cut to 8×8 and 16×16 arrays."""
    hw = HwSpace.resolve("nahas_like")
    fields = [replace(f, options=tuple(o for o in f.options if o in (8, 16))) if f.name in ("pe_rows", "pe_cols")
              else f for f in hw.fields]
    return JointSpace(ArchSpace.resolve("ibn_32_compact"), replace(hw, fields=tuple(fields), name="small"))


def test_a_space_registered_by_name_is_searched_from_a_configuration(tmp_path):
    register_space("small_accelerators", small_accelerators)
    cfg = cheap_config(tmp_path, space={"name": "small_accelerators"}, budget={"trials": 8})
    study = run_search(cfg, tmp_path / "run", progress=False)
    accels = [__import__("codesign").Candidate.from_string(r.candidate).accel for r in study.records]
    assert len(accels) == 8 and all(a.pe_rows in (8, 16) and a.pe_cols in (8, 16) for a in accels)
    assert write_summary(tmp_path / "run")["trials_settled"] == 8
    with pytest.raises(ValidationError, match=r"unknown space `nowhere`.*small_accelerators.*space.name"):
        cheap_config(tmp_path, space={"name": "nowhere"})


@pytest.fixture
def installed_plugins(tmp_path, monkeypatch):
    """A package installed the way pip would: a module and a dist-info with entry points."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "myplugins.py").write_text(textwrap.dedent('''
        from codesign import MetricSpec, Searcher

        class FirstOption(Searcher):
            """Always the first option of every choice, then random: a searcher nobody would ship."""
            name = "first_option"
            def ask(self):
                return self.random_values() if getattr(self, "asked", False) else {c.name: c.options[0] for c in self.choices}
            def tell(self, values, feedback):
                self.asked = True

        TOPS = MetricSpec("tops_per_watt", "maximize", "TOPS/W", "efficiency (TOPS/W)")
        '''))
    dist = tmp_path / "site" / "myplugins-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugins\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[codesign.searchers]\nfirst_option = myplugins:FirstOption\n"
                                           "broken = myplugins:DoesNotExist\n\n"
                                           "[codesign.metrics]\ntops_per_watt = myplugins:TOPS\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    yield
    sys.modules.pop("myplugins", None)


def test_entry_points_named_in_a_configuration_are_found_and_a_broken_one_is_named(tmp_path, installed_plugins):
    from codesign import metric

    cfg = cheap_config(tmp_path, searcher={"name": "first_option", "batch": 2}, budget={"trials": 4})
    study = run_search(cfg, tmp_path / "run", progress=False)
    assert len(study.records) == 4 and study.records[0].index == 0
    assert metric("tops_per_watt").unit == "TOPS/W"
    with pytest.raises(ValidationError, match=r"searcher `broken` = myplugins:DoesNotExist could not be loaded.*entry point codesign.searchers:broken"):
        cheap_config(tmp_path, searcher={"name": "broken"})


def test_a_configuration_naming_an_unknown_plugin_or_option_says_which_and_what_is_known(tmp_path):
    with pytest.raises(ValidationError) as err:
        cheap_config(tmp_path, searcher={"name": "annealer"}, hardware={"backend": "maestro"},
                     objectives=["accuracy", "sram_kib"])
    text = str(err.value)
    assert "searcher.name" in text and "evolution" in text
    assert "hardware.backend" in text and "zigzag" in text
    assert "objectives[1].metric" in text and "latency_ms" in text
    with pytest.raises(ValidationError, match=r"unknown option `populaton`.*population.*searcher.populaton"):
        cheap_config(tmp_path, searcher={"name": "evolution", "populaton": 8})


# ---- the engine with a user's own evaluator -----------------------------------------------------
SPACE = CategoricalSpace({"width": (8, 16, 32), "depth": (1, 2, 3)}, name="toy")


def toy_evaluator(cand):
    w, d = cand["width"], cand["depth"]
    return {"accuracy": 1 - 1 / (w * d), "macs": float(w * w * d)}


def nan_for_wide(cand):
    return {"accuracy": math.nan if cand["width"] == 32 else 0.5, "macs": 1.0}


def undeclared(cand):
    return {"accuracy": 0.5, "macs": 1.0, "sparkle": 3.0}


def test_a_users_evaluator_and_space_run_through_the_engine_and_resume(tmp_path):
    study = Study(SPACE, toy_evaluator, ["accuracy", {"metric": "macs", "reference": 1e4}], searcher="evolution",
                  run_dir=tmp_path / "toy", seed=1, batch=3, searcher_options={"population": 4, "sample": 2})
    first = study.optimize(trials=9)
    assert len(first) == 9 and all(r.feasible for r in first)
    again = Study(SPACE, toy_evaluator, ["accuracy", {"metric": "macs", "reference": 1e4}], searcher="evolution",
                  run_dir=tmp_path / "toy", seed=1, batch=3, searcher_options={"population": 4, "sample": 2})
    more = again.optimize(trials=15)
    assert [r.candidate for r in more[:9]] == [r.candidate for r in first]
    assert len(again.store.trials()) == 15                      # the first nine were replayed, not evaluated again
    assert {r.candidate for r in again.front()} <= {r.candidate for r in more}
    t = load_run_trials(tmp_path / "toy")                      # read back as any run, without the code
    assert [o.metric for o in t.objectives] == ["accuracy", "macs"] and len(t.settled()) == 15
    out = build_report(tmp_path / "toy")
    html = open(out["report"], encoding="utf-8").read()
    assert "MACs" in html and "width=" in html


def test_bad_evaluator_answers_fail_their_trial_with_the_reason_and_the_search_goes_on(tmp_path):
    study = Study(SPACE, nan_for_wide, ["accuracy"], searcher="random", seed=0, batch=4)
    records = study.optimize(trials=12)
    wide = [r for r in records if "width=32" in r.candidate]
    assert wide and all(r.state == "FAIL" and "non-finite" in r.error and "`accuracy`" in r.error for r in wide)
    assert any(r.feasible for r in records) and len(records) == 12
    with pytest.raises(SearchAborted, match="not declared"):
        Study(SPACE, undeclared, ["accuracy"], seed=0).optimize(trials=8)
    register_metric(MetricSpec("sparkle", "maximize", "sparkles", "sparkle"))
    assert all(r.feasible for r in Study(SPACE, undeclared, ["accuracy", "sparkle"], seed=0).optimize(trials=4))


class PickySpace(CategoricalSpace):
    def decode(self, values):
        if values["width"] == 8 and values["depth"] == 3:
            raise ValueError("width 8 cannot be 3 deep")
        return super().decode(values)


def test_a_space_whose_decode_fails_records_a_failed_trial_naming_the_values(tmp_path):
    space = PickySpace({"width": (8, 16, 32), "depth": (1, 2, 3)})
    records = Study(space, toy_evaluator, ["accuracy"], seed=3, batch=6).optimize(trials=30)
    bad = [r for r in records if r.error and "decode failed" in r.error]
    assert bad and all("width=8" in r.candidate and "depth=3" in r.candidate for r in bad)
    assert len(records) == 30 and sum(r.feasible for r in records) == 30 - len(bad)
