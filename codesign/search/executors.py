"""Where trials run: ``inline`` (this process), ``pool`` (local worker processes) or ``ray`` (a Ray
cluster, local or at ``address``). All three take a batch of tasks and call ``on_done(i, result)``
as each finishes; the loop tells the searcher in task order afterwards, so the same seed gives the
same trials whichever executor runs them.

Isolation: a task that raises comes back as a failed result with its reason (``run_evaluator``
never raises); one that runs past ``timeout_s`` is stopped (inline: SIGALRM; pool: its worker
processes are killed and the pool restarted; ray: the task is cancelled) and recorded as timed
out; a worker that dies (killed, out of memory) fails the task it was running. With
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

from .isolation import failed, run_evaluator


@dataclass(frozen=True)
class ExecutorConfig:
    """``kind``: inline | pool | ray; ``workers`` in flight; ``address`` of a Ray cluster;
    ``timeout_s`` per trial; ``memory_mb``: address-space limit of each pool worker."""

    kind: str = "inline"
    workers: int = 2
    address: str | None = None
    timeout_s: float = 600.0
    memory_mb: int | None = None


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


def _worker_init(memory_mb: int | None) -> None:
    import torch

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
        while queue or running:
            while queue and len(running) < self.cfg.workers:
                i = queue.pop(0)
                running[self._submit(tasks[i])] = (i, time.monotonic())
            for handle in self._ready(list(running)):
                i, _start = running.pop(handle)
                on_done(i, self._result(handle))
            now = time.monotonic()
            late = [h for h, (_, start) in running.items() if now - start > self.cfg.timeout_s]
            for h in late:
                i, start = running.pop(h)
                on_done(i, _timed_out(now - start, self.cfg.timeout_s))
            queue = self._stop(late, running) + queue


class PoolExecutor(_BoundedExecutor):
    """Local worker processes (spawned). A late task, or a worker that died, takes the pool down:
    its processes are killed, the pool restarts and the innocent tasks run again."""

    def __init__(self, cfg: ExecutorConfig):
        super().__init__(cfg)
        self.pool: ProcessPoolExecutor | None = None
        self.broken = False

    def _pool(self) -> ProcessPoolExecutor:
        if self.pool is None:
            import multiprocessing as mp

            self.pool = ProcessPoolExecutor(self.cfg.workers, mp_context=mp.get_context("spawn"),
                                            initializer=_worker_init, initargs=(self.cfg.memory_mb,))
        return self.pool

    def _submit(self, task: Task) -> Any:
        return self._pool().submit(run_evaluator, *task)

    def _ready(self, handles: list[Any]) -> list[Any]:
        return list(wait(handles, timeout=0.5, return_when=FIRST_COMPLETED)[0])

    def _result(self, handle: Any) -> dict[str, Any]:
        try:
            return handle.result()
        except BrokenProcessPool:
            self.broken = True
            return failed("worker process died (killed, crashed or out of memory)")

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
    """Plain Ray tasks (no Tune): one CPU each, no automatic retries, cancelled on timeout."""

    def __init__(self, cfg: ExecutorConfig):
        import ray

        super().__init__(cfg)
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        self.started = False
        if not ray.is_initialized():
            if cfg.address:
                ray.init(address=cfg.address, include_dashboard=False, log_to_driver=False)
            else:
                # a private local cluster listens on the loopback interface only
                ray.init(address="local", num_cpus=cfg.workers, include_dashboard=False, log_to_driver=False,
                         _node_ip_address="127.0.0.1")
                self.started = True
        self.remote = ray.remote(num_cpus=1, max_retries=0)(run_evaluator)

    def _submit(self, task: Task) -> Any:
        return self.remote.remote(*task)

    def _ready(self, handles: list[Any]) -> list[Any]:
        import ray

        return ray.wait(handles, num_returns=1, timeout=0.5)[0]

    def _result(self, handle: Any) -> dict[str, Any]:
        import ray

        try:
            return ray.get(handle)
        except Exception as exc:  # noqa: BLE001 - worker crash, OOM kill, cancellation
            return failed(f"ray task failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")

    def _stop(self, late: list[Any], running: dict[Any, tuple[int, float]]) -> list[int]:
        import ray

        for ref in late:
            ray.cancel(ref, force=True)
        return []

    def close(self) -> None:
        import ray

        if self.started and ray.is_initialized():
            ray.shutdown()


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
