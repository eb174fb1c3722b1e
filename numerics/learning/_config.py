"""The configuration of a separation sweep: the :class:`SweepConfig` record, its profiles and its stored form.

Everything that determines a sweep's results is one frozen, self-validating :class:`SweepConfig` (saved as the
store's ``config.json``); :func:`separation_config` gives the ``quick`` and ``full`` profiles with overrides, and
:func:`upgrade_config` reads a ``config.json`` written by an earlier version so its sweep resumes unchanged. The
driver is :mod:`numerics.learning._sweep`, the summary :mod:`numerics.learning._summary`. Source: Wang & Wu 2023
(arXiv 2305.08404); the protocol is our reconstruction after Lahoti et al. (ICLR 2024), docs/separation.md.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Mapping

from .._errors import bad
from ._optim import PROTOCOL_DEFAULTS, check_protocol
from ._tasks import TASKS
from ._threshold import ThresholdSearch
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
    if (
        not isinstance(value, (list, tuple))
        or not value
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= lo for v in value)
    ):
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
        if (
            not isinstance(self.archs, (list, tuple))
            or not self.archs
            or not set(self.archs) <= set(ARCHS)
            or len(set(self.archs)) != len(self.archs)
        ):
            raise bad("archs", self.archs, f"distinct names from {ARCHS}")
        seeds = _ints(self.seeds, "seeds", 0, "a non-empty sequence of distinct ints >= 0")
        if len(set(seeds)) != len(seeds):
            raise bad("seeds", self.seeds, "distinct ints >= 0")
        if (
            not isinstance(self.lrs, (list, tuple))
            or not self.lrs
            or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in self.lrs
            )
        ):
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
            if (
                isinstance(self.stop_ratio, bool)
                or not isinstance(self.stop_ratio, (int, float))
                or not (math.isfinite(self.stop_ratio) and self.stop_ratio > 1)
            ):
                raise bad("stop_ratio", self.stop_ratio, "a finite number > 1, or None (stop at 1 + resolution)")
            object.__setattr__(self, "stop_ratio", float(self.stop_ratio))
        for name in ("train", "task_options"):
            object.__setattr__(
                self, name, {k: list(v) if isinstance(v, tuple) else v for k, v in getattr(self, name).items()}
            )
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
        kwargs: dict[str, Any] = {k: tuple(v) if k in ("ds", "archs", "seeds", "lrs") else v for k, v in data.items()}
        return cls(**kwargs)


_TRAIN = {
    "quick": dict(
        s=2,
        width=8,
        head_width=16,
        head_layers=1,
        max_steps=400,
        eval_every=20,
        patience=6,
        momentum=0.9,
        optimizer="adam-tensor",
        weight_decay=0.0,
        batch_size=None,
        init_scale=1.0,
        readout_init="zero",
        n_val=256,
        n_test=1024,
    ),
    "full": dict(
        s=2,
        width=8,
        head_width=16,
        head_layers=1,
        max_steps=2000,
        eval_every=20,
        patience=10,
        momentum=0.9,
        optimizer="adam-tensor",
        weight_decay=0.0,
        batch_size=None,
        init_scale=1.0,
        readout_init="zero",
        n_val=1024,
        n_test=4096,
    ),
}
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
    base = (
        SweepConfig(
            task,
            ds=(8, 16, 32),
            lrs=(0.03, 0.1),
            train=_TRAIN["quick"],
            n_min=32,
            n_max=2048,
            resolution=0.5,
            bootstrap_reps=500,
        )
        if profile == "quick"
        else SweepConfig(
            task,
            ds=(8, 16, 32, 64, 128, 256),
            seeds=(0, 1, 2, 3, 4),
            lrs=(0.01, 0.03, 0.1),
            train=_TRAIN["full"],
            n_min=32,
            n_max=2**17,
            resolution=0.1,
            fit_d_min=16,
        )
    )
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
