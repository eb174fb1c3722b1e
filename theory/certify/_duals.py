"""Lagrangian bounds of linear maxima over a box cut by linear constraints (the Farkas checks of pattern pruning).

For any ``lam >= 0``, ``max_{x in box, c_j(x) >= 0} d.x <= max_box [d.x + sum_j lam_j c_j(x)]`` (weak
duality); :func:`dual_value` evaluates the right-hand side with every operation rounded up, so it is
rigorous for *any* multipliers, and :func:`dual_lambda` (coordinate descent) and :func:`poly_lambda` (the
optimal vertex of a float polygon, k = 2) only search for good ones.
"""

from __future__ import annotations

import numpy as np

from ._intervals import TINY, slack, up


# ----------------------------------------------------------------------------------------------- polygons (k = 2)
# Float polygons (box clipped by a pattern's constraints) are only a *search* device: they propose Lagrange
# multipliers (from the constraints active at an optimal vertex); every claim is then checked with
# :func:`dual_value`, which is rigorous for any multipliers. Each vertex records the two lines through it:
# box edges are -1 (x1 = lo1), -2 (x0 = hi0), -3 (x1 = hi1), -4 (x0 = lo0); constraints their column j >= 0.
def poly_box(lo: np.ndarray, hi: np.ndarray):
    """Boxes ``(N, 2)`` as counter-clockwise polygons ``(V (N, 4, 2), ids (N, 4, 2), cnt (N,))``."""
    N = lo.shape[0]
    V = np.stack(
        [
            np.stack([lo[:, 0], lo[:, 1]], 1),
            np.stack([hi[:, 0], lo[:, 1]], 1),
            np.stack([hi[:, 0], hi[:, 1]], 1),
            np.stack([lo[:, 0], hi[:, 1]], 1),
        ],
        axis=1,
    )
    ids = np.broadcast_to(np.array([[-4, -1], [-1, -2], [-2, -3], [-3, -4]]), (N, 4, 2)).copy()
    return V, ids, np.full(N, 4, dtype=np.int64)


def poly_clip(V, ids, cnt, w, b, line):
    """Clip polygons by ``w . x + b >= 0`` (rows ``(N, 2)``, ``(N,)``; ``line`` the id of the new line)."""
    N, Vm, _ = V.shape
    if Vm == 0:
        return V, ids, cnt
    with np.errstate(all="ignore"):
        return _poly_clip(V, ids, cnt, w, b, line)


def _poly_clip(V, ids, cnt, w, b, line):
    N, Vm, _ = V.shape
    ar = np.arange(Vm)
    valid = ar[None, :] < cnt[:, None]
    s = (V * w[:, None, :]).sum(axis=2) + b[:, None]
    scale = (np.abs(V) * np.abs(w[:, None, :])).sum(axis=2) + np.abs(b)[:, None]
    s = np.where(np.abs(s) <= 1e-12 * scale, 0.0, s)
    nxt = np.where(ar[None, :] + 1 < cnt[:, None], ar[None, :] + 1, 0)
    Vn = np.take_along_axis(V, nxt[:, :, None], axis=1)
    idn = np.take_along_axis(ids, nxt[:, :, None], axis=1)
    sn = np.take_along_axis(s, nxt, axis=1)
    keep = valid & (s >= 0)
    cross = valid & (((s > 0) & (sn < 0)) | ((s < 0) & (sn > 0)))
    t = s / (s - sn)
    P = V + t[:, :, None] * (Vn - V)
    shared = np.where((ids[:, :, 0:1] == idn).any(axis=2), ids[:, :, 0], ids[:, :, 1])
    Pid = np.stack([shared, np.broadcast_to(line[:, None], shared.shape)], axis=2)
    outV = np.stack([V, P], axis=2).reshape(N, 2 * Vm, 2)
    outI = np.stack([ids, Pid], axis=2).reshape(N, 2 * Vm, 2)
    m = np.stack([keep, cross], axis=2).reshape(N, 2 * Vm)
    order = np.argsort(~m, axis=1, kind="stable")
    newcnt = m.sum(axis=1)
    width = int(newcnt.max()) if N else 0
    order = order[:, :width]
    return (
        np.take_along_axis(outV, order[:, :, None], axis=1),
        np.take_along_axis(outI, order[:, :, None], axis=1),
        newcnt,
    )


def _poly_pad(p, width):
    V, ids, cnt = p
    if V.shape[1] >= width:
        return p
    padV = np.zeros((V.shape[0], width - V.shape[1], 2))
    padI = np.zeros((V.shape[0], width - V.shape[1], 2), dtype=ids.dtype)
    return np.concatenate([V, padV], axis=1), np.concatenate([ids, padI], axis=1), cnt


def poly_set(p, rows, q):
    """Polygons ``p`` with rows ``rows`` replaced by ``q``."""
    w = max(p[0].shape[1], q[0].shape[1])
    V, ids, cnt = _poly_pad(p, w)
    qV, qI, qc = _poly_pad(q, w)
    V, ids, cnt = V.copy(), ids.copy(), cnt.copy()
    V[rows], ids[rows], cnt[rows] = qV, qI, qc
    return V, ids, cnt


def poly_cat(p, q):
    w = max(p[0].shape[1], q[0].shape[1])
    p, q = _poly_pad(p, w), _poly_pad(q, w)
    return np.concatenate([p[0], q[0]]), np.concatenate([p[1], q[1]]), np.concatenate([p[2], q[2]])


