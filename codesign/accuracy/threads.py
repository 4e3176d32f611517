"""CPU threads: the cores this process may run on, and torch's thread count for a block of work."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask; all cores where there is none)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Run the block with torch's intra-op threads set to ``threads`` (default: the cores this process
    may use), restored afterwards. Inter-op threads are set too where torch still allows it (once per
    process, before any parallel work)."""
    n = threads or available_cores()
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    with contextlib.suppress(RuntimeError):  # "cannot set number of interop threads after parallel work has started"
        torch.set_num_interop_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)
