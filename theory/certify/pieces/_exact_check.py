"""Step one of a piecewise certificate: the network *is* the piecewise-linear interpolant of its grid values.

Claim proved: on every Kuhn simplex ``S`` of the :class:`Grid`, ``net = A_S``, the affine interpolant of the
network's own exact values at the vertices of ``S``. Argument (exact, by induction over the levels): if every
unit of the levels below is affine on ``S``, a pre-activation of the next level is affine on ``S``; if its
values at the vertices of ``S`` are not of strictly opposite signs, it is ``>= 0`` on all of ``S`` or
``<= 0`` on all of ``S`` (a convex combination of the vertex values), so its ReLU is affine on ``S`` too. Any two
vertices of a Kuhn simplex differ by a 0/1 vector, so it suffices that no grid edge ``(p, p + e)``,
``e in {0, 1}^k \\ {0}``, carries a pre-activation ``> 0`` at one end and ``< 0`` at the other. Sign-split
pairs need no check: two ReLU units with opposite pre-activations ``z`` and ``-z`` that every consumer reads as
``c relu(z) - c relu(-z) = c z`` (the exact carries of the routing layers) give every consumer an affine input
whatever the sign of ``z``.

Computation: every pre-activation of the output's cone at every grid vertex, in exact integer arithmetic
(numerators over one common denominator per level and slab, reduced by their gcd; ``int64`` sparse products
after a proved no-overflow bound), slab by slab along the first axis (slabs overlap by one row, so every
edge lies in a slab). Source: the activation-pattern argument is standard (a ReLU network is affine where its
pattern is constant); checking it on a triangulation's edges in exact integers is our reconstruction.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from itertools import product

import numpy as np
import scipy.sparse as sps

from .._cone import Cone
from ._grid import Grid
from ._live import _PRUNE_ABOVE, _TILE, _live_units, _tiles

_LIMIT = 2.0**62  # largest |integer| allowed in an int64 product (proved before each level)
_SLAB_ELEMENTS = 8_000_000  # units x points evaluated at once (about 64 MB per int64 array)


@dataclass(frozen=True, eq=False)
class GridCheck:
    """The outcome of :func:`check_grid`.

    Attributes:
        ok: True when the network is proved affine on every simplex (then ``values`` holds its vertex values).
        values: object array of Fractions, shape ``grid.shape``: the network's exact value at each vertex.
        reason: why the check failed (a unit and an edge whose ends have opposite signs, or too large integers).
        units: ReLU units checked; ``seconds``: time spent.
    """

    ok: bool
    values: np.ndarray | None
    reason: str
    units: int
    seconds: float


def _integers(values: np.ndarray) -> tuple[np.ndarray, int] | None:
    """``(numerators, D)`` with ``values == numerators / D`` (int64), or None when they do not fit."""
    qs = [Fraction(v) for v in values]
    D = math.lcm(*{q.denominator for q in qs}) if qs else 1
    nums = [q.numerator * (D // q.denominator) for q in qs]
    if any(abs(v) >= _LIMIT for v in nums):
        return None
    return np.array(nums, dtype=np.int64), D


def _rows(level) -> tuple[dict[int, dict[int, Fraction]], np.ndarray]:
    src, dst, w, bias, _ = level
    rows: dict[int, dict[int, Fraction]] = {}
    for s_, d_, w_ in zip(src.tolist(), dst.tolist(), w):
        rows.setdefault(d_, {})[s_] = w_
    return rows, bias


def _pairs(cone: Cone) -> list[np.ndarray]:
    """Per level, the mask of its ReLU units that are valid sign-split pairs (module docstring), exactly checked.

    Candidates ``(u, v)`` represent ``(relu(z), relu(-z))``: rows that are exact negatives (``z`` = u's
    pre-activation), or carries ``u = relu(c p)``, ``v = relu(c q)`` (single edge, ``c > 0``, bias 0) of a
    candidate ``(p, q)`` of the level below (then ``z = c z_pq``). A candidate is valid when every unit of the
    next level that reads it reads ``(c, -c)`` from it, or is one unit of a valid carry candidate of it
    (decided from the last level down). Then every reader's pre-activation is affine wherever ``z`` is.
    """
    L = len(cone.levels)
    rows = [_rows(level) for level in cone.levels]
    cand: list[dict[int, int]] = []  # per level: unit -> partner
    parent: list[dict[int, tuple[int, int]]] = []
    for l in range(L):
        r, bias = rows[l]
        part: dict[int, int] = {}
        par: dict[int, tuple[int, int]] = {}
        if cone.levels[l][4] and l + 1 < L:
            key = {(tuple(sorted(r.get(u, {}).items())), bias[u]): u for u in range(cone.sizes[l + 1])}
            for u in range(cone.sizes[l + 1]):
                v = key.get((tuple(sorted((s_, -w_) for s_, w_ in r.get(u, {}).items())), -bias[u]))
                if v is not None and v != u:
                    part[u] = v
            if l and cand[l - 1]:
                carry = {}
                for u, row in r.items():
                    if len(row) == 1 and bias[u] == 0:
                        ((p, c),) = row.items()
                        if c > 0 and p in cand[l - 1]:
                            carry[(p, c)] = u
                for (p, c), u in carry.items():
                    v = carry.get((cand[l - 1][p], c))
                    if v is not None and u not in part:
                        part[u], par[u] = v, (p, cand[l - 1][p])
        part = {u: v for u, v in part.items() if part.get(v) == u}  # duplicate rows: keep mutual pairs only
        cand.append(part)
        parent.append({u: p for u, p in par.items() if u in part})
    valid: list[set[int]] = [set() for _ in range(L)]
    for l in range(L - 2, -1, -1):
        readers: dict[int, dict[int, Fraction]] = {}
        for x, row in rows[l + 1][0].items():
            for s_, w_ in row.items():
                if s_ in cand[l]:
                    readers.setdefault(s_, {})[x] = w_
        for u, v in cand[l].items():
            ru, rv = readers.get(u, {}), readers.get(v, {})
            ok = True
            for x in ru.keys() | rv.keys():
                if x in ru and x in rv and rv[x] == -ru[x]:
                    continue
                if x in valid[l + 1] and parent[l + 1].get(x) in ((u, v), (v, u)):
                    continue
                ok = False
                break
            if ok:
                valid[l].update((u, v))
    masks = []
    for l in range(L):
        m = np.zeros(cone.sizes[l + 1], dtype=bool)
        m[list(valid[l])] = True
        masks.append(m)
    return masks


def _edge_slices(k: int):
    """For each direction ``e in {0,1}^k \\ 0``: slices selecting the edge starts and the edge ends."""
    for e in product((0, 1), repeat=k):
        if any(e):
            yield (
                e,
                tuple(slice(0, -1) if s else slice(None) for s in e),
                tuple(slice(1, None) if s else slice(None) for s in e),
            )


def _cell_max(num: np.ndarray, D: int, sub: tuple[int, ...], signed: bool = False) -> np.ndarray:
    """``(units, cells)`` floats ``>= max (num / D)`` (of ``|num / D|`` unless ``signed``) over the ``2^k``
    vertices of each cell of the slab."""
    m = (num if signed else np.abs(num)).astype(np.float64).reshape((-1,) + sub)
    for ax in range(1, m.ndim):
        lo = [slice(None)] * m.ndim
        hi = [slice(None)] * m.ndim
        lo[ax], hi[ax] = slice(0, -1), slice(1, None)
        m = np.maximum(m[tuple(lo)], m[tuple(hi)])
    m = m.reshape(m.shape[0], -1) / float(D)
    return m + np.abs(m) * 2.0**-48  # int -> float and / D rounded: rounded up with room


def check_grid(
    cone: Cone, var_index: list[int], grid: Grid, on_slab: Callable[[list, list], None] | None = None
) -> GridCheck:
    """Prove ``net = A_S`` on every simplex ``S`` of ``grid`` (module docstring), or say where it fails.

    Args:
        cone: the output's exact cone; ``var_index[j]``: the search variable of cone input ``j``.
        grid: the grid to check.
        on_slab: optional; called once per slab of cells with ``(magnitudes, pre_max)``: per level (inputs
            first) ``(units, cells)`` upper bounds of ``|h_u|`` over each cell's vertices, and per level ``1 .. D``
            (None for linear levels) of the pre-activation's maximum there. Both hold on the whole cell once the
            check passes (``h_u`` and the pre-activation are affine, or for sign-split carries convex, on each of
            its simplices, so their maxima are at vertices). Cells of consecutive slabs do not repeat.
    Returns:
        :class:`GridCheck`; its ``values`` are exact (never rounded).
    """
    t0 = time.perf_counter()
    k, shape = grid.k, grid.shape
    levels = []
    pairs = _pairs(cone)
    for l, (src, dst, w, bias, relu) in enumerate(cone.levels):
        wi, bi = _integers(w), _integers(bias)
        if wi is None or bi is None:
            return GridCheck(
                False, None, f"level {l}: weights too large for exact int64 evaluation", 0, time.perf_counter() - t0
            )
        W = sps.csr_matrix((wi[0], (dst, src)), shape=(cone.sizes[l + 1], cone.sizes[l]), dtype=np.int64)
        absW = sps.csr_matrix((np.abs(wi[0]).astype(np.float64), (dst, src)), shape=W.shape)
        check = ~pairs[l] if relu else None
        levels.append((W, absW, wi[1], bi[0], bi[1], check))
    Minv, c = grid.affine()  # x = Minv y + c at the integer vertices y
    D0 = math.lcm(*{q.denominator for row in Minv for q in row}, *{q.denominator for q in c})
    coef = [[int(q * D0) for q in row] for row in Minv]
    const = [int(q * D0) for q in c]
    if any(sum(abs(v) * n for v, n in zip(row, grid.cells)) + abs(b) >= _LIMIT for row, b in zip(coef, const)):
        return GridCheck(
            False, None, "grid coordinates too large for exact int64 evaluation", 0, time.perf_counter() - t0
        )
    var = np.asarray(var_index, dtype=np.int64)
    values = np.empty(shape, dtype=object)
    n_relu = sum(int(lev[5].sum()) for lev in levels if lev[5] is not None)
    if on_slab is None and max(cone.sizes) * grid.vertices > _PRUNE_ABOVE:  # tiles, each with its live units
        tiles = _tiles(grid.cells, [_TILE] * k)
        live = _live_units(cone, var_index, grid, tiles)
    else:  # slabs of whole rows: every unit, for the per-cell magnitudes
        width, rest = max(cone.sizes), int(np.prod(shape[1:], dtype=np.int64))
        rows = max(1, min(grid.cells[0], _SLAB_ELEMENTS // max(1, width * rest) - 1))
        tiles, live = _tiles(grid.cells, [rows] + list(grid.cells[1:])), None
    for t, (start, stop) in enumerate(tiles):
        sub = tuple(int(e - s_ + 1) for s_, e in zip(start, stop))
        idx = np.indices(sub).reshape(k, -1) + np.asarray(start, dtype=np.int64)[:, None]
        X = [sum((np.int64(coef[a][b]) * idx[b] for b in range(k)), np.int64(const[a])) for a in range(k)]
        need = None if live is None else live(t)
        num = (
            np.stack([X[v] for v in (var if need is None else var[need[0]])])
            if var.size
            else np.zeros((0, idx.shape[1]), np.int64)
        )
        D = D0
        mags = [] if on_slab is None else [_cell_max(num, D, sub)]
        pre_max: list = []
        for l, (W, absW, Dw, bn, Db, check) in enumerate(levels):
            if need is not None:
                rows_, cols_ = need[l + 1], need[l]
                W, absW, bn = W[rows_][:, cols_], absW[rows_][:, cols_], bn[rows_]
                check = None if check is None else check[rows_] & ~need.active[l][rows_]
            L = math.lcm(Dw * D, Db)
            m1, m2 = L // (Dw * D), L // Db
            mag = np.abs(num).max(axis=1).astype(np.float64) if num.size else np.zeros(num.shape[0])
            bound = (absW @ mag) * float(m1) + np.abs(bn).astype(np.float64) * float(m2)
            if bound.size and (float(bound.max()) * (1 + 2.0**-40) >= _LIMIT or m1 >= _LIMIT or m2 >= _LIMIT):
                return GridCheck(
                    False, None, f"level {l}: exact values too large for int64", n_relu, time.perf_counter() - t0
                )
            pre = np.asarray(W @ num) * np.int64(m1) + bn[:, None] * np.int64(m2)
            g = math.gcd(int(np.gcd.reduce(pre, axis=None)) if pre.size else 0, L) if L > 1 else 1
            if g > 1:
                pre //= g
            D = L // g
            if on_slab is not None:
                pre_max.append(_cell_max(pre, D, sub, signed=True) if check is not None else None)
            if check is not None:
                pos, neg = pre > 0, pre < 0
                both = np.flatnonzero(check & pos.any(axis=1) & neg.any(axis=1))  # only these can change sign
                P, N = pos[both].reshape((-1,) + sub), neg[both].reshape((-1,) + sub)
                for e, a, b in _edge_slices(k):
                    a, b = (slice(None),) + a, (slice(None),) + b
                    bad_ = (P[a] & N[b]) | (N[a] & P[b])
                    if bad_.any():
                        u, *p = (int(v[0]) for v in np.nonzero(bad_))
                        u = int(both[u]) if need is None else int(need[l + 1][both[u]])
                        p = [pi + s_ for pi, s_ in zip(p, start)]
                        q = [pi + ei for pi, ei in zip(p, e)]
                        return GridCheck(
                            False,
                            None,
                            f"level {l} unit {u} changes sign on the grid edge {tuple(p)} - "
                            f"{tuple(q)}: the network is not affine on a simplex of this grid",
                            n_relu,
                            time.perf_counter() - t0,
                        )
                num = np.maximum(pre, 0)
            else:
                num = pre
            if on_slab is not None:
                mags.append(_cell_max(num, D, sub))
        if on_slab is not None:
            on_slab(mags, pre_max)
        out = num[0].reshape(sub) if num.shape[0] else np.zeros(sub, dtype=np.int64)
        view = values[tuple(slice(s_, e + 1) for s_, e in zip(start, stop))]
        for i, v in np.ndenumerate(out):
            view[i] = Fraction(int(v), D)
    return GridCheck(True, values, "", n_relu, time.perf_counter() - t0)
