"""The options of :func:`numerics.check_at_scale` as one frozen, self-validating record: :class:`ScaleOptions`.

``check_at_scale(net, target, box, samples=10**7, certify=True)`` and
``check_at_scale(net, target, box, options=ScaleOptions(samples=10**7, certify=True))`` are the same call: the
keywords are the record's fields, and :func:`scale_options` builds the one record the run reads (keywords given
beside ``options`` replace its fields). Every field is checked when the record is made, with the messages the
run itself gives (``argument 'samples': got 0; allowed: an int >= 1 and < 2**63``), before anything is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, TypedDict

import numpy as np
import torch

from theory.cli import MAX_SECONDS, plan_samples

from .._errors import NumericsError, bad
from ..convert import resolve_device, resolve_dtype
from ._engine import DEFAULT_BUDGET, PATHS, check_count
from ._meters import Progress, check_progress


@dataclass(frozen=True)
class ScaleOptions:
    """How :func:`numerics.check_at_scale` samples, searches and certifies (the defaults are the function's).

    Attributes:
        samples: uniform samples of the box, an int in ``[1, 2**63)`` (integral floats such as ``1e7`` are
            stored as ints). device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a
            ``torch.device``, kept as given (``"auto"`` is resolved when the run starts). dtype: the float dtype
            of the sampled network (a name such as ``"float32"`` is stored as the ``torch.dtype``).
        seed: every random choice derives from it (an int >= 0). memory_budget: bytes the run may allocate (an
            int >= 1; its batches are sized to fill it). path: one of :data:`PATHS` (see
            :func:`numerics.evaluate_at_scale`).
        certify: also run :func:`theory.certify_sup_error` (when no certificate is given), within
            ``time_limit_s`` seconds (a number >= 0) and ``max_work`` boxes refined (None: no work budget; an int
            >= 1 stops it at the same point on every machine).
        search_steps: projected-ascent steps per round (>= 1); restarts: further rounds (>= 0); candidates: the
            worst samples the search starts from (>= 1); full_rows: samples cross-checked on a second path (>= 0).
        progress: None (a bar on stderr when it is a terminal), True / False (the bar always / never), or a
            callable receiving ``{"samples_done", "samples", "seconds"}`` after every batch (no bar).
        max_seconds: refuse a sampling run estimated to take longer (a positive number); force: sample anyway.
    Raises:
        NumericsError: naming the first bad field, in the order the run checks them: samples, max_seconds, force
            (with the estimate ``samples / 1e9`` s against ``max_seconds``), search_steps, restarts, candidates,
            full_rows, dtype, device, seed, memory_budget, path, certify, time_limit_s, max_work, progress.
    """

    samples: int = 10**6
    device: str | torch.device = "auto"
    dtype: torch.dtype | str = torch.float32
    seed: int = 0
    memory_budget: int = DEFAULT_BUDGET
    path: str = "auto"
    certify: bool = False
    time_limit_s: float = 30.0
    search_steps: int = 200
    restarts: int = 4
    candidates: int = 16
    full_rows: int = 4
    progress: Progress = None
    max_seconds: float = MAX_SECONDS
    force: bool = False
    max_work: int | None = None

    def __post_init__(self) -> None:
        samples, _ = plan_samples("check_at_scale", self.samples, self.max_seconds, self.force, error=NumericsError)
        set_ = object.__setattr__
        set_(self, "samples", samples)
        set_(self, "max_seconds", float(self.max_seconds))
        set_(self, "force", bool(self.force))
        for name, lo in (("search_steps", 1), ("restarts", 0), ("candidates", 1), ("full_rows", 0)):
            set_(self, name, check_count(name, getattr(self, name), lo))
        set_(self, "dtype", resolve_dtype(self.dtype))
        resolve_device(self.device)
        set_(self, "seed", check_count("seed", self.seed, 0))
        set_(self, "memory_budget", check_count("memory_budget", self.memory_budget, 1))
        if not isinstance(self.path, str) or self.path not in PATHS:
            raise bad("path", self.path, f"one of {PATHS}")
        if not isinstance(self.certify, (bool, np.bool_)):
            raise bad("certify", self.certify, "True or False")
        set_(self, "certify", bool(self.certify))
        t = self.time_limit_s
        if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, float)) or not t >= 0:
            raise bad("time_limit_s", t, "a finite number >= 0")  # theory.certify_sup_error's rule and words
        w = self.max_work
        if w is not None and (isinstance(w, (bool, np.bool_)) or not isinstance(w, (int, np.integer)) or w < 1):
            raise bad("max_work", w, "None or an int >= 1 (units of work: boxes taken to be refined)")  # theirs
        set_(self, "max_work", None if w is None else int(w))
        check_progress(self.progress)

    @property
    def sampling_limit(self) -> float | None:
        """The time budget of the sampling loop: ``max_seconds``, or None when ``force``."""
        return None if self.force else self.max_seconds


class ScaleOverrides(TypedDict, total=False):
    """The fields of :class:`ScaleOptions` as keywords of :func:`numerics.check_at_scale` (for type checkers)."""

    samples: int
    device: str | torch.device
    dtype: torch.dtype | str
    seed: int
    memory_budget: int
    path: str
    certify: bool
    time_limit_s: float
    search_steps: int
    restarts: int
    candidates: int
    full_rows: int
    progress: Progress
    max_seconds: float
    force: bool
    max_work: int | None


FIELDS = tuple(f.name for f in fields(ScaleOptions))
"""The names of :class:`ScaleOptions`' fields, the keywords :func:`numerics.check_at_scale` takes beside its inputs."""


def scale_options(
    options: ScaleOptions | None, overrides: Mapping[str, Any], *, what: str = "check_at_scale"
) -> ScaleOptions:
    """The record a run reads: ``options`` (default: :class:`ScaleOptions`'s defaults) with ``overrides`` replacing
    its fields.

    Raises:
        TypeError: a keyword that is no field (worded as Python words an unexpected keyword of ``what``).
        NumericsError: ``options`` not a :class:`ScaleOptions`, or a bad field value (:class:`ScaleOptions`).
    """
    if options is not None and not isinstance(options, ScaleOptions):
        raise bad("options", options, "a numerics.ScaleOptions record, or None")
    unknown = [k for k in overrides if k not in FIELDS]
    if unknown:
        raise TypeError(f"{what}() got an unexpected keyword argument {unknown[0]!r}")
    if options is None:
        return ScaleOptions(**overrides)
    return replace(options, **overrides) if overrides else options
