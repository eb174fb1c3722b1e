"""Memory and time budgets: their defaults, their validation and the wording of a refusal, for all three packages.

Every function that may allocate more than a laptop holds estimates its peak bytes from the shapes first and
refuses, before allocating, when the estimate exceeds ``memory_budget`` (:func:`guard_memory`):

* :data:`MEMORY_BUDGET` (4 GiB) is the default of the guards (the constructions that grow with ``d``,
  ``numerics.to_module``, ``numerics.duat.decompose``, ``numerics.duat.receptive_field``);
* :data:`SCALE_MEMORY_BUDGET` (1 GiB) is the default of ``numerics.check_at_scale`` and
  ``numerics.evaluate_at_scale``, whose batches are sized to fill their budget (a larger budget only buys larger
  batches, so the default stays small);
* :data:`MAX_SECONDS` (600 s) caps the estimated run time of a sampling run unless it is forced.

The refusal names what was estimated, the estimate, the budget and how to raise it, e.g.
``decompose: estimated 19.3 GiB for W (nnz ~ 1.2e9) exceeds memory_budget 4 GiB; pass memory_budget= /
--memory-budget to raise it, or use a smaller input``. The size parser and formatters here are the project's only
ones. Each function raises ``error`` (default :class:`theory.TheoryError`), so a caller in another package passes
its own error type and raises only that.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from .._errors import CnnverifyError, TheoryError

MEMORY_BUDGET = 4 << 30
"""Default ``memory_budget`` (bytes) of the guards: refuse a call whose estimated peak exceeds it."""
SCALE_MEMORY_BUDGET = 1 << 30
"""Default ``memory_budget`` of the sampling runs: their batches are sized to fill it."""
MAX_SECONDS = 600.0
"""Default ``max_seconds`` of the sampling runs: refuse a run estimated to take longer, unless forced."""
RATE_CEILING = 1e9
"""Samples per second no run reaches (measured runs: ~1e7/s on 2 CPU cores for small cones): the first,
optimistic time estimate ``samples / RATE_CEILING``, made before anything is built."""
MAX_COUNT = 2**63
"""Largest count (samples, bytes) any argument may take."""

SUP_ERROR_MAX_WORK = 50_000
"""The default work budget of the claims' sup-norm certificates (``checks.expect_sup_error``, ``ww.sparse.approx``,
``cert.planted``, ``numerics.claim_sparse_approx``): boxes refined, the same count on every machine
(docs/certificates.md, "Budgets"), so a claim stopped by it is stopped at the same point everywhere. Chosen from
measured work: the quick profile's certificates take at most 366 units (``ww.sparse.approx``, ``sin(x0)*x1``), the
full profile's at most 6398 (``sin(3*x0)*x1``, eps 1/1000), the docs' examples 7; 50 000 is about 8x the largest and
130x the quick profile's, and takes about 17 s of the general search (about 1.5 s of the piecewise one) on a 2-core
laptop. The claims' searches finish far below it, so their verdicts never depend on the time limits beside it (a
safety net)."""

PROOF_RLIMIT = 2_000_000
"""The default z3 resource limit per query of the claims' proofs (``checks.expect_routing``, ``ww.select.proved``,
``lemma.yarotsky.square``, ``cert.planted``): a count of z3's own steps, the same on every machine for one z3
version, so a query stopped by it is stopped at the same point everywhere. Chosen from measured use (the z3
statistic ``rlimit count`` per query): at most 4114 for the routing lemmas (quick and full profiles), 1281 for the
Yarotsky pieces, 2836 for the planted violations, 16 582 for a monolithic routing query (an LCN of d = 64);
2 000 000 is over 100x the largest, and about 5 s of z3's nonlinear arithmetic on a 2-core laptop, well inside
the time limits that stay beside it as a safety net."""

_Error = type[CnnverifyError]


def _count(value: Any) -> int | None:
    """``value`` as an int in ``[1, MAX_COUNT)`` (integral floats such as ``4e9`` included), else None."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)) or not 1 <= value < MAX_COUNT:
        return None
    return int(value)


def check_budget(value: Any, name: str = "memory_budget", *, error: _Error = TheoryError) -> int:
    """A byte budget: an int (or an integral float such as ``4e9``) in ``[1, 2**63)``.

    Raises:
        error: for bools, non-integers, values below 1 or at least 2**63.
    """
    count = _count(value)
    if count is None:
        raise error.bad(name, value, "a number of bytes, an int in [1, 2**63), e.g. 4 << 30 for 4 GiB")
    return count


def check_samples(value: Any, name: str = "samples", *, error: _Error = TheoryError) -> int:
    """A sample count: an int (or an integral float such as ``1e7``) in ``[1, 2**63)``.

    Raises:
        error: for bools, non-integers, values below 1 or at least 2**63.
    """
    count = _count(value)
    if count is None:
        raise error.bad(name, value, "an int >= 1 and < 2**63")
    return count


