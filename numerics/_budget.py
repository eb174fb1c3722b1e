"""Memory and time budgets: the one place for their defaults, their validation and the wording of a refusal.

Every ``numerics`` function that may allocate more than a laptop holds estimates its peak bytes from the
shapes first and refuses, before allocating, when the estimate exceeds ``memory_budget``:

* :data:`MEMORY_BUDGET` (4 GiB) is the default of the guards (:func:`numerics.duat.decompose`,
  :func:`numerics.duat.receptive_field`, :func:`numerics.to_module`);
* :data:`SCALE_MEMORY_BUDGET` (1 GiB) is the default of :func:`numerics.check_at_scale` and
  :func:`numerics.evaluate_at_scale`, whose batches are sized to fill their budget (a larger budget only buys
  larger batches, so the default stays small);
* :data:`MAX_SECONDS` (600 s) caps the estimated run time of a sampling run unless it is forced.

The refusal names what was estimated, the estimate, the budget and how to raise it, e.g.
``decompose: estimated 19.3 GiB for W (nnz ~ 1.2e9) exceeds memory_budget 4 GiB; pass memory_budget= /
--memory-budget to raise it, or use a smaller input``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import theory
from theory import format_bytes, format_count  # noqa: F401 (the one wording of sizes, for numerics' modules)

from ._errors import NumericsError, bad, theory_errors

MEMORY_BUDGET = theory.MEMORY_BUDGET
"""Default ``memory_budget`` of the guards (the constructions' default too): refuse a call whose estimated peak
exceeds this many bytes."""
SCALE_MEMORY_BUDGET = 1 << 30
"""Default ``memory_budget`` of the sampling runs: their batches are sized to fill it."""
MAX_SECONDS = 600.0
"""Default ``max_seconds`` of the sampling runs: refuse a run estimated to take longer, unless forced."""
RATE_CEILING = 1e9
"""Samples per second no run reaches (measured runs: ~1e7/s on 2 CPU cores for small cones): the first,
optimistic time estimate ``samples / RATE_CEILING``, made before anything is built."""
MAX_COUNT = 2**63
"""Largest count (samples, bytes) any argument may take."""

def check_budget(value: Any, name: str = "memory_budget") -> int:
    """A byte budget: an int (or an integral float such as ``4e9``) in ``[1, 2**63)`` (:func:`theory.check_budget`).

    Raises:
        NumericsError: for bools, non-integers, values below 1 or at least 2**63.
    """
    with theory_errors():
        return theory.check_budget(value, name)


def parse_bytes(text: Any, name: str = "memory_budget") -> int:
    """``'512MiB'``, ``'2GB'``, ``'4 GiB'``, ``'1e9'`` -> bytes (:func:`theory.parse_size`, the one size parser).

    Raises:
        NumericsError: for anything else, or a size below one byte or at least 2**63.
    """
    with theory_errors():
        return theory.parse_size(text, name)


def check_seconds(value: Any, name: str = "max_seconds") -> float:
    """A time budget: a positive finite number of seconds.

    Raises:
        NumericsError: for bools, non-numbers, non-finite or non-positive values.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise bad(name, value, "a positive finite number of seconds")
    return float(value)


def check_samples(value: Any, name: str = "samples") -> int:
    """A sample count: an int (or an integral float such as ``1e7``) in ``[1, 2**63)``.

    Raises:
        NumericsError: for bools, non-integers, values below 1 or at least 2**63.
    """
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)) or not 1 <= value < MAX_COUNT:
        raise bad(name, value, "an int >= 1 and < 2**63")
    return int(value)


def plan_samples(what: str, samples: Any, max_seconds: Any, force: Any) -> tuple[int, float | None]:
    """Validate a sampling run's size and time budget before anything is built; ``(samples, limit)``.

    ``limit`` is ``max_seconds``, or ``None`` when ``force``; the run then measures its throughput on its first
    batches and refuses when ``samples / rate > limit`` (:func:`guard_time`). Here, the optimistic bound
    ``samples / RATE_CEILING`` already refuses sizes no machine runs within ``max_seconds``.

    Raises:
        NumericsError: bad ``samples`` (:func:`check_samples`), ``max_seconds`` or ``force``, or a run that takes
            more than ``max_seconds`` even at :data:`RATE_CEILING` samples per second.
    """
    samples = check_samples(samples)
    limit = check_seconds(max_seconds)
    if not isinstance(force, (bool, np.bool_)):
        raise bad("force", force, "True or False")
    if force:
        return samples, None
    guard_time(what, samples, samples / RATE_CEILING, limit,
               f"even at {RATE_CEILING:.0e} samples/s, faster than any measured run", qualifier="at least")
    return samples, limit


def over_budget(what: str, need: float, budget: int, detail: str, hint: str) -> NumericsError:
    """The refusal: ``"{what}: estimated {need} for {detail} exceeds memory_budget {budget}; pass ... or {hint}"``."""
    return NumericsError(f"{what}: estimated {format_bytes(need)} for {detail} exceeds memory_budget "
                         f"{format_bytes(budget)}; pass memory_budget= / --memory-budget to raise it, or {hint}")


def guard_memory(what: str, need: float, budget: int, detail: str, hint: str) -> None:
    """Raise :func:`over_budget` when ``need > budget`` (call it before allocating).

    Raises:
        NumericsError: when the estimate exceeds the budget.
    """
    if need > budget:
        raise over_budget(what, need, budget, detail, hint)


def guard_time(what: str, samples: int, seconds: float, max_seconds: float, basis: str, *,
               qualifier: str = "about") -> None:
    """Refuse a run of ``samples`` estimated to take ``seconds`` when that exceeds ``max_seconds``.

    Args:
        what: the function's name, first word of the message.
        samples: the requested count. seconds: the estimate. max_seconds: the budget.
        basis: how the estimate was made (``"measured 7.2e6 samples/s on 16384 samples"``).
        qualifier: ``"about"`` (a measured estimate) or ``"at least"`` (a lower bound).
    Raises:
        NumericsError: when ``seconds > max_seconds``, naming the estimate, its basis and how to force the run.
    """
    if seconds > max_seconds:
        raise NumericsError(f"{what}: {samples:.3g} samples would take {qualifier} {seconds:.3g} s ({basis}), more than "
                            f"max_seconds {max_seconds:.3g} s; pass force=True / --force-samples to run it anyway, "
                            f"raise max_seconds=, or take fewer samples")
