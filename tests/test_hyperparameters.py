"""Training hyperparameters as a third part of the joint space (AutoHAS): declared in YAML, searched
by every searcher, used by proxy training and by the one-shot searcher's supernet steps."""
from __future__ import annotations

import pytest

from codesign.candidate import Candidate
from codesign.errors import ValidationError
from codesign.search.config import SearchConfig
from codesign.search.loop import joint_space, run_search

HP = {"lr": [0.001, 0.01], "weight_decay": [0.0, 0.01], "label_smoothing": 0.1, "augment": [True, False]}


def config(hp=HP, accuracy=None, searcher=None, **extra) -> SearchConfig:
    doc = SearchConfig.from_yaml("examples/smoke.yaml").to_dict()
    doc["data"] = {"name": "synthetic", "seed": 0}
    doc["space"]["hp"] = hp
    doc["accuracy"] = accuracy or {"fidelity": "proxy", "train": {"epochs": 1, "batch_size": 64}}
    doc["searcher"] = searcher or {"name": "evolution", "batch": 4, "population": 4, "sample": 2}
    doc["budget"] = {"trials": 4}
    doc["measure"] = {"runtime": "none"}
    return SearchConfig.from_dict({**doc, **extra})


def test_the_hp_part_adds_searchable_choices_and_a_key_that_reads_back():
    cfg = config()
    joint = joint_space(cfg)
    names = [c.name for c in joint.choices() if c.name.startswith("hp.")]
    assert names == ["hp.lr", "hp.weight_decay", "hp.augment"]          # label_smoothing is fixed
    values = {c.name: c.options[-1] for c in joint.choices()}
    cand = joint.decode(values)
    assert cand.key.endswith("@hp:lr=0.01,weight_decay=0.01,label_smoothing=0.1,augment=false")
    assert Candidate.from_string(cand.key) == cand
    assert SearchConfig.from_dict(cfg.to_dict()).hp_space == cfg.hp_space  # saved with the run, read back


def test_proxy_training_uses_each_candidates_hyperparameters(tmp_path, monkeypatch):
    from codesign.accuracy import sources

    recipes = []
    real = sources.train

    def spy(model, data, cfg, *args, **kwargs):
        recipes.append(cfg)
        return real(model, data, cfg, *args, **kwargs)

    monkeypatch.setattr(sources, "train", spy)
    state = run_search(config(constraints={"area_mm2": {"max": 1000.0}}), tmp_path / "run", progress=False)
    assert len(recipes) == 4  # every candidate fits the area budget, so every one is trained
    for rec, recipe in zip(state.records, recipes):
        hp = Candidate.from_string(rec.candidate).hp.as_dict()
        assert (recipe.lr, recipe.weight_decay, recipe.augment, recipe.label_smoothing) == \
            (hp["lr"], hp["weight_decay"], hp["augment"], 0.1)


def test_the_oneshot_searcher_trains_the_supernet_under_the_sampled_hyperparameters(tmp_path, monkeypatch, smoke_run):
    from codesign.search.oneshot_context import OneShotContext

    seen = []
    real = OneShotContext.train_step

    def spy(self, arch, hp=None):
        loss = real(self, arch, hp)
        seen.append((hp.as_dict()["lr"], self.opt.param_groups[0]["lr"]))
        return loss

    monkeypatch.setattr(OneShotContext, "train_step", spy)
    cfg = config(accuracy={"fidelity": "supernet", "checkpoint": str(smoke_run / "supernet.pt")},
                 searcher={"name": "oneshot", "batch": 4, "steps": 8, "candidates": 4})
    state = run_search(cfg, tmp_path / "run", progress=False)
    assert len(state.records) == 4 and all("@hp:" in r.candidate for r in state.records)
    assert {lr for lr, _ in seen} == {0.001, 0.01}
    assert all(group_lr == pytest.approx(lr * 0.1) for lr, group_lr in seen)


@pytest.mark.parametrize("hp, accuracy, field, message", [
    (HP, {"fidelity": "supernet"}, "space.hp", "nothing would train with these hyperparameters"),
    ({"lr": [0.01, -1]}, None, r"space.hp.lr\[1\]", ""),
    ({"dropout": [0.1, 0.2]}, None, "space.hp", "dropout"),
    ({}, None, "space.hp", "at least one"),
])
def test_a_bad_hp_part_is_named(hp, accuracy, field, message):
    with pytest.raises(ValidationError, match=field) as err:
        config(hp, accuracy)
    assert message in str(err.value)
