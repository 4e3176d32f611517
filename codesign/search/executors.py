"""Where trials run: ``inline`` (this process), ``pool`` (local worker processes) or ``ray`` (a Ray
cluster, local or at ``address``). All three take a batch of tasks and call ``on_done(i, result)``
as each finishes; the loop tells the searcher in task order afterwards, so the same seed gives the
same trials whichever executor runs them.

Isolation: a task that raises comes back as a failed result with its reason (``evaluate_trial``
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
from typing import Any

from .config import ExecutorConfig
from .evaluator import evaluate_trial

Task = tuple[dict[str, Any], str, str]  # (config dict, run directory, candidate string)
OnDone = Callable[[int, dict[str, Any]], None]


def failed(reason: str) -> dict[str, Any]:
    return {"metrics": None, "timings_s": {}, "error": reason}


class InlineExecutor:
    def __init__(self, cfg: ExecutorConfig):
        self.timeout_s = cfg.timeout_s

    def run(self, tasks: list[Task], on_done: OnDone) -> None:
        for i, task in enumerate(tasks):
            on_done(i, self._one(task))

    def _one(self, task: Task) -> dict[str, Any]:
        if threading.current_thread() is not threading.main_thread():
            return evaluate_trial(*task)

        def alarm(signum, frame):
            raise TimeoutError

        old = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, self.timeout_s)
        start = time.perf_counter()
        try:
            return evaluate_trial(*task)
        except TimeoutError:
            return failed(f"timed out after {time.perf_counter() - start:.1f} s (timeout_s {self.timeout_s:g})")
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


class PoolExecutor:
    """At most ``workers`` tasks are submitted at once, so a task's submit time is its start time."""

    def __init__(self, cfg: ExecutorConfig):
        self.cfg = cfg
        self.pool: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self.pool is None:
            import multiprocessing as mp

            self.pool = ProcessPoolExecutor(self.cfg.workers, mp_context=mp.get_context("spawn"),
                                            initializer=_worker_init, initargs=(self.cfg.memory_mb,))
        return self.pool

    def _kill(self) -> None:
        if self.pool is not None:
            for p in list(getattr(self.pool, "_processes", {}).values()):
                p.kill()
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None

    def run(self, tasks: list[Task], on_done: OnDone) -> None:
        queue = list(range(len(tasks)))
        running: dict[Any, tuple[int, float]] = {}
        while queue or running:
            while queue and len(running) < self.cfg.workers:
                i = queue.pop(0)
                running[self._pool().submit(evaluate_trial, *tasks[i])] = (i, time.monotonic())
            done, _ = wait(list(running), timeout=0.5, return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                i, _start = running.pop(fut)
                try:
                    on_done(i, fut.result())
                except BrokenProcessPool:
                    broken = True
                    on_done(i, failed("worker process died (killed, crashed or out of memory)"))
            now = time.monotonic()
            late = [f for f, (_, start) in running.items() if now - start > self.cfg.timeout_s]
            if late or broken:
                for fut in late:
                    i, start = running.pop(fut)
                    on_done(i, failed(f"timed out after {now - start:.1f} s (timeout_s {self.cfg.timeout_s:g})"))
                queue = [i for i, _ in running.values()] + queue  # innocent tasks run again
                running.clear()
                self._kill()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


class RayExecutor:
    """Plain Ray tasks (no Tune): one CPU each, no automatic retries, cancelled on timeout."""

    def __init__(self, cfg: ExecutorConfig):
        import ray

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        self.cfg = cfg
        self.started = False
        if not ray.is_initialized():
            if cfg.address:
                ray.init(address=cfg.address, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address="local", num_cpus=cfg.workers, include_dashboard=False, log_to_driver=False)
                self.started = True
        self.remote = ray.remote(num_cpus=1, max_retries=0)(evaluate_trial)

    def run(self, tasks: list[Task], on_done: OnDone) -> None:
        import ray

        queue = list(range(len(tasks)))
        running: dict[Any, tuple[int, float]] = {}
        while queue or running:
            while queue and len(running) < self.cfg.workers:
                i = queue.pop(0)
                running[self.remote.remote(*tasks[i])] = (i, time.monotonic())
            ready, _ = ray.wait(list(running), num_returns=1, timeout=0.5)
            for ref in ready:
                i, _start = running.pop(ref)
                try:
                    on_done(i, ray.get(ref))
                except Exception as exc:  # noqa: BLE001 - worker crash, OOM kill, cancellation
                    on_done(i, failed(f"ray task failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"))
            now = time.monotonic()
            for ref in [r for r, (_, start) in running.items() if now - start > self.cfg.timeout_s]:
                i, start = running.pop(ref)
                ray.cancel(ref, force=True)
                on_done(i, failed(f"timed out after {now - start:.1f} s (timeout_s {self.cfg.timeout_s:g})"))

    def close(self) -> None:
        import ray

        if self.started and ray.is_initialized():
            ray.shutdown()


def make_executor(cfg: ExecutorConfig):
    return {"inline": InlineExecutor, "pool": PoolExecutor, "ray": RayExecutor}[cfg.kind](cfg)
