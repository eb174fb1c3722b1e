"""A float rounding bound from the piecewise structure: step one's exact values bound every unit per cell.

Used by the float semantics of :func:`theory.certify_sup_error` (:mod:`theory.certify._semantics`) in place of
the a-priori rounding bound, where smaller, for a certificate of the piecewise method (a grid step one proves).
Source: the rounding model of :mod:`theory.spec._rounding` (standard; Higham, *Accuracy and Stability of
Numerical Algorithms*) fed with the exact per-cell magnitudes; the combination is a reconstruction.
"""

from __future__ import annotations

from typing import Any

from ._exact_check import check_grid
from ._grid import grid_hypothesis


def pieces_rounding(net: Any, names: list[str], box: tuple, dtype: str) -> tuple[float, float] | None:
    """A float rounding bound from the structure: ``(R, peak)`` over the grid's cells, or None.

    Step one's exact values bound every unit's magnitude on each cell (the largest ``|h_u|`` over the cell's
    vertices: ``h_u`` is affine on each simplex); the running-error model of :func:`theory.spec._rounding.region_bounds`
    with these magnitudes bounds ``|float - exact|`` on the cell. Far tighter than the a-priori bound, which
    adds the worst cases of all hats at once. None when no grid applies or step one fails.
    """
    from ...spec._network import thaw
    from ...spec._rounding import cone_levels, region_bounds
    from ...spec._rounding_levels import level_plan
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
    plan = level_plan(net, cone_levels(net))

    def slab(mags: list, pre_max: list) -> None:
        e, peak = region_bounds(net, mags, dtype, pre_max, plan)
        worst[0], worst[1] = max(worst[0], float(e.max())), max(worst[1], float(peak.max()))

    return (worst[0], worst[1]) if check_grid(cone, var_index, grid, on_slab=slab).ok else None
