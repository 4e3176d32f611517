"""A shared PostgreSQL trial store, against a real server the tests start on loopback: the same search
gives the same trials as on SQLite, a second driver is refused while the first is alive, a lost
connection stops the search with a clear error and nothing lost, and no password is written."""
from __future__ import annotations

import json
import os

import pytest

from codesign import CategoricalSpace, Study
from codesign.errors import CodesignError, ValidationError
from codesign.search import store as store_mod
from codesign.testing import TOY_OBJECTIVES, TOY_SPACE, toy_evaluator

from postgres_server import PASSWORD, PostgresServer

def study(run_dir, storage=None, name="pg", searcher="evolution") -> Study:
    return Study(CategoricalSpace(TOY_SPACE), toy_evaluator, TOY_OBJECTIVES,
                 searcher=searcher, run_dir=run_dir, storage=storage, name=name, seed=4, batch=4,
                 searcher_options={"population": 8, "sample": 3})


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer()
    why = server.why_not()
    if why:
        pytest.skip(f"no PostgreSQL server for these tests: {why}")
    server.start()
    yield server
    server.stop()


def _trials(s: Study) -> list[tuple]:
    return [(r.index, r.candidate, r.state, json.dumps(r.metrics, sort_keys=True)) for r in s.trials()]


def test_the_same_search_on_sqlite_and_postgresql_gives_the_same_trials(postgres, tmp_path):
    lite = study(tmp_path / "lite")
    lite.optimize(trials=24)
    pg = study(tmp_path / "pg", storage=postgres.url(), name="same")
    pg.optimize(trials=24)
    assert _trials(pg) == _trials(lite) and len(_trials(pg)) == 24
    again = study(tmp_path / "pg", storage=postgres.url(), name="same")   # a resume from the database
    again.optimize(trials=32)
    assert _trials(again)[:24] == _trials(lite)
    written = "".join(p.read_text(errors="ignore") for p in (tmp_path / "pg").rglob("*") if p.is_file())
    assert PASSWORD not in written


def test_a_second_driver_is_refused_while_the_first_is_alive(postgres, tmp_path):
    first = study(tmp_path / "a", storage=postgres.url(), name="driven")
    first.optimize(trials=4)
    first.store.claim_driver()       # as if its search were still going: claimed, heartbeat fresh
    first.store.set_info("driver", {"host": "other-host", "pid": 4242, "heartbeat": __import__("time").time()})
    second = study(tmp_path / "b", storage=postgres.url(), name="driven")
    with pytest.raises(ValidationError, match="being driven by other-host pid 4242.*second driver is refused"):
        second.optimize(trials=8)
    assert len(second.trials()) == 4                                   # nothing touched
    # a killed driver on this machine: its claim lapses at once
    first.store.set_info("driver", {"host": store_mod.socket.gethostname(), "pid": 2**22 + 7, "heartbeat": 1e18})
    second.optimize(trials=8)
    assert len(second.trials()) == 8 and second.store.info("driver") is None


def test_a_lost_database_stops_the_search_with_a_clear_error_and_loses_nothing(postgres, tmp_path, monkeypatch):
    monkeypatch.setattr(store_mod, "RETRY_DELAYS_S", (0.1, 0.2))
    s = study(tmp_path / "lost", storage=postgres.url(), name="lost")
    s.optimize(trials=8)
    postgres.halt()
    try:
        with pytest.raises(CodesignError, match=r"lost the connection to the trial store postgresql://codesign:\*\*\*@"):
            s.optimize(trials=16)
    finally:
        postgres.restart()
    resumed = study(tmp_path / "lost", storage=postgres.url(), name="lost")
    resumed.optimize(trials=16)
    states = [r.state for r in resumed.trials()]
    assert states.count("COMPLETE") == 16


def test_a_wrong_or_unreachable_database_url_is_refused_before_any_trial(postgres, tmp_path):
    with pytest.raises(ValidationError, match=r"cannot open trial store postgresql://codesign:\*\*\*@") as err:
        study(tmp_path / "w", storage=postgres.url(password="wrong"), name="w").optimize(trials=2)
    assert "wrong" not in str(err.value)
    with pytest.raises(ValidationError, match="cannot open trial store"):
        study(tmp_path / "u", storage="postgresql://codesign:x@127.0.0.1:9/none", name="u").optimize(trials=2)
    assert os.environ.get("CODESIGN_DB_PASSWORD") is None
