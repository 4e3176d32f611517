"""The trial store: an optuna study in an RDB (a SQLite file in the run directory by default, any
SQLAlchemy URL for a shared database).

Each trial carries, as user attributes, ``codesign`` = {index (position in the searcher's
sequence), phase, candidate, values} when it starts and ``result`` = {metrics, flat metrics,
timings, error, feasible, violation, reward} when it ends; its optuna values are the objectives'
raw metric values. A trial left RUNNING by a killed process is marked FAIL with the reason
``interrupted`` when the run resumes, and its index is evaluated again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from ..errors import Problem, ValidationError

INTERRUPTED = "interrupted: the search process stopped while this trial ran; retried on resume"


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (for logs and reports); everything between the
    user name's ``:`` and the last ``@`` before the path counts as the password."""
    import re

    return re.sub(r"://([^:/@]*):[^/]*@", r"://\1:***@", url)


PASSWORD_VARIABLE = "CODESIGN_DB_PASSWORD"


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


@dataclass(frozen=True)
class StoredTrial:
    number: int
    index: int
    phase: str
    candidate: str
    values: dict[str, Any]
    state: str  # COMPLETE | FAIL | RUNNING
    result: dict[str, Any]
    objective_values: list[float] | None

    @property
    def error(self) -> str | None:
        return self.result.get("error")

    @property
    def settled(self) -> bool:
        """Counts towards the budget: completed, or failed for a reason other than an interruption."""
        return self.state == "COMPLETE" or (self.state == "FAIL" and bool(self.error) and self.error != INTERRUPTED)


class TrialStore:
    def __init__(self, url: str, study_name: str, directions: list[str] | None = None, create: bool = True):
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.url = url
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
        if directions and [d.name.lower() for d in self.study.directions] != directions:
            raise ValidationError(Problem("objectives", f"the store's study `{study_name}` has directions "
                                                        f"{[d.name.lower() for d in self.study.directions]}, "
                                                        f"this configuration {directions}"))

    @staticmethod
    def default_url(run_dir: Path) -> str:
        return f"sqlite:///{(run_dir / 'study.db').resolve()}"

    # ---- writing -------------------------------------------------------------------------------
    def start(self, index: int, phase: str, candidate: str, values: dict[str, Any]) -> int:
        trial = self.study.ask()
        trial.set_user_attr("codesign", {"index": index, "phase": phase, "candidate": candidate,
                                         "values": _jsonable(values)})
        return trial.number

    def finish(self, number: int, result: dict[str, Any], objective_values: list[float] | None) -> None:
        self.storage.set_trial_user_attr(self._trial_id(number), "result", _jsonable(result))
        if objective_values is None:
            self.study.tell(number, state=TrialState.FAIL)
        else:
            self.study.tell(number, objective_values)

    def mark_interrupted(self) -> list[int]:
        """Fail every RUNNING trial (left by a killed process); returns their numbers."""
        numbers = [t.number for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
        for n in numbers:
            self.storage.set_trial_user_attr(self._trial_id(n), "result", {"error": INTERRUPTED})
            self.study.tell(n, state=TrialState.FAIL)
        return numbers

    def set_info(self, key: str, value: Any) -> None:
        self.study.set_user_attr(key, _jsonable(value))

    def info(self, key: str, default: Any = None) -> Any:
        return self.study.user_attrs.get(key, default)

    # ---- reading -------------------------------------------------------------------------------
    def trials(self) -> list[StoredTrial]:
        out = []
        for t in self.study.get_trials(deepcopy=False):
            meta = t.user_attrs.get("codesign")
            if meta is None:
                continue
            out.append(StoredTrial(t.number, int(meta["index"]), meta["phase"], meta["candidate"], meta["values"],
                                   t.state.name, t.user_attrs.get("result", {}),
                                   list(t.values) if t.values is not None else None))
        return out

    def finished_by_index(self) -> dict[int, StoredTrial]:
        """The trial that settled each searcher index (completed, or failed for a reason other than
        an interruption)."""
        return {t.index: t for t in self.trials() if t.settled}

    def _trial_id(self, number: int) -> int:
        return self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)


def _engine_kwargs(url: str) -> dict[str, Any]:
    return {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=float))
