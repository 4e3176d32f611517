"""The trial store: an optuna study in an RDB (a SQLite file in the run directory by default, any
SQLAlchemy URL for a shared database).

Each trial carries, as user attributes, ``codesign`` = {index (position in the searcher's
sequence), phase, candidate, values} when it starts and ``result`` = {metrics, flat metrics,
timings, error, feasible, violation, reward} when it ends; its optuna values are the objectives'
raw metric values. A trial left RUNNING by a killed process is marked FAIL with the reason
``interrupted`` when the run resumes, and its index is evaluated again.

**One driver at a time.** A search claims its study (study attribute ``driver``: host, pid and a
heartbeat renewed at most every ``HEARTBEAT_S`` seconds while trials finish). A second driver of a
study whose claim is live is refused, naming the holder: it would otherwise mark the first one's
running trials as interrupted. A claim lapses when its process is gone (same host) or its heartbeat is
older than ``DRIVER_LEASE_S`` seconds (another host), so a killed driver is resumed at once on its
own machine, and after a minute on another one; a driver that ends releases its claim.

**Connection loss.** Every store call is retried with exponential backoff (``RETRY_DELAYS_S``, ~15 s
in all) when the database connection fails; if it does not come back the search stops with a clear
error naming the store (password hidden), and a resume continues from what was stored.
"""
from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState, create_trial

from ..errors import CodesignError, Problem, ValidationError
from ..run import INTERRUPTED, STORE_FILE, Run, TrialRecord, settled_by_index



def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (for logs and reports); everything between the
    user name's ``:`` and the last ``@`` before the path counts as the password."""
    import re

    return re.sub(r"://([^:/@]*):[^/]*@", r"://\1:***@", url)


PASSWORD_VARIABLE = "CODESIGN_DB_PASSWORD"
DRIVER_LEASE_S = 60.0
HEARTBEAT_S = 10.0
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)


def protect_url(url: str) -> str:
    """The URL as written to the run directory: a literal password becomes ``${CODESIGN_DB_PASSWORD}``
    (read from the environment when the run resumes), so no password is ever stored on disk."""
    import re

    return re.sub(r"(://[^:/@]*):(?!\$\{)[^/]*@", r"\1:${" + PASSWORD_VARIABLE + "}@", url)


def expand_url(url: str) -> str:
    """Replace ``${NAME}`` by the environment variable NAME; an unset variable is a clear error."""
    import os
    import re

    def value(m: re.Match) -> str:
        if m.group(1) not in os.environ:
            raise ValidationError(Problem("storage", f"the store URL {redact_url(url)} needs the environment "
                                                     f"variable {m.group(1)} (the database password is never "
                                                     f"written to the run directory)"))
        return os.environ[m.group(1)]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", value, url)


