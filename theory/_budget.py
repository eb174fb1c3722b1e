"""The memory budget of the exact constructions: its default, its validation and the wording of a refusal.

A construction whose storage grows with ``d`` (:func:`theory.gather`, :func:`theory.to_lcn`, :func:`theory.to_fcn`
and :func:`theory.select` with ``architecture="lcn"`` or ``"fcn"``) counts the nonzeros it will store from the
shapes first and refuses, before allocating, when the estimated peak exceeds ``memory_budget`` (default
:data:`MEMORY_BUDGET`, 4 GiB). The message names the estimate and the budget, in the words ``numerics`` uses too:
``gather: estimated 96 GiB for the spec (nnz ~ 6.4e9) exceeds memory_budget 4 GiB; pass memory_budget= /
--memory-budget to raise it, or use a smaller d``. The size parser and formatters here are the project's only
ones; ``numerics`` takes them from ``theory``'s face (and re-raises their errors as its own).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ._errors import TheoryError, bad

MEMORY_BUDGET = 4 << 30
"""Default ``memory_budget`` (bytes) of the constructions that grow with ``d``."""
KEPT_PER_NONZERO = 16
"""Bytes a stored nonzero keeps: its int64 key and its object pointer (values are shared Fractions)."""
BUILD_PER_NONZERO = 80
"""Bytes per nonzero of the layer being built, on top of what is kept: index arithmetic, the sorted copies the
canonical form checks, the edge lists of a densified layer (measured 11-60 by
tests/theory/constructions/test_memory_budget.py)."""
BUILD_PER_UNIT = 48
"""Bytes per output unit (position x channel) of a densified layer: its rows, offsets and bias objects."""


def check_budget(value: Any, name: str = "memory_budget") -> int:
    """A byte budget: an int (or an integral float such as ``4e9``) in ``[1, 2**63)``.

    Raises:
        TheoryError: for bools, non-integers, values below 1 or at least 2**63.
    """
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)) or not 1 <= value < 2**63:
        raise bad(name, value, "a number of bytes, an int in [1, 2**63), e.g. 4 << 30 for 4 GiB")
    return int(value)


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(text: Any, name: str = "memory_budget") -> int:
    """``'512MiB'``, ``'2GB'``, ``'4 GiB'``, ``'1e9'`` -> bytes: the one parser of sizes given on a command line.

    Raises:
        TheoryError: for anything else, or a size below one byte or at least 2**63.
    """
    m = re.fullmatch(r"\s*([0-9.eE+]+)\s*([KkMmGgTt]?[Ii]?[Bb]?)\s*", text) if isinstance(text, str) else None
    try:
        value = float(m.group(1)) * _UNITS[m.group(2).lower()] if m else None
    except (ValueError, KeyError):
        value = None
    if value is None or not 1 <= value < 2**63 or value != int(value):
        raise bad(name, text, "a size such as 4GiB, 512MiB, 2GB or 1000000000")
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


def spec_peak(layer_nonzeros: list[int], largest_units: int = 0) -> int:
    """Estimated peak bytes of building a spec whose layers store ``layer_nonzeros``: everything kept, plus the
    build of the largest layer (and ``largest_units`` output units when a layer is densified)."""
    total, largest = sum(layer_nonzeros), max(layer_nonzeros, default=0)
    return KEPT_PER_NONZERO * total + BUILD_PER_NONZERO * largest + BUILD_PER_UNIT * largest_units


def guard_memory(what: str, layer_nonzeros: list[int], budget: int, hint: str, largest_units: int = 0) -> None:
    """Refuse, before allocating, a spec whose estimated peak (:func:`spec_peak`) exceeds ``budget``.

    Args:
        what: the construction's name, first word of the message.
        layer_nonzeros: the nonzeros each layer will store (weights and biases).
        budget: bytes (already checked by :func:`check_budget`).
        hint: what else the user can do (``"use a smaller d"``).
        largest_units: output units of the largest densified layer (0 when nothing is densified).
    Raises:
        TheoryError: ``"{what}: estimated {peak} for the spec (nnz ~ {n}) exceeds memory_budget {budget}; ..."``.
    """
    need = spec_peak(layer_nonzeros, largest_units)
    if need > budget:
        raise TheoryError(f"{what}: estimated {format_bytes(need)} for the spec (nnz ~ "
                          f"{format_count(sum(layer_nonzeros))}) exceeds memory_budget {format_bytes(budget)}; "
                          f"pass memory_budget= / --memory-budget to raise it, or {hint}")