def poly_lambda(d, V, ids, cnt, v, off, beta, r, n_active: int = 4):
    """Multipliers proposed by the vertex maximising ``d . x`` over each polygon (k = 2).

    At an optimal vertex ``y*``, ``d + sum_j mu_j v_j`` must be a combination of the active box-face normals
    (KKT). Vertices are often degenerate (boxes split at grid lines, several kinks through one grid vertex),
    so the candidates are: ``mu = 0``; one active constraint with either axis free (``mu = -d_b / v_jb``); two
    active constraints (``d + mu_1 v_1 + mu_2 v_2 = 0``), among the ``n_active`` constraints closest to active
    at ``y*``. The candidate with the smallest dual value ``sum_a |d_a + sum mu v_a| r_a + sum mu beta`` wins.
    Any ``lam >= 0`` is sound (the caller evaluates it rigorously); this only searches.
    Shapes: ``d (N, 2)``, ``v (N, J, 2)``, ``off, beta (N, J)`` (constraint ``v . x + off >= 0``), ``r (N, 2)``.
    """
    N, J, _ = v.shape
    lam = np.zeros((N, J))
    if not V.shape[1] or not J:
        return lam
    rows = np.arange(N)
    valid = np.arange(V.shape[1])[None, :] < cnt[:, None]
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        val = np.where(valid, (V * d[:, None, :]).sum(axis=2), -np.inf)
        best = np.argmax(val, axis=1)
        y = V[rows, best]  # (N, 2)
        act = np.abs((v * y[:, None, :]).sum(axis=2) + off)
        scl = (np.abs(v) * np.abs(y[:, None, :])).sum(axis=2) + np.abs(off) + 1e-300
        act = np.where((np.abs(v).sum(axis=2) > 0) & (cnt > 0)[:, None], act / scl, np.inf)
        A = min(n_active, J)
        cand_j = np.argsort(act, axis=1, kind="stable")[:, :A]  # (N, A)
        ok_j = np.take_along_axis(act, cand_j, axis=1) <= 1e-7
        vA = np.take_along_axis(v, cand_j[:, :, None], axis=1)  # (N, A, 2)
        bA = np.take_along_axis(beta, cand_j, axis=1)
        cands = [np.zeros((N, A))]
        for i in range(A):
            for ax in (0, 1):
                mu = np.zeros((N, A))
                mu[:, i] = -d[:, ax] / vA[:, i, ax]
                cands.append(mu)
        for i in range(A):
            for j in range(i + 1, A):
                v1, v2 = vA[:, i], vA[:, j]
                det = v1[:, 0] * v2[:, 1] - v1[:, 1] * v2[:, 0]
                mu = np.zeros((N, A))
                mu[:, i] = (-d[:, 0] * v2[:, 1] + d[:, 1] * v2[:, 0]) / det
                mu[:, j] = (-v1[:, 0] * d[:, 1] + v1[:, 1] * d[:, 0]) / det
                cands.append(mu)
        C = np.stack(cands, axis=1)  # (N, C, A)
        C = np.where(np.isfinite(C) & (C > 0) & ok_j[:, None, :], C, 0.0)
        q = d[:, None, :] + np.einsum("nca,nax->ncx", C, vA)
        phi = (np.abs(q) * r[:, None, :]).sum(axis=2) + (C * bA[:, None, :]).sum(axis=2)
        phi = np.where(np.isfinite(phi), phi, np.inf)
        pick = np.argmin(phi, axis=1)
    np.put_along_axis(lam, cand_j, C[rows, pick], axis=1)
    return lam


def dual_lambda(D, v, beta, r, CS):
    """Multipliers ``lam >= 0`` (heuristic, any value is sound) for ``max D.y`` over the constrained box.

    ``phi(lam) = sum_a |D_a + sum_j lam_j v_ja| r_a + sum_j lam_j beta_j`` is convex and piecewise linear in
    each ``lam_j``; two sweeps of exact coordinate minimisation (minimum at 0 or a kink ``-u_a / v_ja``).
    Shapes: ``D, r (N, k)``, ``v (N, J, k)``, ``beta, CS (N, J)``.
    """
    N, J = CS.shape
    lam = np.zeros((N, J))
    cols = np.flatnonzero(np.any(CS != 0, axis=0)) if J else []
    rows = np.arange(N)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(2):
            for j in cols:
                vj = v[:, j]
                u = D + np.einsum("nj,nja->na", lam, v) - lam[:, j, None] * vj
                cand = np.where(vj != 0, -u / vj, 0.0)
                cand = np.where(np.isfinite(cand) & (cand > 0), cand, 0.0)
                cand = np.concatenate([np.zeros((N, 1)), cand], axis=1)
                vals = (np.abs(u[:, None, :] + cand[:, :, None] * vj[:, None, :]) * r[:, None, :]).sum(axis=2)
                vals = np.where(np.isfinite(vals), vals + cand * beta[:, j, None], np.inf)
                lam[:, j] = np.where(CS[:, j] != 0, cand[rows, np.argmin(vals, axis=1)], 0.0)
    return lam


def dual_value(D, lam, v, beta, r):
    """Rigorous upper bound of ``phi(lam)`` (see :func:`dual_lambda`), every operation rounded up."""
    N, k = D.shape
    J = lam.shape[1]
    with np.errstate(invalid="ignore", over="ignore"):
        q = D + np.einsum("nj,nja->na", lam, v) if J else D
        qerr = slack(J + 1) * (np.abs(D) + (np.einsum("nj,nja->na", lam, np.abs(v)) if J else 0.0)) + TINY
        phi = np.zeros(N)
        for a in range(k):
            phi = up(phi + up(up(np.abs(q[:, a]) + qerr[:, a]) * r[:, a]))
        for j in range(J):
            phi = up(phi + up(lam[:, j] * beta[:, j]))
    return np.where(np.isnan(phi), np.inf, phi), q
