"""The CNN / LCN / FCN separation sweep: configuration, the driver over all (arch, d) searches, the summary.

n*(d) is the smallest training-set size whose trained model reaches a median-over-seeds relative test error
``test MSE / Var(y) <= tau``; it is found per (arch, d) by :class:`ThresholdSearch` and fitted by
:mod:`numerics.learning._fit`. Source: Wang & Wu 2023 (arXiv 2305.08404), sample-complexity
rates; the protocol is our reconstruction after Lahoti et al. (ICLR 2024), described in docs/separation.md.
"""

from __future__ import annotations

import importlib
import math
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Mapping


from .._errors import NumericsError, bad
from ._executors import make_executor
from ._fit import bootstrap_fit, interpolate_n_star, log2_fit, median_error, ratio_fit
from ._nstar import fit_n_star
from ._threshold import ThresholdSearch
from ._plots import write_plots
from ._store import SweepStore
from ._optim import PROTOCOL_DEFAULTS, check_protocol, describe_protocol
from ._tasks import TASKS
from ._tree import ARCHS

PROFILES = ("quick", "full")
STRIDES = (2, 3, 4)
"""Kernel = stride values of the sweep's trees (``train['s']``): d must be a power of it."""
DEFAULT_EVALUATOR = "numerics.learning:train_point"
MOVED_EVALUATORS = {"numerics._train:train_point": DEFAULT_EVALUATOR}
"""Evaluator names stored by earlier versions (private module paths) -> their public names, so an old sweep's
``config.json`` still loads and resumes."""
_PLAIN = (int, float, str, bool, type(None))


def _plain(value: Any) -> bool:
    """JSON-plain: a number, string, bool, None, or a list / tuple of those."""
    if isinstance(value, (list, tuple)):
        return all(isinstance(v, _PLAIN) for v in value)
    return isinstance(value, _PLAIN) and not (isinstance(value, float) and not math.isfinite(value))


def _ints(value: Any, arg: str, lo: int, allowed: str) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or not value or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= lo for v in value):
        raise bad(arg, value, allowed)
    return tuple(value)


