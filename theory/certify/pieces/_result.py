"""The piecewise certificate as a :class:`~theory.certify._sup_search.SupSearch`: run both steps, report.

:func:`certify_pieces` reads the grid named by the construction record (:func:`grid_hypothesis`), proves the
network affine on every simplex of it (step one, :func:`check_grid`) and bounds ``sup |A_S - g|`` over the
simplices (step two, :class:`PieceSearch`); :class:`PieceResult` is the finished search as
:func:`theory.certify_sup_error` reads it (method ``"kuhn-pieces"``; its witness is mapped back from the grid's
index coordinates to the variables, exactly). Source: reconstruction (see :mod:`theory.certify.pieces`).
"""

from __future__ import annotations

import base64
import time
import zlib
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from .._cone import Cone
from .._sup_search import SupSearch
from ._exact_check import GridCheck, check_grid
from ._grid import Grid, grid_hypothesis
from ._simplex_bound import PieceSearch

METHOD = "kuhn-pieces"


class PieceResult(SupSearch):
    """A finished piecewise search: step two's bounds, with step one's record in :attr:`structure`.

    Args:
        search: the finished :class:`PieceSearch` (step two).
        check: step one's successful :class:`GridCheck`.
        grid: the grid both steps ran on.
        seconds_bound: the time step two took (recorded in the structure).
    """

    def __init__(self, search: PieceSearch, check: GridCheck, grid: Grid, seconds_bound: float) -> None:
        self.search = search
        self.budget = search.budget
        self.cover = search.cover
        self.frame = grid_frame(grid, check.values)
        self._witness = None if search.witness_y is None else grid.to_x(search.witness_y)
        self._structure = {
            "object": "piecewise-linear interpolant of the network's own vertex values on the Kuhn triangulation",
            "grid_cells": list(grid.cells),
            "grid_source": grid.source,
            "simplices": search.pieces,
            "step1": "exact: every ReLU pre-activation has no strictly opposite signs on any grid edge "
            f"({check.units} units checked, {check.seconds:.2f} s)",
            "step2": "interval natural / mean-value / Taylor forms of the target on every simplex, refined near the "
            f"maximum ({seconds_bound:.2f} s)",
        }

    @property
    def method(self) -> str:
        return METHOD

    def upper(self) -> float:
        return self.search.upper_f

    @property
    def lower(self) -> Fraction | None:
        return self.search.lower

    @property
    def witness(self) -> Sequence[Fraction] | None:
        return self._witness

    @property
    def boxes(self) -> int:
        return self.search.boxes

    @property
    def open_boxes(self) -> int:
        """Simplices (or parts of them) still open when step two stopped."""
        return self.search.open

    @property
    def max_unstable(self) -> int:
        """0: the network is proved affine on every simplex."""
        return 0

    @property
    def exact_evals(self) -> int:
        return self.search.exact_evals

    @property
    def min_width_hit(self) -> bool:
        return False

    @property
    def deadline(self) -> float:
        return self.search.budget.deadline

    def done(self) -> bool:
        return not self.search.unfinished

    @property
    def structure(self) -> dict[str, Any]:
        return self._structure


def grid_frame(grid: Grid, values: Any) -> dict[str, Any]:
    """The Kuhn frame of the proof object: the grid (cells, exact box, ``y = M x + o`` or None for the box's own
    grid) and the network's exact values at its vertices (C order, zlib-compressed text, base64)."""
    text = ",".join(str(v) for v in np.asarray(values, dtype=object).ravel()).encode()
    q = lambda rows: None if rows is None else [[str(v) for v in r] for r in rows]  # noqa: E731
    return {
        "kind": "kuhn",
        "cells": list(grid.cells),
        "box": [[str(a), str(b)] for a, b in grid.box],
        "matrix": q(grid.matrix),
        "offset": None if grid.offset is None else [str(v) for v in grid.offset],
        "vertex_values": base64.b64encode(zlib.compress(text, 6)).decode("ascii"),
    }


def certify_pieces(
    meta: Any,
    cone: Cone,
    expr: sp.Expr,
    names: list[str],
    var_index: list[int],
    box: tuple,
    eps: float | None,
    time_limit_s: float,
    rel_gap: float,
    seed: int,
    progress: Callable[[dict], None] | None,
    max_work: int | None = None,
) -> tuple[PieceResult | None, str]:
    """Run both steps when the construction record names a grid; ``(result or None, why not)``. Step one is
    exact and always runs to its end; ``max_work`` and the time left after it budget step two."""
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
    assert check.values is not None  # a passed check carries its vertex values (GridCheck)
    t0 = time.perf_counter()
    search = PieceSearch(
        grid, check.values, expr, names, eps, max(0.0, time_limit_s - check.seconds), rel_gap, seed, progress, max_work
    )
    search.run()
    return PieceResult(search, check, grid, time.perf_counter() - t0), ""
