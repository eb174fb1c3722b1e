"""One rigorous bound per box of a batch, from the sided bounds of its rows (relaxations and patterns).

A box of the branch-and-bound search contributes *rows*: affine forms ``F`` with errors ``E`` (and the
constraints of the pattern they hold on) that bound the network on the box from above (``use_up``), below
(``use_lo``), or both (an enumerated pattern). :func:`theory.certify._form_bounds.form_bounds` bounds every row
against the target at once; :func:`bound_rows` combines them per box and side:

    ``up(b) = min(relaxation U, max over patterns)``, ``lo(b)`` likewise, ``bound(b) = max(up(b), lo(b), 0)``

(a relaxation holds on the whole box, a pattern only where the box follows it, so patterns are maximised and
the result is the smaller of the two). A side with no row at all is unbounded; a NaN bound is ``inf``.
Source: reconstruction (see :mod:`theory.certify._certify`).
"""

from __future__ import annotations

import numpy as np

from ._enclosure import GData
from ._form_bounds import form_bounds

Row = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool, bool, int, np.ndarray]
"""``(F (n, K1), E (n,), CF (n, J, K1), CE (n, J), CS (n, J), use_up, use_lo, box index, origin (k,))``."""

Directions = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Per row of the batch: ``(box index, its bound max(up, lo), the direction of its maximising vertex)``."""


def bound_rows(rows: list[Row], gd: GData, B: int, k: int) -> tuple[np.ndarray, Directions, np.ndarray]:
    """``(bound per box (B,), directions per row, the stacked row forms F (N, k + 1))`` of a batch of B boxes."""
    K1 = k + 1
    J = max((r[2].shape[1] for r in rows), default=0)
    cnt = [r[0].shape[0] for r in rows]
    N = sum(cnt)
    F = np.concatenate([r[0] for r in rows]) if rows else np.zeros((0, K1))
    E = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0)
    CF = np.zeros((N, J, K1))
    CE = np.zeros((N, J))
    CS = np.zeros((N, J))
    o = 0
    for r, n in zip(rows, cnt):
        j = r[2].shape[1]
        CF[o : o + n, :j], CE[o : o + n, :j], CS[o : o + n, :j] = r[2], r[3], r[4]
        o += n
    use_up = np.repeat([r[5] for r in rows], cnt).astype(bool)
    use_lo = np.repeat([r[6] for r in rows], cnt).astype(bool)
    bi = np.repeat([r[7] for r in rows], cnt).astype(np.int64)
    O = np.repeat(np.stack([r[8] for r in rows]), cnt, axis=0) if rows else np.zeros((0, k))
    s_up, s_lo, direction = form_bounds(F, E, CF, CE, CS, use_up, use_lo, bi, gd, O)
    up_b = np.full(B, -np.inf)
    lo_b = np.full(B, -np.inf)
    np.maximum.at(up_b, bi, s_up)
    np.maximum.at(lo_b, bi, s_lo)
    # a side with no row at all (cannot happen for a sound state) is unbounded
    seen_up = np.zeros(B, bool)
    seen_lo = np.zeros(B, bool)
    seen_up[bi[use_up]] = True
    seen_lo[bi[use_lo]] = True
    up_b = np.where(seen_up, up_b, np.inf)
    lo_b = np.where(seen_lo, lo_b, np.inf)
    # side "up" uses min(relaxation U, max over patterns); rows of one box are combined per kind
    dirs = (bi, np.maximum(s_up, s_lo), direction)
    if any(not (r[5] and r[6]) for r in rows):  # boxes with relaxation rows: min(relax, patterns) per side
        up_b, lo_b = _combine(rows, cnt, s_up, s_lo, B)
    ub = np.maximum(np.maximum(up_b, lo_b), 0.0)
    return np.where(np.isnan(ub), np.inf, ub), dirs, F


def _combine(
    rows: list[Row], cnt: list[int], s_up: np.ndarray, s_lo: np.ndarray, B: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per box and side: the smaller of the best relaxation row and the largest pattern row."""
    rel_up = np.full(B, np.inf)
    rel_lo = np.full(B, np.inf)
    pat_up = np.full(B, np.inf)
    pat_lo = np.full(B, np.inf)
    has_pat = np.zeros(B, bool)
    o = 0
    for r, n in zip(rows, cnt):
        b = r[7]
        if r[5] and not r[6]:
            rel_up[b] = min(rel_up[b], s_up[o : o + n].max())
        elif r[6] and not r[5]:
            rel_lo[b] = min(rel_lo[b], s_lo[o : o + n].max())
        else:
            m_up = s_up[o : o + n].max() if n else -np.inf
            m_lo = s_lo[o : o + n].max() if n else -np.inf
            pat_up[b] = m_up if not has_pat[b] else max(pat_up[b], m_up)
            pat_lo[b] = m_lo if not has_pat[b] else max(pat_lo[b], m_lo)
            has_pat[b] = True
        o += n
    return np.minimum(rel_up, pat_up), np.minimum(rel_lo, pat_lo)
