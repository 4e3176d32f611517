"""Running one evaluation so that nothing it does stops the search: ``run_evaluator`` is what every
executor calls, in this process or in a worker. It never raises for a failing candidate: the
exception (or out-of-memory) comes back as the trial's error, with the evaluator's answer otherwise
as a plain dict ``{flat, metrics, timings_s, error}`` (``flat``: metric name → value; ``metrics``:
the evaluator's detail record)."""
from __future__ import annotations

import os
import signal
import time
import traceback
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import CodesignError
from ..protocols import Evaluation


def failed(reason: str, worker_died: bool = False) -> dict[str, Any]:
    """A failed trial's result; ``worker_died``: the process running it died (the executor runs it
    once more before recording the failure)."""
    out = {"flat": None, "metrics": None, "timings_s": {}, "error": reason}
    if worker_died:
        out["worker_died"] = True
    return out


def injected_fault(candidate: str) -> None:
    """Testing hook: ``CODESIGN_FAULT=KIND:N[,KIND:N…]`` makes every candidate whose CRC-32 is divisible
    by N raise (``raise``), hang (``hang``), exhaust memory (``oom``), kill its own worker process with
    SIGKILL (``die``; ``die_once``: only the first time, remembered as a file in the directory
    ``CODESIGN_FAULT_STATE``) or take 0.1 s longer (``delay``, to give kill tests a search slow enough
    to interrupt), to exercise trial isolation and resume; with several entries the first that
    matches applies."""
    spec = os.environ.get("CODESIGN_FAULT")
    if not spec:
        return
    crc = zlib.crc32(candidate.encode())
    for entry in spec.split(","):
        kind, _, n = entry.strip().partition(":")
        if crc % max(int(n or 1), 1) == 0:
            break
    else:
        return
    if kind == "raise":
        raise RuntimeError("injected fault (CODESIGN_FAULT)")
    if kind == "hang":
        time.sleep(3600)
    if kind == "delay":
        time.sleep(0.1)
    if kind == "die" or (kind == "die_once" and _first_time(candidate)):
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "oom":
        hog = []
        while True:
            hog.append(bytearray(256 * 1024 * 1024))


def _first_time(candidate: str) -> bool:
    marker = Path(os.environ.get("CODESIGN_FAULT_STATE", ".")) / f"died-{zlib.crc32(candidate.encode()):08x}"
    if marker.exists():
        return False
    marker.touch()
    return True


def run_evaluator(evaluator: Any, candidate: Any, key: str) -> dict[str, Any]:
    """``evaluator(candidate)`` as a plain result dict; never raises for a failing candidate."""
    try:
        injected_fault(key)
        start = time.perf_counter()
        answer = evaluator(candidate)
        seconds = time.perf_counter() - start
        if isinstance(answer, Evaluation):
            return {"flat": dict(answer.metrics), "metrics": answer.detail,
                    "timings_s": dict(answer.timings_s) or {"evaluate_s": seconds}, "error": None}
        if isinstance(answer, Mapping):
            return {"flat": dict(answer), "metrics": None, "timings_s": {"evaluate_s": seconds}, "error": None}
        return failed(f"the evaluator {type(evaluator).__name__} returned a {type(answer).__name__}; expected a "
                      "mapping of metric name to value or an Evaluation")
    except CodesignError as exc:
        return failed(f"{type(exc).__name__}: {exc}")
    except MemoryError:
        return failed("MemoryError: out of memory")
    except RuntimeError as exc:
        if "can't allocate memory" in str(exc) or "out of memory" in str(exc).lower():
            return failed(f"out of memory: {str(exc)[:300]}")
        return _failure(exc)
    except Exception as exc:  # noqa: BLE001 - a failing trial is recorded, the search goes on
        return _failure(exc)


def _failure(exc: BaseException) -> dict[str, Any]:
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return failed(f"{type(exc).__name__}: {exc}\n{''.join(tb[-2:])}")