@dataclass(frozen=True)
class SweepConfig:
    """Everything that determines a separation sweep's results (saved as ``config.json``).

    Attributes:
        task: one of ``sparse``, ``patch-quadratic``, ``halves`` (numerics.learning._tasks).
        archs: architectures, a subset of ``cnn``, ``lcn``, ``fcn`` in any order.
        ds: input sizes, powers of the kernel ``s = train['s']`` (default 2), >= s^2, increasing (and sizes the
            task takes: numerics.learning._tasks.Task).
        seeds: seed labels (distinct ints >= 0); each is one training set and initialisation.
        lrs: learning-rate grid (positive); the evaluator picks the best per seed on validation.
        tau: pass threshold on the median relative test error, in (0, 1).
        n_min, n_max: the search range of n; resolution: relative stopping width (0: exact bisection).
        train: training settings for the evaluator (plain values: width, max_steps, patience, ...). For the
            default evaluator this is the training protocol: absent keys of :data:`PROTOCOL_DEFAULTS` are filled
            in (so the store records them) and every value is validated (``s`` in :data:`STRIDES`, the
            optimizer, weight decay, batch size, initialisation: :func:`check_protocol`).
        task_options: task settings for the evaluator (plain values: g, support, noise).
        bootstrap_reps: seed-bootstrap replicates for the confidence intervals (>= 1).
        seed: the sweep's seed (data, initialisation, bootstrap).
        evaluator: ``'module:function'`` called as ``f(config_dict, arch, d, n, device=, dtype=)``.
        fit_d_min: fits use only d >= fit_d_min (the declared window; 0: all d).
        stop_ratio: the bisection stops once its bracket has ``hi / lo <= stop_ratio`` (> 1; 2.0: right after
            the geometric phase), n* then fitted on the error curve (numerics.learning._nstar); None: stop at
            ``1 + resolution``, the rule of stores written before this field (:func:`upgrade_config`).
    Raises:
        NumericsError: naming the first bad field.
    """

    task: str
    ds: tuple[int, ...]
    archs: tuple[str, ...] = ARCHS
    seeds: tuple[int, ...] = (0, 1, 2)
    lrs: tuple[float, ...] = (0.01, 0.03, 0.1)
    tau: float = 0.1
    n_min: int = 8
    n_max: int = 4096
    resolution: float = 0.1
    train: Mapping[str, Any] = field(default_factory=dict)
    task_options: Mapping[str, Any] = field(default_factory=dict)
    bootstrap_reps: int = 1000
    seed: int = 0
    evaluator: str = DEFAULT_EVALUATOR
    fit_d_min: int = 0
    stop_ratio: float | None = 2.0

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise bad("task", self.task, " | ".join(TASKS))
        s = self.train.get("s", 2) if isinstance(self.train, Mapping) else 2
        if s not in STRIDES or isinstance(s, bool):
            raise bad("train['s']", s, f"a kernel = stride in {STRIDES}")
        ds = _ints(self.ds, "ds", s * s, f"a non-empty sequence of powers of s = {s}, >= {s * s}")
        if any(s ** round(math.log(d, s)) != d for d in ds) or list(ds) != sorted(set(ds)):
            raise bad("ds", self.ds, f"distinct powers of s = {s}, >= {s * s}, in increasing order")
        if not isinstance(self.archs, (list, tuple)) or not self.archs or not set(self.archs) <= set(ARCHS) \
                or len(set(self.archs)) != len(self.archs):
            raise bad("archs", self.archs, f"distinct names from {ARCHS}")
        seeds = _ints(self.seeds, "seeds", 0, "a non-empty sequence of distinct ints >= 0")
        if len(set(seeds)) != len(seeds):
            raise bad("seeds", self.seeds, "distinct ints >= 0")
        if not isinstance(self.lrs, (list, tuple)) or not self.lrs or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
                for v in self.lrs):
            raise bad("lrs", self.lrs, "a non-empty sequence of finite positive numbers")
        if not isinstance(self.tau, (int, float)) or isinstance(self.tau, bool) or not 0 < self.tau < 1:
            raise bad("tau", self.tau, "a number in (0, 1)")
        ThresholdSearch(self.n_min, self.n_max, self.resolution)  # validates the search range
        for name in ("train", "task_options"):
            value = getattr(self, name)
            if not isinstance(value, Mapping) or not all(isinstance(k, str) and _plain(v) for k, v in value.items()):
                raise bad(name, value, "a mapping of str to plain values (numbers, strings, bools, None, lists)")
        if isinstance(self.bootstrap_reps, bool) or not isinstance(self.bootstrap_reps, int) or self.bootstrap_reps < 1:
            raise bad("bootstrap_reps", self.bootstrap_reps, "an int >= 1")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise bad("seed", self.seed, "an int")
        if not isinstance(self.evaluator, str) or self.evaluator.count(":") != 1:
            raise bad("evaluator", self.evaluator, "'module:function', e.g. " + DEFAULT_EVALUATOR)
        object.__setattr__(self, "evaluator", MOVED_EVALUATORS.get(self.evaluator, self.evaluator))
        if isinstance(self.fit_d_min, bool) or not isinstance(self.fit_d_min, int) or self.fit_d_min < 0:
            raise bad("fit_d_min", self.fit_d_min, "an int >= 0")
        for name in ("ds", "archs", "seeds"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "lrs", tuple(float(v) for v in self.lrs))
        object.__setattr__(self, "tau", float(self.tau))
        object.__setattr__(self, "resolution", float(self.resolution))
        if self.stop_ratio is not None:
            if isinstance(self.stop_ratio, bool) or not isinstance(self.stop_ratio, (int, float)) or not (
                    math.isfinite(self.stop_ratio) and self.stop_ratio > 1):
                raise bad("stop_ratio", self.stop_ratio, "a finite number > 1, or None (stop at 1 + resolution)")
            object.__setattr__(self, "stop_ratio", float(self.stop_ratio))
        for name in ("train", "task_options"):
            object.__setattr__(self, name, {k: list(v) if isinstance(v, tuple) else v
                                            for k, v in getattr(self, name).items()})
        if self.evaluator == DEFAULT_EVALUATOR:
            object.__setattr__(self, "train", {**PROTOCOL_DEFAULTS, **self.train})
            check_protocol(self.train, self.task, self.ds)

    @property
    def search_resolution(self) -> float:
        """The :class:`ThresholdSearch` resolution: ``stop_ratio - 1``, or ``resolution`` when stop_ratio is None."""
        return self.resolution if self.stop_ratio is None else self.stop_ratio - 1

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able plain dict (tuples as lists) the evaluator receives and ``config.json`` holds."""
        out = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SweepConfig":
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: tuple(v) if k in ("ds", "archs", "seeds", "lrs") else v for k, v in data.items()})


_TRAIN = {"quick": dict(s=2, width=8, head_width=16, head_layers=1, max_steps=400, eval_every=20, patience=6,
                        momentum=0.9, optimizer="adam-tensor", weight_decay=0.0, batch_size=None, init_scale=1.0,
                        readout_init="zero", n_val=256, n_test=1024),
          "full": dict(s=2, width=8, head_width=16, head_layers=1, max_steps=2000, eval_every=20, patience=10,
                       momentum=0.9, optimizer="adam-tensor", weight_decay=0.0, batch_size=None, init_scale=1.0,
                       readout_init="zero", n_val=1024, n_test=4096)}
"""Training per profile: the same tree (8 channels, a 16-unit head) in both, so quick is a cut-down full run.
Chosen on a pilot of the patch-quadratic task (d in 8..32, n in 64..4096): 8 channels is the narrowest whose
training error falls below 0.02 Var(y) at every d; the per-tensor Adam of numerics.learning._train trains the deep narrow
trees where plain GD stalls; lr 0.03 and 0.1 were the ones picked by validation in that pilot."""


def separation_config(task: str, profile: str = "quick", **overrides: Any) -> SweepConfig:
    """The sweep of a profile (``'quick'``: d in 8, 16, 32, 3 seeds, 2 learning rates, n <= 2048; ``'full'``:
    d in 8 .. 256 fitted over d >= 16, 5 seeds, 3 learning rates, n <= 2^17).

    ``overrides`` replace fields of :class:`SweepConfig`; ``train`` overrides are merged into the profile's
    training settings (:data:`_TRAIN`).
    """
    if profile not in PROFILES:
        raise bad("profile", profile, " | ".join(PROFILES))
    base = SweepConfig(task, ds=(8, 16, 32), lrs=(0.03, 0.1), train=_TRAIN["quick"], n_min=32, n_max=2048,
                       resolution=0.5, bootstrap_reps=500) \
        if profile == "quick" else \
        SweepConfig(task, ds=(8, 16, 32, 64, 128, 256), seeds=(0, 1, 2, 3, 4), lrs=(0.01, 0.03, 0.1),
                    train=_TRAIN["full"], n_min=32, n_max=2**17, resolution=0.1, fit_d_min=16)
    unknown = set(overrides) - set(asdict(base))
    if unknown:
        raise bad("overrides", sorted(unknown), f"fields of SweepConfig: {sorted(asdict(base))}")
    if "train" in overrides:
        overrides["train"] = {**base.train, **overrides["train"]}
    return replace(base, **overrides)


def upgrade_config(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A ``config.json`` written by an earlier version in today's form (moved evaluator paths renamed, fields
    added since then at their defaults, protocol keys of ``train`` absent then at :data:`PROTOCOL_DEFAULTS`, the
    values those stores ran with, ``stop_ratio`` None: their bisection stopped at ``1 + resolution``), so its sweep
    resumes with identical results.

    Raises:
        NumericsError, TypeError: when ``stored`` is not a sweep configuration.
    """
    return SweepConfig.from_dict({"stop_ratio": None, **stored}).to_dict()  # before stop_ratio: 1 + resolution


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
        if not isinstance(v, list) or len(v) != len(config.seeds) or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
            raise NumericsError(f"evaluator returned {name} = {v!r}: need one number per seed ({len(config.seeds)})")
    return rec