def check_seconds(value: Any, name: str = "max_seconds", *, error: _Error = TheoryError) -> float:
    """A time budget: a positive finite number of seconds.

    Raises:
        error: for bools, non-numbers, non-finite or non-positive values.
    """
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise error.bad(name, value, "a positive finite number of seconds")
    return float(value)


_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_size(text: Any, name: str = "memory_budget", *, error: _Error = TheoryError) -> int:
    """``'512MiB'``, ``'2GB'``, ``'4 GiB'``, ``'1e9'`` -> bytes: the one parser of sizes given on a command line.

    Raises:
        error: for anything else, or a size below one byte or at least 2**63.
    """
    m = re.fullmatch(r"\s*([0-9.eE+]+)\s*([KkMmGgTt]?[Ii]?[Bb]?)\s*", text) if isinstance(text, str) else None
    try:
        value = float(m.group(1)) * _UNITS[m.group(2).lower()] if m else None
    except (ValueError, KeyError):
        value = None
    if value is None or not 1 <= value < MAX_COUNT or value != int(value):
        raise error.bad(name, text, "a size such as 4GiB, 512MiB, 2GB or 1000000000")
    return int(value)


def format_bytes(n: float) -> str:
    """``19.3 GiB``, ``512 MiB``, ``1000 B``: binary units, three significant digits."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def format_count(n: float) -> str:
    """``1.2e9`` for large counts, the plain integer below 10000."""
    if n < 10_000:
        return str(int(n))
    mantissa, exp = f"{n:.1e}".split("e")
    return f"{mantissa}e{int(exp)}"


def over_budget(
    what: str, need: float, budget: int, detail: str, hint: str, *, error: _Error = TheoryError
) -> CnnverifyError:
    """The refusal: ``"{what}: estimated {need} for {detail} exceeds memory_budget {budget}; pass ... or {hint}"``."""
    return error(
        f"{what}: estimated {format_bytes(need)} for {detail} exceeds memory_budget "
        f"{format_bytes(budget)}; pass memory_budget= / --memory-budget to raise it, or {hint}"
    )


def guard_memory(what: str, need: float, budget: int, detail: str, hint: str, *, error: _Error = TheoryError) -> None:
    """Refuse, before allocating, a call whose estimated peak ``need`` exceeds ``budget`` (:func:`over_budget`).

    Args:
        what: the function's name, first word of the message. need: the estimated peak bytes.
        budget: bytes (already checked by :func:`check_budget`). detail: what was estimated
            (``"W (nnz ~ 1.2e9) and its intermediates"``). hint: what else the user can do (``"use a smaller d"``).
    Raises:
        error: when the estimate exceeds the budget.
    """
    if need > budget:
        raise over_budget(what, need, budget, detail, hint, error=error)


def guard_time(
    what: str,
    samples: int,
    seconds: float,
    max_seconds: float,
    basis: str,
    *,
    qualifier: str = "about",
    error: _Error = TheoryError,
) -> None:
    """Refuse a run of ``samples`` estimated to take ``seconds`` when that exceeds ``max_seconds``.

    Args:
        what: the function's name, first word of the message.
        samples: the requested count. seconds: the estimate. max_seconds: the budget.
        basis: how the estimate was made (``"measured 7.2e6 samples/s on 16384 samples"``).
        qualifier: ``"about"`` (a measured estimate) or ``"at least"`` (a lower bound).
    Raises:
        error: when ``seconds > max_seconds``, naming the estimate, its basis and how to force the run.
    """
    if seconds > max_seconds:
        raise error(
            f"{what}: {samples:.3g} samples would take {qualifier} {seconds:.3g} s ({basis}), more than "
            f"max_seconds {max_seconds:.3g} s; pass force=True / --force-samples to run it anyway, "
            f"raise max_seconds=, or take fewer samples"
        )


def plan_samples(
    what: str, samples: Any, max_seconds: Any, force: Any, *, error: _Error = TheoryError
) -> tuple[int, float | None]:
    """Validate a sampling run's size and time budget before anything is built; ``(samples, limit)``.

    ``limit`` is ``max_seconds``, or ``None`` when ``force``; the run then measures its throughput on its first
    batches and refuses when ``samples / rate > limit`` (:func:`guard_time`). Here, the optimistic bound
    ``samples / RATE_CEILING`` already refuses sizes no machine runs within ``max_seconds``.

    Raises:
        error: bad ``samples`` (:func:`check_samples`), ``max_seconds`` or ``force``, or a run that takes more
            than ``max_seconds`` even at :data:`RATE_CEILING` samples per second.
    """
    samples = check_samples(samples, error=error)
    limit = check_seconds(max_seconds, error=error)
    if not isinstance(force, (bool, np.bool_)):
        raise error.bad("force", force, "True or False")
    if force:
        return samples, None
    guard_time(
        what,
        samples,
        samples / RATE_CEILING,
        limit,
        f"even at {RATE_CEILING:.0e} samples/s, faster than any measured run",
        qualifier="at least",
        error=error,
    )
    return samples, limit
