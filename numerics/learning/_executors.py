"""Executors for sweep points: in-process, a local process pool, or a dask.distributed cluster.

One uniform interface (:class:`PointExecutor`): ``submit(fn, *args)`` returns a future, ``wait_any(futures)``
blocks until at least one is finished and returns the finished ones, ``close()`` shuts down what the executor
started. Futures answer ``result()`` (re-raising the worker's exception).

Choices (documented in docs/separation.md):
- ``serial``: runs each point in this process when it is waited for (tests, debugging; a KeyboardInterrupt
  stops it).
- ``local``: ``concurrent.futures.ProcessPoolExecutor`` with the spawn start method (no forked torch or
  CUDA state); default workers = the cores this process may use, each with
  ``torch.set_num_threads(max(1, cores // workers))``: the points of a sweep are many small trainings, which
  scale better across processes than across intra-op threads.
- ``dask``: ``distributed.Client(scheduler)`` for a ``tcp://HOST:PORT`` scheduler, or a ``LocalCluster`` of
  ``workers`` single-threaded workers when no scheduler is given (``processes=False`` keeps them in this
  process: faster to start, what the tests use). The evaluator's module must be importable on the workers.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from typing import Any, Callable, Iterable

from .._errors import bad
from .._threads import set_worker_threads, usable_cores

EXECUTORS = ("local", "serial", "dask")


class PointExecutor:
    """``submit`` / ``wait_any`` / ``close`` over one backend (see :func:`make_executor`)."""

    def __init__(self, kind: str, submit: Callable, wait_any: Callable, close: Callable, workers: int):
        self.kind, self.workers = kind, workers
        self._submit, self._wait_any, self._close = submit, wait_any, close

    def submit(self, fn: Callable, *args: Any) -> Any:
        """Schedule ``fn(*args)``; returns a future with ``result()``."""
        return self._submit(fn, *args)

    def wait_any(self, futures: Iterable[Any]) -> list[Any]:
        """Block until at least one of ``futures`` is finished; return the finished ones."""
        return list(self._wait_any(list(futures)))

    def close(self) -> None:
        """Shut down what this executor started (pools, local clusters, client connections)."""
        self._close()

    def __enter__(self) -> "PointExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serial() -> PointExecutor:
    """Lazy in-process futures: ``wait_any`` runs the oldest pending one, so each result is handled (stored)
    before the next evaluation starts, and an interruption loses no finished point."""
    thunks: dict[cf.Future, tuple] = {}

    def submit(fn: Callable, *args: Any) -> cf.Future:
        fut: cf.Future = cf.Future()
        thunks[fut] = (fn, args)
        return fut

    def wait_any(fs: list[cf.Future]) -> list[cf.Future]:
        done = [f for f in fs if f.done()]
        if done or not fs:
            return done
        fn, args = thunks.pop(fs[0])
        try:
            fs[0].set_result(fn(*args))
        except Exception as e:  # a KeyboardInterrupt is not caught: it stops the run
            fs[0].set_exception(e)
        return [fs[0]]

    return PointExecutor("serial", submit, wait_any, thunks.clear, 1)


def _local(workers: int) -> PointExecutor:
    threads = max(1, usable_cores() // workers)
    pool = cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=set_worker_threads,
        initargs=(threads,),
    )
    return PointExecutor(
        "local",
        pool.submit,
        lambda fs: cf.wait(fs, return_when=cf.FIRST_COMPLETED)[0],
        lambda: pool.shutdown(wait=True, cancel_futures=True),
        workers,
    )


def _dask(workers: int | None, scheduler: str | None, processes: bool) -> PointExecutor:
    import distributed

    cluster = None
    if scheduler is None:
        cluster = distributed.LocalCluster(
            n_workers=workers or usable_cores(), threads_per_worker=1, processes=processes, dashboard_address=None
        )
        client = distributed.Client(cluster)
    else:
        try:
            client = distributed.Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError) as e:
            raise bad("scheduler", scheduler, f"the address of a reachable dask scheduler ({e})") from None

    def close() -> None:
        client.close()
        if cluster is not None:
            cluster.close()

    def wait_any(fs: list) -> Any:
        return distributed.wait(fs, return_when="FIRST_COMPLETED").done

    n = workers if scheduler is None else len(client.scheduler_info().get("workers", {}))
    return PointExecutor(
        "dask", lambda fn, *args: client.submit(fn, *args, pure=False), wait_any, close, n or usable_cores()
    )


def make_executor(
    kind: str = "local", workers: int | None = None, scheduler: str | None = None, *, processes: bool = True
) -> PointExecutor:
    """An executor for sweep points.

    Args:
        kind: ``'local'`` (process pool), ``'serial'`` (in-process) or ``'dask'``.
        workers: processes (local) or LocalCluster workers (dask without scheduler); default: usable cores.
        scheduler: ``tcp://HOST:PORT`` of a running dask scheduler (dask only).
        processes: LocalCluster workers in separate processes (default) or threads of this one.

    Raises:
        NumericsError: unknown ``kind``, ``workers`` < 1, ``scheduler`` without dask or not reachable.
    """
    if kind not in EXECUTORS:
        raise bad("executor", kind, " | ".join(EXECUTORS))
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise bad("workers", workers, "an int >= 1 or None (the usable cores)")
    if scheduler is not None:
        if kind != "dask":
            raise bad("scheduler", scheduler, f"only with executor 'dask' (executor is {kind!r})")
        if not isinstance(scheduler, str) or "://" not in scheduler:
            raise bad("scheduler", scheduler, "an address such as tcp://HOST:8786")
    if kind == "serial":
        return _serial()
    if kind == "local":
        return _local(workers or usable_cores())
    return _dask(workers, scheduler, processes)