def passes(rec: Mapping[str, Any], tau: float) -> bool:
    """The pass criterion: median over seeds of the relative test error <= tau."""
    return median_error(rec["test_rel"]) <= tau


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _fit_or_error(fn: Callable[..., dict], *args: Any) -> dict:
    try:
        return fn(*args)
    except NumericsError as e:
        return {"error": str(e)}


def summarize(config: SweepConfig, points: Mapping[tuple[str, int, int], dict],
              status: Mapping[tuple[str, int], dict]) -> dict:
    """The sweep summary from the stored points and each search's final state (see :func:`run_separation`)."""
    archs: dict[str, Any] = {}
    curves: dict[str, dict[int, list]] = {}
    for a_idx, arch in enumerate(config.archs):
        per_d, curves[arch], excluded = [], {}, []
        for d in config.ds:
            recs = sorted((r for (a, dd, _), r in points.items() if a == arch and dd == d), key=lambda r: r["n"])
            table = [{"n": r["n"], "median_test": median_error(r["test_rel"]),
                      "median_train": median_error(r["train_rel"]), "test_rel": r["test_rel"],
                      "train_rel": r["train_rel"], "lr": r.get("lr"), "passed": passes(r, config.tau)} for r in recs]
            interp, grid = interpolate_n_star([t["n"] for t in table], [t["median_test"] for t in table], config.tau)
            at = next((t for t in table if t["n"] == grid), None)
            st = status[(arch, d)]
            star = fit_n_star([t["n"] for t in table], [t["test_rel"] for t in table], config.tau,
                              reps=config.bootstrap_reps, seed=config.seed + 1000 * a_idx, d=d).to_dict() \
                if table else {"n_star_fit": None, "n_star_ci": None, "bracket": None}
            per_d.append({"d": d, "n_star": grid, "n_star_interp": interp, **star, "censored": st["censored"],
                          "status": st["status"], "error": st.get("error"),
                          "median_test_at_n_star": at and at["median_test"],
                          "median_train_at_n_star": at and at["median_train"], "points": table})
            reason = ("below fit_d_min" if d < config.fit_d_min else "error" if st["status"] == "error" else
                      "censored below (n_min passed: n* is only an upper bound)" if st["censored"] == "below" else None)
            if reason is None:  # censored above: no n* reached, so bootstrap_fit lists it among censored_ds
                curves[arch][d] = [(t["n"], t["test_rel"]) for t in table]
            else:
                excluded.append([d, reason])
        fit = _fit_or_error(bootstrap_fit, curves[arch], config.tau, config.bootstrap_reps, config.seed + 1000 * a_idx)
        archs[arch] = {"per_d": per_d, "fit": {**fit, "excluded_ds": excluded}}
    extra: dict[str, Any] = {}
    if "cnn" in archs and "error" not in archs["cnn"]["fit"]:
        extra["cnn_log2"] = _fit_or_error(log2_fit, archs["cnn"]["fit"]["ds"], archs["cnn"]["fit"]["n_stars"])
    for num, den in (("lcn", "cnn"), ("fcn", "lcn")):
        if num in curves and den in curves:
            extra.setdefault("ratios", {})[f"{num}/{den}"] = _fit_or_error(
                ratio_fit, curves[num], curves[den], config.tau, config.bootstrap_reps, config.seed + 7)
    return _finite({"config": config.to_dict(), "protocol": describe_protocol(config.train), "archs": archs,
                    **extra})


def run_separation(config: SweepConfig, out: Any, *, executor: str = "local", workers: int | None = None,
                   scheduler: str | None = None, device: str = "cpu", dtype: str = "float32",
                   progress: bool = True, force: bool = False, processes: bool = True, plots: bool = True) -> dict:
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
    searches = {(a, d): ThresholdSearch(config.n_min, config.n_max, config.search_resolution)
                for a in config.archs for d in config.ds}
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
    summary["timings"] = {"wall_s": time.perf_counter() - t0, **counts, "evaluator_s_all_points": seconds,
                          "executor": executor, "device": device, "dtype": dtype}
    summary["errors"] = errors
    summary["plots"] = write_plots(summary, store.out) if plots else []
    store.write_summary(summary)
    return summary
