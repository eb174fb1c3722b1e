"""Which units a tile of the grid needs: rigorous interval bounds prove the others exactly 0 there.

Step one (:mod:`._exact_check`) evaluates every unit at every grid vertex; for wide cones (the hats of a Kuhn
head) most units are 0 on most of the grid. Per tile of ``_TILE^k`` cells, float interval bound propagation with
outward rounding (:func:`_ibp`) proves units dead (pre-activation ``<= 0`` on the tile's box: exactly 0 on the
tile, affine, nothing to check) or active (``>= 0``: no sign check), so only the live units are evaluated.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from itertools import product
from typing import cast

import numpy as np
import scipy.sparse as sps

from .._cone import Cone
from ._grid import Grid

_TILE = 12  # cells per axis of a tile whose live units are evaluated together
_PRUNE_ABOVE = 20_000_000  # units x vertices above which tiles with their live units beat whole slabs


def _tiles(cells: tuple[int, ...], size: list[int]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Tiles of cells as ``(first vertex, last vertex)`` per axis; tiles share their boundary vertices, so every
    grid edge (inside one cell) lies in exactly one tile."""
    ranges = [[(s_, min(s_ + z, n)) for s_ in range(0, n, z)] for n, z in zip(cells, size)]
    # zip(*combo) of the (first, last) pairs: (firsts, lasts); the stubs type a star-zip as tuple[Any, ...]
    return [cast(tuple[tuple[int, ...], tuple[int, ...]], tuple(zip(*combo))) for combo in product(*ranges)]


class _Need(list):
    """Per level the units evaluated on a tile (level 0: cone inputs), and per level the units proved active."""

    active: list


def _ibp(cone: Cone, lo: np.ndarray, hi: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rigorous interval bounds ``(zlo, zhi)`` of every pre-activation over B boxes of the cone's inputs.

    Midpoint-radius interval arithmetic in float64 (``lo, hi``: ``(n_inputs, B)``): ``z_c = W c + b``,
    ``z_r = |W| r + err`` with ``err`` covering the weights' and biases' rounding to float (relative
    ``2^-53``) and the dot products' rounding (``slack(fan) (|W| (|c| + r) + |b|)``, Higham's ``gamma``);
    bounds rounded outward. Source: standard interval bound propagation (e.g. Gowal et al. 2018) with the
    rounding terms of :mod:`theory.certify._intervals`.
    """
    from .._intervals import TINY, dn, slack, up

    c = 0.5 * (lo + hi)
    r = up(np.maximum(hi - c, c - lo))
    out = []
    for l, (src, dst, w, bias, relu) in enumerate(cone.levels):
        m, n = cone.sizes[l + 1], cone.sizes[l]
        wf = np.array([float(v) for v in w], dtype=np.float64)
        bf = np.array([float(v) for v in bias], dtype=np.float64)
        W = sps.csr_matrix((wf, (dst, src)), shape=(m, n))
        A = abs(W)
        fan = np.bincount(dst, minlength=m).astype(np.float64)[:, None]
        mag = A @ (np.abs(c) + r) + np.abs(bf)[:, None]
        zc = W @ c + bf[:, None]
        zr = up(up(A @ r) * (1 + slack(fan)) + up(mag * (slack(fan + 2) + 2.0**-52)) + TINY)
        zlo, zhi = dn(zc - zr), up(zc + zr)
        out.append((zlo, zhi))
        hlo, hhi = (np.maximum(zlo, 0.0), np.maximum(zhi, 0.0)) if relu else (zlo, zhi)
        c = 0.5 * (hlo + hhi)
        r = up(np.maximum(hhi - c, c - hlo))
    return out


def _live_units(cone: Cone, var_index: list[int], grid: Grid, tiles: list) -> Callable[[int], _Need]:
    """For each tile, the units that can be nonzero on it and those proved active there.

    Rigorous interval bounds (:func:`_ibp`) over each tile's bounding box in the variables: a unit proved dead
    there (pre-activation ``<= 0`` on the whole box) is exactly 0 on the tile (affine, no check), so it and
    every unit only it feeds are skipped; a unit proved active (``>= 0``) needs no sign check.
    """
    k = grid.k

    def box(lo_y: list[int], hi_y: list[int]) -> tuple[np.ndarray, np.ndarray]:
        pts = [grid.to_x([Fraction(v) for v in corner]) for corner in product(*zip(lo_y, hi_y))]
        lo = [min(p[a] for p in pts) for a in range(k)]
        hi = [max(p[a] for p in pts) for a in range(k)]
        down = lambda q: float(q) if Fraction(float(q)) <= q else float(np.nextafter(float(q), -np.inf))  # noqa: E731
        upw = lambda q: float(q) if Fraction(float(q)) >= q else float(np.nextafter(float(q), np.inf))  # noqa: E731
        return np.array([down(q) for q in lo]), np.array([upw(q) for q in hi])

    bounds = [box(list(s_), list(e)) for s_, e in tiles]
    var = np.asarray(var_index, dtype=np.int64)
    lo = np.stack([b_[0][var] for b_ in bounds], axis=1)
    hi = np.stack([b_[1][var] for b_ in bounds], axis=1)
    z = _ibp(cone, lo, hi)
    rows = [
        sps.csr_matrix((np.ones(src.size), (dst, src)), shape=(cone.sizes[l + 1], cone.sizes[l]))
        for l, (src, dst, *_) in enumerate(cone.levels)
    ]
    L = len(cone.levels)

    def live(t: int) -> _Need:
        need = _Need([None] * (L + 1))
        need[L] = np.arange(cone.sizes[L])
        for l in range(L - 1, -1, -1):
            cols = np.unique(rows[l][need[l + 1]].indices)
            if l and cone.levels[l - 1][4]:
                cols = cols[z[l - 1][1][cols, t] > 0]  # a ReLU unit with zhi <= 0 is exactly 0 here
            need[l] = cols
        need.active = [
            (z[l][0][:, t] >= 0) if cone.levels[l][4] else np.zeros(cone.sizes[l + 1], bool) for l in range(L)
        ]
        return need

    return live
