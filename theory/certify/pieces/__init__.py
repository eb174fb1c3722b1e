"""theory.certify.pieces: certificates that use the construction's own pieces.

For a network built as a Kuhn interpolation head (``pl_head``, or ``approximate_sparse`` with such a head) or a
Yarotsky product ``x0 * x1`` (a grid in the rotated coordinates ``x0 + x1``, ``x0 - x1``), the sup-norm
certificate is split in two exact steps instead of one general search:

1. the network equals the piecewise-linear interpolant of its own vertex values on the Kuhn triangulation of
   the grid named by its construction record (:mod:`._exact_check`: exact integer arithmetic, every ReLU's sign
   on every grid edge, wide cones tile by tile with their live units, :mod:`._live`); the record only says
   which grid to check, nothing is taken from it;
2. ``sup |A_S - g|`` over every simplex ``S``, with interval Taylor / mean-value forms of ``g`` vectorised over
   all simplices and only the pieces near the maximum refined (:mod:`._simplex_bound`).

A network for which step 1 fails (or that names no grid) goes to the general branch and bound; the
certificate records which method ran and why. :func:`pieces_rounding` turns step 1's exact values into a
per-cell float rounding bound (float semantics of :func:`theory.certify_sup_error`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from .._cone import Cone
from ._exact_check import GridCheck, check_grid
from ._grid import Grid, grid_hypothesis
from ._simplex_bound import PieceSearch

METHOD = "kuhn-pieces"

__all__ = ["Grid", "GridCheck", "check_grid", "grid_hypothesis", "PieceSearch", "PieceResult", "certify_pieces",
           "pieces_rounding", "METHOD"]


class PieceResult:
    """A finished piecewise search, with the attributes the certificate is assembled from (as the general search)."""

    method = METHOD

    def __init__(self, search: PieceSearch, check: GridCheck, grid: Grid, seconds_bound: float):
        self.search = search
        self.boxes = search.boxes
        self.max_unstable = 0
        self.heap = [None] * search.open
        self.exact_evals = search.exact_evals
        self.min_width_hit = False
        self.lower = search.lower
        self.witness = None if search.witness_y is None else grid.to_x(search.witness_y)
        self.deadline = search.deadline
        self._timed_out = search.timed_out
        self.details = {"structure": {
            "object": "piecewise-linear interpolant of the network's own vertex values on the Kuhn triangulation",
            "grid_cells": list(grid.cells), "grid_source": grid.source, "simplices": search.pieces,
            "step1": "exact: every ReLU pre-activation has no strictly opposite signs on any grid edge "
                     f"({check.units} units checked, {check.seconds:.2f} s)",
            "step2": "interval natural / mean-value / Taylor forms of the target on every simplex, refined near the "
                     f"maximum ({seconds_bound:.2f} s)",
        }}

    def upper(self) -> float:
        return self.search.upper_f

    def done(self) -> bool:
        return not self._timed_out


def certify_pieces(meta: Any, cone: Cone, expr: sp.Expr, names: list[str], var_index: list[int],
                   box: tuple, eps: float | None, time_limit_s: float, rel_gap: float, seed: int,
                   progress: Callable[[dict], None] | None) -> tuple[PieceResult | None, str]:
    """Run both steps when the construction record names a grid; ``(result or None, why not)``."""
    if not names:
        return None, "no variables"
    read = [False] * len(names)
    for v in var_index:
        read[v] = True
    grid = grid_hypothesis(meta, tuple(box), read)
    if grid is None:
        return None, "the construction record names no grid (not a Kuhn interpolation head)"
    check = check_grid(cone, var_index, grid)
    if not check.ok:
        return None, f"exact check on the grid {list(grid.cells)} failed: {check.reason}"
    t0 = time.perf_counter()
    search = PieceSearch(grid, check.values, expr, names, eps, max(0.0, time_limit_s - check.seconds), rel_gap,
                         seed, progress)
    search.run()
    return PieceResult(search, check, grid, time.perf_counter() - t0), ""


def pieces_rounding(net: Any, names: list[str], box: tuple, dtype: str) -> tuple[float, float] | None:
    """A float rounding bound from the structure: ``(R, peak)`` over the grid's cells, or None.

    Step one's exact values bound every unit's magnitude on each cell (the largest ``|h_u|`` over the cell's
    vertices: ``h_u`` is affine on each simplex); the running-error model of :func:`theory.spec._rounding.region_bounds`
    with these magnitudes bounds ``|float - exact|`` on the cell. Far tighter than the a-priori bound, which
    adds the worst cases of all hats at once. None when no grid applies or step one fails.
    """
    from ...spec._network import thaw
    from ...spec._rounding import _levels, cone_levels, region_bounds
    from .._cone import extract_cone
    cone = extract_cone(net)
    if any(n not in names for n in cone.names):
        return None
    var_index = [names.index(n) for n in cone.names]
    read = [i in var_index for i in range(len(names))]
    grid = grid_hypothesis(thaw(net.meta) if net.meta_covered else {}, tuple(box), read)
    if grid is None:
        return None
    worst = [0.0, 0.0]
    plan = _levels(net, cone_levels(net))

    def slab(mags: list, pre_max: list) -> None:
        e, peak = region_bounds(net, mags, dtype, pre_max, plan)
        worst[0], worst[1] = max(worst[0], float(e.max())), max(worst[1], float(peak.max()))

    return (worst[0], worst[1]) if check_grid(cone, var_index, grid, on_slab=slab).ok else None


def witness_fractions(witness: Any, names: list[str]) -> dict[str, Fraction] | None:
    """The witness as exact rationals per name (exact points stay exact; floats are read at their binary value)."""
    if witness is None:
        return None
    return {n: v if isinstance(v, Fraction) else Fraction(float(v)) for n, v in zip(names, np.asarray(witness, dtype=object))}
