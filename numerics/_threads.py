"""Cores and torch intra-op threads: the cores this process may use, the thread count of a worker process, and
temporary thread counts for loops of tiny tensor operations."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch

from ._errors import bad


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def set_worker_threads(threads: int) -> None:
    """Initializer of a worker process: ``threads`` torch intra-op threads (a module-level function, so it
    pickles for ``spawn`` pools).

    Raises:
        NumericsError: unless ``threads`` is an int >= 1.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise bad("threads", threads, "an int >= 1")
    torch.set_num_threads(threads)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with ``n`` torch intra-op threads, restoring the previous number afterwards.

    For loops of tiny tensor ops (small trainings, exact-form checks): intra-op threads cannot split such work, and
    on a loaded 2-core machine their spin-waiting made steps 10-40x slower in our measurements.

    Raises:
        NumericsError: unless ``n`` is an int >= 1.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise bad("threads", n, "an int >= 1")
    old = torch.get_num_threads()
    if n != old:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)