class TrialStore:
    def __init__(self, url: str, study_name: str, directions: list[str] | None = None, create: bool = True):
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        _listen_for_sqlite()
        self.url = url
        self._last_beat: float | None = None  # when this driver last renewed its claim; None: no claim
        try:
            self.storage = (optuna.storages.InMemoryStorage() if url == "memory://" else
                            optuna.storages.RDBStorage(expand_url(url), engine_kwargs=_engine_kwargs(url)))
        except ValidationError:
            raise
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises many types for a bad URL or database
            raise ValidationError(Problem("storage", f"cannot open trial store {redact_url(url)} "
                                                     f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")) from None
        try:
            if create:
                self.study = optuna.create_study(storage=self.storage, study_name=study_name,
                                                 directions=directions, load_if_exists=True)
            else:
                self.study = optuna.load_study(storage=self.storage, study_name=study_name)
        except KeyError:
            raise ValidationError(Problem("storage", f"no study `{study_name}` in {redact_url(url)}")) from None
        self.study_id = self.storage.get_study_id_from_name(study_name)
        self._ids: dict[int, int] = {}
        if directions and [d.name.lower() for d in self.study.directions] != directions:
            raise ValidationError(Problem("objectives", f"the store's study `{study_name}` has directions "
                                                        f"{[d.name.lower() for d in self.study.directions]}, "
                                                        f"this configuration {directions}"))

    @staticmethod
    def default_url(run_dir: Path) -> str:
        return Run(run_dir).store_url

    # ---- writing -------------------------------------------------------------------------------
    def start(self, index: int, phase: str, candidate: str, values: dict[str, Any]) -> int:
        """Record a trial as RUNNING (so a killed search shows it as interrupted); returns its number."""
        tid = self._retry(self.storage.create_new_trial, self.study_id, template_trial=create_trial(
            state=TrialState.RUNNING, user_attrs={"codesign": _meta(index, phase, candidate, values)}))
        number = self._retry(self.storage.get_trial_number_from_id, tid)
        self._ids[number] = tid
        return number

    def finish(self, number: int, result: dict[str, Any], objective_values: list[float] | None,
               pruned_at: int | None = None) -> None:
        """Settle a RUNNING trial: COMPLETE with ``objective_values``, FAIL without, or PRUNED at
        epoch ``pruned_at`` (the first objective's value kept as that epoch's intermediate value)."""
        tid = self._trial_id(number)
        self._retry(self.storage.set_trial_user_attr, tid, "result", _jsonable(result))
        if objective_values is None:
            self._retry(self.storage.set_trial_state_values, tid, TrialState.FAIL)
        elif pruned_at is not None:
            self._retry(self.storage.set_trial_intermediate_value, tid, int(pruned_at), float(objective_values[0]))
            self._retry(self.storage.set_trial_state_values, tid, TrialState.PRUNED)
        else:
            self._retry(self.storage.set_trial_state_values, tid, TrialState.COMPLETE,
                        [float(v) for v in objective_values])
        self.heartbeat()

    def add(self, record: TrialRecord, objective_values: list[float] | None, pruned_at: int | None = None) -> None:
        """Record a finished trial in one write (for trials too quick to be worth a RUNNING mark);
        its trial number is read back with the store's trials. ``pruned_at``: as in :meth:`finish`."""
        ok = objective_values is not None
        state = TrialState.FAIL if not ok else TrialState.PRUNED if pruned_at is not None else TrialState.COMPLETE
        self._retry(self.storage.create_new_trial, self.study_id, template_trial=create_trial(
            state=state, values=[float(v) for v in objective_values] if state == TrialState.COMPLETE else None,
            intermediate_values={int(pruned_at): float(objective_values[0])} if state == TrialState.PRUNED else None,
            user_attrs={"codesign": _meta(record.index, record.phase, record.candidate, record.values),
                        "result": _jsonable(record.result())}))
        self.heartbeat()

    def mark_interrupted(self, trials: list[TrialRecord] | None = None) -> list[TrialRecord]:
        """Fail every RUNNING trial (left by a killed process) with the reason ``interrupted``;
        ``trials`` (this store's, read once by the caller) are updated in place. Returns them all."""
        trials = self.trials() if trials is None else trials
        for t in trials:
            if t.state == "RUNNING":
                self.finish(t.number, {"error": INTERRUPTED}, None)
                t.state, t.error = "FAIL", INTERRUPTED
        return trials

    def set_info(self, key: str, value: Any) -> None:
        self._retry(self.study.set_user_attr, key, _jsonable(value))

    def info(self, key: str, default: Any = None) -> Any:
        return self._retry(lambda: self.study.user_attrs).get(key, default)

    # ---- one driver at a time ----------------------------------------------------------------------
    def claim_driver(self) -> None:
        """Claim the study for this process, or refuse if another live driver holds it."""
        me = _driver_id()
        held = self.info("driver")
        if held and (held.get("host"), held.get("pid")) != (me["host"], me["pid"]):
            age = time.time() - float(held.get("heartbeat") or 0.0)
            gone = held.get("host") == me["host"] and not _pid_alive(int(held.get("pid") or 0))
            if age < DRIVER_LEASE_S and not gone:
                raise ValidationError(Problem("storage", f"study `{self.study.study_name}` in {redact_url(self.url)} "
                                                         f"is being driven by {held.get('host')} pid {held.get('pid')} "
                                                         f"(heartbeat {age:.0f} s ago): a second driver is refused; "
                                                         f"stop that search or wait for it to end (a dead driver's "
                                                         f"claim lapses after {DRIVER_LEASE_S:.0f} s)"))
        self._last_beat = 0.0
        self.heartbeat()

    def heartbeat(self) -> None:
        """Renew this driver's claim (at most every ``HEARTBEAT_S`` seconds)."""
        now = time.time()
        if self._last_beat is None or now - self._last_beat < HEARTBEAT_S:
            return
        self._last_beat = now
        self.set_info("driver", {**_driver_id(), "heartbeat": now})

    def release_driver(self) -> None:
        if self._last_beat is not None:
            self._last_beat = None
            self.set_info("driver", None)

    def _retry(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)``, retried with backoff while the database connection fails."""
        from sqlalchemy.exc import DBAPIError, OperationalError

        for delay in (*RETRY_DELAYS_S, None):
            try:
                return fn(*args, **kwargs)
            except (OperationalError, DBAPIError, optuna.exceptions.StorageInternalError) as exc:
                if not _connection_error(exc) or delay is None:
                    if _connection_error(exc):
                        raise CodesignError(f"lost the connection to the trial store {redact_url(self.url)} and it "
                                            f"did not come back within {sum(RETRY_DELAYS_S):.0f} s "
                                            f"({type(exc).__name__}); every finished trial is stored: resume the "
                                            f"run when the database is back") from None
                    raise
                time.sleep(delay)
        return None

    # ---- reading -------------------------------------------------------------------------------
    def trials(self) -> list[TrialRecord]:
        """Every trial this package recorded, in store order (its ``losses`` are not stored: the
        engine scores ``metrics`` again with the run's objectives)."""
        out = []
        for t in self._retry(self.study.get_trials, deepcopy=False):
            meta = t.user_attrs.get("codesign")
            if meta is None:
                continue
            r = t.user_attrs.get("result", {})
            out.append(TrialRecord(int(meta["index"]), meta["candidate"], meta["phase"], meta["values"], t.state.name,
                                   t.number, r.get("flat"), r.get("metrics"), None, float(r.get("violation") or 0.0),
                                   r.get("reward"), r.get("error"), dict(r.get("timings_s") or {})))
        return out

    def finished_by_index(self) -> dict[int, TrialRecord]:
        """The trial that settled each searcher index (completed, or failed for a reason other than
        an interruption)."""
        return settled_by_index(self.trials())

    def _trial_id(self, number: int) -> int:
        if number not in self._ids:
            self._ids[number] = self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)
        return self._ids[number]


def _meta(index: int, phase: str, candidate: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"index": index, "phase": phase, "candidate": candidate, "values": _jsonable(values)}


def open_run_store(run: Run, directions: list[str] | None = None, create: bool = True) -> TrialStore:
    """The store of ``run`` (creating the run directory and the study when ``create``)."""
    if not create and run.storage is None and not (run.dir / STORE_FILE).is_file():
        raise ValidationError(Problem(str(run.dir), f"not a search run directory (no {STORE_FILE})"))
    if create and run.storage is None:
        run.dir.mkdir(parents=True, exist_ok=True)
    return TrialStore(run.store_url, run.study_name, directions, create=create)


def _engine_kwargs(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60}}
    if url.startswith("postgresql"):  # a dropped connection is noticed (and replaced) before it is used
        return {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    return {"pool_pre_ping": True}


def _driver_id() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) says the database connection failed, not the statement."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    seen = exc
    for _ in range(4):
        if isinstance(seen, DBAPIError) and getattr(seen, "connection_invalidated", False):
            return True
        if isinstance(seen, OperationalError):
            text = str(seen).lower()
            return not ("locked" in text or "syntax" in text)
        seen = seen.__cause__ or seen.__context__
        if seen is None:
            return False
    return False


def _listen_for_sqlite() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _sqlite_wal):
        event.listen(Engine, "connect", _sqlite_wal)


def _sqlite_wal(dbapi_connection, _record) -> None:
    """Write-ahead logging with ``synchronous=NORMAL``: a commit survives a killed process (not a
    power cut), and costs a fraction of a full sync; readers do not block the writer."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=float))
