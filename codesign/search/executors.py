"""Where trials run: ``inline`` (this process), ``pool`` (local worker processes) or ``ray`` (a Ray
cluster, local or at ``address``). All three take a batch of tasks and call ``on_done(i, result)``
as each finishes; the loop tells the searcher in task order afterwards, so the same seed gives the
same trials whichever executor runs them.

Isolation: a task that raises comes back as a failed result with its reason (``run_evaluator``
never raises); one that runs past ``timeout_s`` is stopped (inline: SIGALRM; pool: its worker
processes are killed and the pool restarted; ray: the task is cancelled) and recorded as timed
out; a worker that dies (killed, out of memory) fails only the task it was running, which runs once more (a second death is
recorded as the trial's failure) — the pool's other tasks run again, untouched. With
``memory_mb`` the pool's workers run under that address-space limit, so a runaway allocation
raises ``MemoryError`` in the worker instead of taking the machine down.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from ..errors import Problem, ValidationError
from .isolation import failed, run_evaluator


MAX_WORKER_DEATHS = 2  # a trial whose worker dies this many times is recorded as failed


@dataclass(frozen=True)
class ExecutorConfig:
    """``kind``: inline | pool | ray; ``workers`` in flight; ``address`` of a Ray cluster;
    ``timeout_s`` per trial; ``memory_mb``: address-space limit of each pool worker;
    ``resources_per_trial``: Ray resources of one trial, ``{"cpu": N, "gpu": F}`` (default 1 CPU)."""

    kind: str = "inline"
    workers: int = 2
    address: str | None = None
    timeout_s: float = 600.0
    memory_mb: int | None = None
    resources_per_trial: tuple[tuple[str, float], ...] | None = None


Task = tuple[Any, Any, str]  # (evaluator, candidate, candidate key)
OnDone = Callable[[int, dict[str, Any]], None]


def _timed_out(seconds: float, timeout_s: float) -> dict[str, Any]:
    return failed(f"timed out after {seconds:.1f} s (timeout_s {timeout_s:g})")


class InlineExecutor:
    def __init__(self, cfg: ExecutorConfig):
        self.timeout_s = cfg.timeout_s

    def run(self, tasks: list[Task], on_done: OnDone) -> None:
        for i, task in enumerate(tasks):
            on_done(i, self._one(task))

    def _one(self, task: Task) -> dict[str, Any]:
        if threading.current_thread() is not threading.main_thread():
            return run_evaluator(*task)

        def alarm(signum, frame):
            raise TimeoutError

        old = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, self.timeout_s)
        start = time.perf_counter()
        try:
            return run_evaluator(*task)
        except TimeoutError:
            return _timed_out(time.perf_counter() - start, self.timeout_s)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)

    def close(self) -> None:
        pass


_STARTS = None  # in a pool worker: the queue telling the driver which process runs which task


def _worker_init(memory_mb: int | None, starts=None) -> None:
    import torch

    global _STARTS
    _STARTS = starts
    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_mb:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class _BoundedExecutor:
    """The loop the pool and Ray share: at most ``workers`` tasks in flight, so a task's submit
    time is its start time; finished tasks are reported, late ones failed as timed out. Subclasses
    say how to submit, wait, fetch a result and stop late tasks."""

    def __init__(self, cfg: ExecutorConfig):
        self.cfg = cfg

    def _submit(self, task: Task) -> Any:
        raise NotImplementedError

    def _ready(self, handles: list[Any]) -> list[Any]:
        """Handles that finished, waiting up to ~0.5 s for one."""
        raise NotImplementedError

    def _result(self, handle: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _stop(self, late: list[Any], running: dict[Any, tuple[int, float]]) -> list[int]:
        """Stop the ``late`` tasks (already removed from ``running``); return the indices of other
        tasks that must run again."""
        raise NotImplementedError

    def run(self, tasks: list[Task], on_done: OnDone) -> None:
        queue = list(range(len(tasks)))
        running: dict[Any, tuple[int, float]] = {}
        deaths: dict[int, int] = {}
        while queue or running:
            while queue and len(running) < self.cfg.workers:
                i = queue.pop(0)
                running[self._submit(tasks[i])] = (i, time.monotonic())
            for handle in self._ready(list(running)):
                i, _start = running.pop(handle)
                result = self._result(handle)
                if result.pop("innocent", False):
                    queue.insert(0, i)  # stopped with a pool another task broke: run it again
                    continue
                if result.pop("worker_died", False):
                    deaths[i] = deaths.get(i, 0) + 1
                    if deaths[i] < MAX_WORKER_DEATHS:
                        queue.insert(0, i)  # its worker died under it: run it once more
                        continue
                    result["error"] += f" ({deaths[i]} times)"
                on_done(i, result)
            now = time.monotonic()
            late = [h for h, (_, start) in running.items() if now - start > self.cfg.timeout_s]
            for h in late:
                i, start = running.pop(h)
                on_done(i, _timed_out(now - start, self.cfg.timeout_s))
            queue = self._stop(late, running) + queue


def _run_tracked(token: int, *task) -> dict[str, Any]:
    """``run_evaluator(*task)`` in a pool worker, first telling the driver this process runs ``token``."""
    if _STARTS is not None:
        _STARTS.put((token, os.getpid()))
    return run_evaluator(*task)


class PoolExecutor(_BoundedExecutor):
    """Local worker processes (spawned). A late task, or a worker that died, takes the pool down:
    its processes are killed, the pool restarts and the innocent tasks run again."""

    def __init__(self, cfg: ExecutorConfig):
        super().__init__(cfg)
        self.pool: ProcessPoolExecutor | None = None
        self.broken = False
        self._tokens = iter(range(1 << 62))
        self._token_of: dict[Any, int] = {}
        self._pid_of: dict[int, int] = {}
        self._starts = None

    def _pool(self) -> ProcessPoolExecutor:
        if self.pool is None:
            import multiprocessing as mp

            ctx = mp.get_context("spawn")
            self._starts = ctx.SimpleQueue()
            self.pool = ProcessPoolExecutor(self.cfg.workers, mp_context=ctx, initializer=_worker_init,
                                            initargs=(self.cfg.memory_mb, self._starts))
        return self.pool

    def _submit(self, task: Task) -> Any:
        pool = self._pool()
        token = next(self._tokens)
        try:
            handle = pool.submit(_run_tracked, token, *task)
        except BrokenProcessPool:  # a worker died since the last result: restart, innocent tasks run again
            self.broken = True
            handle = self._dead_future()
        self._token_of[handle] = token
        return handle

    @staticmethod
    def _dead_future():
        from concurrent.futures import Future

        f: Future = Future()
        f.set_exception(BrokenProcessPool("submitted to a broken pool"))
        return f

    def _killed_here(self, handle: Any) -> bool:
        """Whether the worker that ran ``handle``'s task was killed (not just stopped with its broken
        pool); unknown counts as killed."""
        self._read_starts()
        pid = self._pid_of.get(self._token_of.get(handle, -1))
        procs = getattr(self.pool, "_processes", None) or {}
        if pid is None or pid not in procs:
            return pid is not None
        code = procs[pid].exitcode
        return code is not None and code not in (0, -signal.SIGTERM)

    def _read_starts(self) -> None:
        """Which process started which task, as the workers told. Read on every wait: a worker
        blocks on a full pipe (~64 KiB, some 2,700 tasks) until the driver reads it."""
        while self._starts is not None and not self._starts.empty():
            token, pid = self._starts.get()
            self._pid_of[token] = pid

    def _ready(self, handles: list[Any]) -> list[Any]:
        self._read_starts()
        return list(wait(handles, timeout=0.5, return_when=FIRST_COMPLETED)[0])

    def _result(self, handle: Any) -> dict[str, Any]:
        try:
            return handle.result()
        except BrokenProcessPool:
            self.broken = True
            if not self._killed_here(handle):
                return {**failed("its pool broke"), "innocent": True}
            return failed("worker process died (killed, crashed or out of memory)", worker_died=True)
        finally:
            self._pid_of.pop(self._token_of.pop(handle, -1), None)

    def _stop(self, late: list[Any], running: dict[Any, tuple[int, float]]) -> list[int]:
        if not (late or self.broken):
            return []
        innocent = [i for i, _ in running.values()]
        running.clear()
        self._kill()
        self.broken = False
        return innocent

    def _kill(self) -> None:
        if self.pool is not None:
            for p in list(getattr(self.pool, "_processes", {}).values()):
                p.kill()
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


class RayExecutor(_BoundedExecutor):
    """Plain Ray tasks (no Tune): ``resources_per_trial`` each (default one CPU), no automatic
    retries (a task whose worker died runs once more, as in the pool), cancelled on timeout. A Ray
    address that does not answer, or a request no node of the cluster can meet, is refused before any
    trial runs, naming the field."""

    def __init__(self, cfg: ExecutorConfig):
        import ray

        super().__init__(cfg)
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        self.started = False
        if not ray.is_initialized():
            if cfg.address:
                _check_answers(cfg.address)
                try:
                    ray.init(address=cfg.address, include_dashboard=False, log_to_driver=False)
                except Exception as exc:  # noqa: BLE001 - ConnectionError, RuntimeError, ValueError…
                    raise ValidationError(Problem("executor.address", f"no Ray cluster answers at {cfg.address} "
                                                                      f"({type(exc).__name__}: "
                                                                      f"{str(exc).splitlines()[0][:200]})")) from None
            else:
                # a private local cluster listens on the loopback interface only
                ray.init(address="local", num_cpus=cfg.workers, include_dashboard=False, log_to_driver=False,
                         _node_ip_address="127.0.0.1")
                self.started = True
        want = dict(cfg.resources_per_trial or (("cpu", 1.0),))
        cpu, gpu = float(want.get("cpu", 1.0)), float(want.get("gpu", 0.0))
        nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
        if not any(r.get("CPU", 0) >= cpu and r.get("GPU", 0) >= gpu for r in nodes):
            have = [{"cpu": r.get("CPU", 0), "gpu": r.get("GPU", 0)} for r in nodes]
            self.close()
            raise ValidationError(Problem("executor.resources_per_trial",
                                          f"no node of the Ray cluster has cpu {cpu:g} and gpu {gpu:g} for one trial "
                                          f"(nodes: {have})"))
        self.remote = ray.remote(num_cpus=cpu, num_gpus=gpu, max_retries=0)(run_evaluator)

    def _submit(self, task: Task) -> Any:
        return self.remote.remote(*task)

    def _ready(self, handles: list[Any]) -> list[Any]:
        import ray

        return ray.wait(handles, num_returns=1, timeout=0.5)[0]

    def _result(self, handle: Any) -> dict[str, Any]:
        import ray

        from ray.exceptions import NodeDiedError, OutOfMemoryError, WorkerCrashedError

        try:
            return ray.get(handle)
        except Exception as exc:  # noqa: BLE001 - worker crash, OOM kill, cancellation
            died = isinstance(exc, (WorkerCrashedError, NodeDiedError, OutOfMemoryError))
            return failed(f"ray task failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}", worker_died=died)

    def _stop(self, late: list[Any], running: dict[Any, tuple[int, float]]) -> list[int]:
        import ray

        for ref in late:
            ray.cancel(ref, force=True)
        return []

    def close(self) -> None:
        import ray

        if self.started and ray.is_initialized():
            ray.shutdown()


def _check_answers(address: str, timeout_s: float = 5.0) -> None:
    """A ``HOST:PORT`` (or ``ray://HOST:PORT``) Ray address must accept a TCP connection within
    ``timeout_s``; Ray itself retries a dead address for minutes."""
    import re
    import socket

    m = re.match(r"^(?:ray://)?\[?([^\]]+?)\]?:(\d+)$", address)
    if not m:
        return  # "auto" and other forms Ray resolves itself
    try:
        with socket.create_connection((m.group(1), int(m.group(2))), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ValidationError(Problem("executor.address", f"no Ray cluster answers at {address} "
                                                          f"({type(exc).__name__}: {exc})")) from None


EXECUTORS = {"inline": InlineExecutor, "pool": PoolExecutor, "ray": RayExecutor}


def make_executor(executor: Any = "inline"):
    """An executor from its kind (``inline``, ``pool``, ``ray``), an :class:`ExecutorConfig`, or an
    object that already has ``run(tasks, on_done)`` and ``close()`` (returned as is)."""
    if isinstance(executor, str):
        executor = ExecutorConfig(kind=executor)
    if isinstance(executor, ExecutorConfig):
        return EXECUTORS[executor.kind](executor)
    if callable(getattr(executor, "run", None)) and callable(getattr(executor, "close", None)):
        return executor
    raise TypeError(f"executor: expected 'inline', 'pool', 'ray', an ExecutorConfig or an object with run() and "
                    f"close(), got {executor!r}")
