"""Candidate points for the lower bound of the branch-and-bound search: ranked in floats, one kept per batch.

Per box whose bound is above the current lower bound: its centre ``c``, a random point, the vertex
``c + sign(direction) * half-width`` of the row with the largest bound, and the stationary point of that
row's quadratic model ``F(x) - g(c) - dg(c).(x - c) - (x - c)^T H (x - c) / 2`` (:func:`stationary_point`),
all clipped to the box. Every candidate is scored by ``|net - g|`` in float64 (:func:`rep_eval`, the target's
numpy values; estimates only), and :func:`best_candidate` returns the best point above the current lower bound;
the search re-evaluates it exactly (:func:`theory.certify._propagate.exact_output`, ``g`` at 256 bits), so
nothing here has to be rigorous. Source: reconstruction (see :mod:`theory.certify._certify`).
"""

from __future__ import annotations

import numpy as np

from ._batch_bounds import Directions
from ._box_state import Node
from ._cone import Rep
from ._enclosure import GData, Target


def rep_eval(rep: Rep, pts: np.ndarray) -> np.ndarray:
    """Float forward pass of a rep at points ``(k, N)`` (estimates only; perturbations ignored)."""
    h = np.empty((rep.n, pts.shape[1]))
    pts = pts - rep.o[:, None]
    for l in range(len(rep.src)):
        s, e = int(rep.starts[l]), int(rep.starts[l + 1])
        z = rep.a[s:e] @ pts + rep.c[s:e, None]
        if rep.src[l].size:
            z[rep.own[l]] += np.add.reduceat(rep.w[l][:, None] * h[rep.src[l]], rep.seg[l], axis=0)
        h[s:e] = np.where(rep.relu[s:e, None], np.maximum(z, 0.0), z)
    return h[-1]


def stationary_point(rows_F: np.ndarray | None, row: int, b: int, gd: GData, k: int) -> np.ndarray | None:
    """Stationary point of the quadratic model ``F(x) - g(c) - dg(c).(x - c) - (x - c)^T H (x - c) / 2``."""
    if gd.g2 is None or rows_F is None:
        return None
    assert gd.g1 is not None  # Target.data sets g1 whenever it sets g2
    a = rows_F[row, :k]
    with np.errstate(invalid="ignore", over="ignore"):  # a midpoint of (-inf, inf) near a singularity is nan
        g1 = np.array([0.5 * (gd.g1[i][0][b] + gd.g1[i][1][b]) for i in range(k)])
        H = np.array([[0.5 * (gd.g2[i][j][0][b] + gd.g2[i][j][1][b]) for j in range(k)] for i in range(k)])
    if not (np.all(np.isfinite(g1)) and np.all(np.isfinite(H))):
        return None  # only a search heuristic: no candidate from this box
    try:
        y = np.linalg.solve(H, a - g1)
    except np.linalg.LinAlgError:
        return None
    return gd.c[:, b] + y if np.all(np.isfinite(y)) else None


def best_candidate(
    nodes: list[Node],
    gd: GData,
    dirs: Directions,
    rows_F: np.ndarray | None,
    *,
    lower_f: float,
    rng: np.random.Generator,
    lo_in: np.ndarray,
    hi_in: np.ndarray,
    target: Target,
) -> np.ndarray | None:
    """The candidate point ``(k,)`` of this batch with the largest float error above ``lower_f``, or None.

    ``nodes`` and ``gd`` are the batch's bounded boxes and target data, ``dirs`` and ``rows_F`` the rows of
    :func:`theory.certify._batch_bounds.bound_rows`; points are clipped to the inner float box ``[lo_in, hi_in]``.
    """
    bi, val, direction = dirs
    B = len(nodes)
    k = lo_in.shape[0]
    best_row = np.full(B, -1)
    best_val = np.full(B, -np.inf)
    for n in range(bi.size):
        if val[n] > best_val[bi[n]]:
            best_val[bi[n]], best_row[bi[n]] = val[n], n
    by_rep: dict[int, tuple] = {}
    for b, node in enumerate(nodes):
        if node.upper <= lower_f:
            continue
        c = gd.c[:, b]
        half = 0.5 * (node.hi - node.lo)
        pts = [c, node.lo + (node.hi - node.lo) * rng.random(k)]
        if best_row[b] >= 0 and k:
            pts.append(np.clip(c + np.sign(direction[best_row[b]]) * half, node.lo, node.hi))
            st = stationary_point(rows_F, best_row[b], b, gd, k)
            if st is not None:
                pts.append(np.clip(st, node.lo, node.hi))
        rep = node.state.rep
        entry = by_rep.setdefault(id(rep), (rep, []))
        entry[1].extend(pts)
    best_x, best = None, lower_f * (1 + 1e-12)
    for rep, pts in by_rep.values():
        P = np.clip(np.stack(pts, axis=1), lo_in[:, None], hi_in[:, None])
        with np.errstate(all="ignore"):
            err = np.abs(rep_eval(rep, P) - target.values_np(P))
        err = np.where(np.isfinite(err), err, -1.0)
        i = int(np.argmax(err))
        if err[i] > best:
            best, best_x = float(err[i]), P[:, i].copy()
    return best_x
