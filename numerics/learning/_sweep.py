"""The driver of the CNN / LCN / FCN separation sweep: every (arch, d) threshold search, run concurrently, resumable.

n*(d) is the smallest training-set size whose trained model reaches a median-over-seeds relative test error
``test MSE / Var(y) <= tau``; it is found per (arch, d) by :class:`ThresholdSearch` over the points an evaluator
computes (by default :func:`numerics.learning.train_point`), each point stored as it finishes
(:mod:`numerics.learning._store`), and summarised by :mod:`numerics.learning._summary`. The configuration is
:mod:`numerics.learning._config`. Source: Wang & Wu 2023 (arXiv 2305.08404), sample-complexity rates; the protocol
is our reconstruction after Lahoti et al. (ICLR 2024), described in docs/separation.md.
"""

from __future__ import annotations

import importlib
import time
from typing import Any, Callable

from .._errors import NumericsError, bad
from ._config import SweepConfig, upgrade_config
from ._executors import make_executor
from ._plots import write_plots
from ._store import SweepStore
from ._summary import passes, summarize
from ._threshold import ThresholdSearch


def resolve_evaluator(name: str) -> Callable[..., dict]:
    """The function a ``'module:function'`` name denotes."""
    module, _, func = name.partition(":")
    try:
        fn = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as e:
        raise bad("evaluator", name, f"an importable 'module:function' ({e})") from None
    if not callable(fn):
        raise bad("evaluator", name, "a callable")
    return fn


def evaluate_point(config: dict, arch: str, d: int, n: int, device: str, dtype: str) -> dict:
    """Run the configured evaluator on one grid point (the unit of work shipped to a worker)."""
    return resolve_evaluator(config["evaluator"])(config, arch, d, n, device=device, dtype=dtype)


def _check_record(rec: Any, config: SweepConfig, key: tuple[str, int, int]) -> dict:
    """The evaluator's result as a store record, or NumericsError saying what is wrong with it."""
    if not isinstance(rec, dict):
        raise NumericsError(f"evaluator returned {type(rec).__name__}, not a dict")
    if (rec.get("arch"), rec.get("d"), rec.get("n")) != key:
        raise NumericsError(f"evaluator returned arch/d/n {(rec.get('arch'), rec.get('d'), rec.get('n'))} for {key}")
    for name in ("test_rel", "train_rel"):
        v = rec.get(name)
        if (
            not isinstance(v, list)
            or len(v) != len(config.seeds)
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
        ):
            raise NumericsError(f"evaluator returned {name} = {v!r}: need one number per seed ({len(config.seeds)})")
    return rec


def run_separation(
    config: SweepConfig,
    out: Any,
    *,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    progress: bool = True,
    force: bool = False,
    processes: bool = True,
    plots: bool = True,
) -> dict:
    """Run (or resume) a separation sweep into the out directory ``out``; returns the summary.

    Every (arch, d) search runs concurrently: the driver submits each search's next n to the executor, appends
    each finished point to ``points.jsonl`` and feeds the outcome back. Points already in the store are not
    evaluated again (the searches replay them). A point whose evaluation raises is recorded as an error line
    and stops its search with status ``'error'`` (reported in the summary; retried by the next resume).

    Args:
        config: the sweep. out: its results directory (see numerics.learning._store).
        executor, workers, scheduler, processes: see :func:`numerics.learning._executors.make_executor`.
        device: ``'cpu'``, ``'cuda'``, ``'cuda:N'`` or ``'auto'`` (resolved on the worker); dtype: float32 | float64.
        progress: show a tqdm bar: points done / an upper bound on the total (:meth:`ThresholdSearch.remaining_bound`
            summed over the running searches, so the ETA is pessimistic), points running.
        force: discard the results in ``out`` when they were made with a different configuration.
        plots: write the PNGs of numerics.learning._plots into ``out`` (their names go to ``summary["plots"]``).
    Returns:
        ``summarize(...)`` plus ``timings`` (wall seconds, points evaluated and reused, evaluator seconds)
        and ``errors`` (this run's failed points); also written to ``out/summary.json``.
    Raises:
        NumericsError: bad arguments, an out directory holding another configuration (without ``force``).
        OSError: the file system refuses a read or write.
    """
    if not isinstance(config, SweepConfig):
        raise bad("config", config, "a SweepConfig (see separation_config)")
    if dtype not in ("float32", "float64"):
        raise bad("dtype", dtype, "float32 | float64")
    if not isinstance(device, str) or not (device in ("auto", "cpu") or device.startswith("cuda")):
        raise bad("device", device, "'auto', 'cpu', 'cuda' or 'cuda:N'")
    resolve_evaluator(config.evaluator)  # fail early on a bad evaluator name
    t0 = time.perf_counter()
    cfg = config.to_dict()
    store = SweepStore(out, cfg, force=force, upgrade=upgrade_config)
    searches = {
        (a, d): ThresholdSearch(config.n_min, config.n_max, config.search_resolution)
        for a in config.archs
        for d in config.ds
    }
    status: dict[tuple[str, int], dict] = {k: {"status": "running", "censored": None} for k in searches}
    counts = {"evaluated": 0, "reused": 0}
    errors: list[dict] = []
    pending: dict[Any, tuple[str, int, int]] = {}

    def points_left() -> int:
        return sum(searches[k].remaining_bound() for k in searches if status[k]["status"] == "running")

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="separation points (total: at most)", unit="pt", dynamic_ncols=True, total=points_left())

    def advance(key: tuple[str, int], ex: Any) -> None:
        """Replay stored points, then submit the next new one (or mark the search finished)."""
        search = searches[key]
        while (n := search.next_n()) is not None:
            rec = store.points.get((*key, n))
            if rec is None:
                pending[ex.submit(evaluate_point, cfg, key[0], key[1], n, device, dtype)] = (*key, n)
                return
            search.record(n, passes(rec, config.tau))
            counts["reused"] += 1
        status[key] = {"status": "done", "censored": search.censored}

    with make_executor(executor, workers, scheduler, processes=processes) as ex:
        for key in searches:
            advance(key, ex)
        while pending:
            if bar is not None:
                bar.total = bar.n + points_left()
                bar.set_postfix(running=len(pending), reused=counts["reused"], refresh=True)
            for fut in ex.wait_any(pending):
                arch, d, n = pending.pop(fut)
                try:
                    rec = _check_record(fut.result(), config, (arch, d, n))
                except Exception as e:  # noqa: BLE001  any worker failure is recorded and reported
                    errors.append({"arch": arch, "d": d, "n": n, "error": f"{type(e).__name__}: {e}"})
                    store.append(errors[-1])
                    status[(arch, d)] = {"status": "error", "censored": None, "error": errors[-1]["error"]}
                else:
                    store.append(rec)
                    counts["evaluated"] += 1
                    searches[(arch, d)].record(n, passes(rec, config.tau))
                    advance((arch, d), ex)
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.total = bar.n  # the bound was pessimistic: the sweep is done
        bar.refresh()
        bar.close()
    summary = summarize(config, store.points, status)
    seconds = sum(float(r.get("seconds", 0.0)) for r in store.points.values())
    summary["timings"] = {
        "wall_s": time.perf_counter() - t0,
        **counts,
        "evaluator_s_all_points": seconds,
        "executor": executor,
        "device": device,
        "dtype": dtype,
    }
    summary["errors"] = errors
    summary["plots"] = write_plots(summary, store.out) if plots else []
    store.write_summary(summary)
    return summary
