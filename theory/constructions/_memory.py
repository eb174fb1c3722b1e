"""The estimated peak memory of building an exact spec, checked against ``memory_budget`` before allocating.

A construction whose storage grows with ``d`` (:func:`theory.gather`, :func:`theory.to_lcn`, :func:`theory.to_fcn`
and :func:`theory.select` with ``architecture="lcn"`` or ``"fcn"``) counts the nonzeros it will store from the
shapes first and refuses when the estimated peak exceeds its budget (default ``theory.cli.MEMORY_BUDGET``,
4 GiB), in the words of :func:`theory.cli.guard_memory`: ``gather: estimated 96 GiB for the spec (nnz ~ 6.4e9)
exceeds memory_budget 4 GiB; pass memory_budget= / --memory-budget to raise it, or use a smaller d``.
"""

from __future__ import annotations

from ..cli import format_count, guard_memory

KEPT_PER_NONZERO = 16
"""Bytes a stored nonzero keeps: its int64 key and its object pointer (values are shared Fractions)."""
BUILD_PER_NONZERO = 80
"""Bytes per nonzero of the layer being built, on top of what is kept: index arithmetic, the sorted copies the
canonical form checks, the edge lists of a densified layer (measured 11-60 by
tests/theory/constructions/test_memory_budget.py)."""
BUILD_PER_UNIT = 48
"""Bytes per output unit (position x channel) of a densified layer: its rows, offsets and bias objects."""


def spec_peak(layer_nonzeros: list[int], largest_units: int = 0) -> int:
    """Estimated peak bytes of building a spec whose layers store ``layer_nonzeros``: everything kept, plus the
    build of the largest layer (and ``largest_units`` output units when a layer is densified)."""
    total, largest = sum(layer_nonzeros), max(layer_nonzeros, default=0)
    return KEPT_PER_NONZERO * total + BUILD_PER_NONZERO * largest + BUILD_PER_UNIT * largest_units


def guard_spec(what: str, layer_nonzeros: list[int], budget: int, hint: str, largest_units: int = 0) -> None:
    """Refuse, before allocating, a spec whose estimated peak (:func:`spec_peak`) exceeds ``budget``.

    Args:
        what: the construction's name, first word of the message.
        layer_nonzeros: the nonzeros each layer will store (weights and biases).
        budget: bytes (already checked by :func:`theory.cli.check_budget`).
        hint: what else the user can do (``"use a smaller d"``).
        largest_units: output units of the largest densified layer (0 when nothing is densified).
    Raises:
        TheoryError: ``"{what}: estimated {peak} for the spec (nnz ~ {n}) exceeds memory_budget {budget}; ..."``.
    """
    guard_memory(
        what,
        spec_peak(layer_nonzeros, largest_units),
        budget,
        f"the spec (nnz ~ {format_count(sum(layer_nonzeros))})",
        hint,
    )
