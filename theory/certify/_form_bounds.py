"""Rigorous bounds of ``sup (F - g)`` and ``sup (g - F)`` for affine forms ``F`` on constrained boxes.

Three enclosures, the smallest kept per side (see :func:`form_bounds`): the natural extension, the
mean-value form with the linear maximum bounded by Lagrangian duality (:mod:`theory.certify._duals`), and the
second-order Taylor form with the quadratic maximised face by face in interval arithmetic
(:func:`_quad_max`; Neumaier, *Interval Methods for Systems of Equations*, 1990).
"""

from __future__ import annotations

import itertools

import numpy as np

from ._duals import dual_lambda, dual_value
from ._enclosure import GData
from ._intervals import TINY, dn, iv_abs, iv_add, iv_div, iv_mul, iv_neg, iv_sub, slack, up


def _usum(*terms):
    """Sum rounded upward after every addition (elementwise)."""
    acc = terms[0]
    for t in terms[1:]:
        acc = up(acc + t)
    return acc


def _pt(x):
    return (x, x)


FACE_MAX_K = 3
"""Largest number of variables whose faces are enumerated (3^k faces, adjugates up to 3 x 3); with more
variables (a target in inputs outside the network's cone adds some) the quadratic gets the interval bound
of the whole box."""


def _quad_max(alpha: np.ndarray, beta: list, Q: list, r: np.ndarray) -> np.ndarray:
    """Rigorous upper bound of ``max_{|y_a| <= r_a} alpha + beta.y + y^T Q y / 2`` (any k; N rows).

    The maximum lies in the relative interior of some face of the box (coordinates outside the face at
    ``+-r_a``). On a face with free coordinates F, an interior maximum needs ``M = -Q_FF`` positive definite;
    then its value is ``alpha_F + b^T M^-1 b / 2`` (adjugate formula in interval arithmetic). Faces where
    ``M`` is proved not positive definite (a leading minor ``<= 0``), or whose stationary point ``M^-1 b``
    is proved outside the face, have their maximum on smaller faces and are skipped; undecided faces get the
    interval bound ``alpha_F + sum |b_i| r_i + sum |Q_ij| r_i r_j / 2``. Beyond :data:`FACE_MAX_K` variables
    only that interval bound of the whole box is used (it covers every point of the box, so it is sound).
    Args: ``alpha (N,)`` (an upper value), ``beta`` k intervals, ``Q`` k x k intervals, ``r (N, k)``.
    """
    N, k = r.shape
    if k > FACE_MAX_K:
        return _natural(_pt(alpha), beta, Q, r)[1]
    best = np.full(N, -np.inf)
    half = (np.full(N, 0.5), np.full(N, 0.5))
    for m in range(k + 1):
        for F in itertools.combinations(range(k), m):
            fixed = [a for a in range(k) if a not in F]
            for signs in itertools.product((-1.0, 1.0), repeat=len(fixed)):
                y = {a: _pt(s * r[:, a]) for a, s in zip(fixed, signs)}
                aF = _pt(alpha)
                for a in fixed:
                    aF = iv_add(aF, iv_mul(beta[a], y[a]))
                    for b in fixed:
                        aF = iv_add(aF, iv_mul(half, iv_mul(Q[a][b], iv_mul(y[a], y[b]))))
                bF = []
                for i in F:
                    bi = beta[i]
                    for a in fixed:
                        bi = iv_add(bi, iv_mul(Q[i][a], y[a]))
                    bF.append(bi)
                best = np.maximum(best, _face_max(aF, bF, [[Q[i][j] for j in F] for i in F], r[:, list(F)]))
    return best


def _natural(aF, b, QF, rF):
    """Interval enclosure of ``aF + b.y + y^T QF y / 2`` over ``|y_i| <= rF_i``: ``aF + sum |b_i| r_i +
    sum |Q_ij| r_i r_j / 2`` (outward rounded)."""
    nat = aF
    for i in range(len(b)):
        nat = iv_add(nat, iv_mul(iv_abs(b[i]), _pt(rF[:, i])))
        for j in range(len(b)):
            qm = np.maximum(np.abs(QF[i][j][0]), np.abs(QF[i][j][1]))
            nat = iv_add(nat, iv_mul(_pt(0.5 * qm), iv_mul(_pt(rF[:, i]), _pt(rF[:, j]))))
    return nat


def _face_max(aF, b, QF, rF) -> np.ndarray:
    m = len(b)
    if m == 0:
        return aF[1]
    M = [[iv_neg(q) for q in row] for row in QF]
    nat = _natural(aF, b, QF, rF)  # fallback interval bound of the face
    if m == 1:
        minors = [M[0][0]]
        adj = [[(np.ones_like(aF[0]), np.ones_like(aF[0]))]]
        det = M[0][0]
    elif m == 2:
        minors = [M[0][0]]
        det = iv_sub(iv_mul(M[0][0], M[1][1]), iv_mul(M[0][1], M[1][0]))
        minors.append(det)
        adj = [[M[1][1], iv_neg(M[0][1])], [iv_neg(M[1][0]), M[0][0]]]
    else:
        A00 = iv_sub(iv_mul(M[1][1], M[2][2]), iv_mul(M[1][2], M[2][1]))
        A01 = iv_sub(iv_mul(M[0][2], M[2][1]), iv_mul(M[0][1], M[2][2]))
        A02 = iv_sub(iv_mul(M[0][1], M[1][2]), iv_mul(M[0][2], M[1][1]))
        A11 = iv_sub(iv_mul(M[0][0], M[2][2]), iv_mul(M[0][2], M[2][0]))
        A12 = iv_sub(iv_mul(M[0][2], M[1][0]), iv_mul(M[0][0], M[1][2]))
        A22 = iv_sub(iv_mul(M[0][0], M[1][1]), iv_mul(M[0][1], M[1][0]))
        det = iv_add(iv_add(iv_mul(M[0][0], A00), iv_mul(M[0][1], A01)), iv_mul(M[0][2], A02))
        minors = [M[0][0], A22, det]
        adj = [[A00, A01, A02], [A01, A11, A12], [A02, A12, A22]]
    pd = np.ones_like(aF[0], dtype=bool)
    not_pd = np.zeros_like(pd)
    for mn in minors:
        pd &= mn[0] > 0
        not_pd |= mn[1] <= 0
    # stationary point y* = adj b / det, and b^T adj b
    Ab = []
    for i in range(m):
        acc = iv_mul(adj[i][0], b[0])
        for j in range(1, m):
            acc = iv_add(acc, iv_mul(adj[i][j], b[j]))
        Ab.append(acc)
    outside = np.zeros_like(pd)
    quad = iv_mul(b[0], Ab[0])
    for i in range(m):
        ys = iv_div(Ab[i], det)
        outside |= (ys[0] > rF[:, i]) | (ys[1] < -rF[:, i])
        if i:
            quad = iv_add(quad, iv_mul(b[i], Ab[i]))
    val = iv_add(aF, iv_div(quad, iv_mul(_pt(np.full_like(aF[0], 2.0)), det)))[1]
    out = np.where(pd, np.where(outside, -np.inf, val), np.where(not_pd, -np.inf, nat[1]))
    return np.where(np.isnan(out), np.inf, out)


def form_bounds(F, E, CF, CE, CS, use_up, use_lo, bi, gd: GData, O):
    """Rigorous ``sup (F - g) + E`` (side "up") and ``sup (g - F) + E`` (side "lo") per row.

    Row ``n`` is an affine form in ``x - O[n]`` on box ``bi[n]`` restricted to the polytope of its constraints
    (constraints in the same coordinates). Each side is the
    smallest of three sound bounds: the natural extension ``max_box F - min g(B)``; the mean-value form
    ``(F - g)(c) + max_{polytope} (f - m).(x - c) + sum_a rad_a r_a`` (``dg(B) in m +- rad``, the linear maximum
    by Lagrangian duality, :func:`theory.certify._duals.dual_value`); and the second-order Taylor form
    ``max_{|y| <= r} [(F - g)(c) + (f - dg(c)).y - y^T H(c) y / 2 + lam.(constraints)] + rho`` with
    ``rho = sum |d3 g(B)| r^3 / 6`` and the quadratic maximised rigorously (:func:`_quad_max`).
    Shapes: ``F (N, k+1)``; ``E, bi, use_up, use_lo (N,)``; ``CF (N, J, k+1)``; ``CE, CS (N, J)``; ``O (N, k)``.
    Returns ``(s_up, s_lo, direction)``; sides not in use are ``-inf``; ``direction (N, k)`` points to a
    maximising vertex (for lower-bound candidates).
    """
    N, K1 = F.shape
    k = K1 - 1
    c, r = gd.c[:, bi].T, gd.r[:, bi].T
    lo, hi = gd.lo[:, bi].T, gd.hi[:, bi].T
    a, f0 = F[:, :k], F[:, k]
    g0 = (gd.g0[0][bi], gd.g0[1][bi])
    with np.errstate(invalid="ignore", over="ignore"):
        cu = c - O  # centre in the forms' coordinates
        cerr = np.maximum(np.abs(up(c - O) - cu), np.abs(cu - dn(c - O)))  # >= |fl(c - O) - (c - O)|
        ulo, uhi = dn(lo - O), up(hi - O)
        Fc = f0 + (a * cu).sum(axis=1)
        errc = up(
            slack(k + 1) * (np.abs(f0) + (np.abs(a) * np.abs(cu)).sum(axis=1)) + (np.abs(a) * cerr).sum(axis=1) + TINY
        )
        erru = up(slack(k + 1) * (np.abs(f0) + (np.abs(a) * np.maximum(np.abs(ulo), np.abs(uhi))).sum(axis=1)) + TINY)
        Fmax = _usum(f0 + np.maximum(a * ulo, a * uhi).sum(axis=1), erru)
        Fmin = dn(f0 + np.minimum(a * ulo, a * uhi).sum(axis=1) - erru)
        s_up = up(Fmax - gd.gB[0][bi])
        s_lo = up(gd.gB[1][bi] - Fmin)
        direction = np.zeros((N, k))
        if gd.d1 is not None:
            J = CS.shape[1]
            v = CS[:, :, None] * CF[:, :, :k]
            beta = CS * (np.einsum("nja,na->nj", CF[:, :, :k], cu) + CF[:, :, k]) + CE
            beta = up(
                beta
                + slack(k + 2) * (np.einsum("nja,na->nj", np.abs(CF[:, :, :k]), np.abs(cu)) + np.abs(CF[:, :, k]) + CE)
                + np.einsum("nja,na->nj", np.abs(CF[:, :, :k]), cerr)
                + TINY
            )
            beta = np.where(CS != 0, beta, 0.0)
            d1l = np.stack([gd.d1[i][0][bi] for i in range(k)], axis=1)
            d1h = np.stack([gd.d1[i][1][bi] for i in range(k)], axis=1)
            m = 0.5 * (d1l + d1h)
            rad = up(np.maximum(up(d1h - m), up(m - d1l)) + slack(2) * (np.abs(a) + np.abs(m)) + TINY)
            base = np.zeros(N)
            for i in range(k):
                base = up(base + up(rad[:, i] * r[:, i]))
            Dm = a - m
            lam_up = dual_lambda(Dm, v, beta, r, CS) if J else np.zeros((N, 0))
            lam_lo = dual_lambda(-Dm, v, beta, r, CS) if J else np.zeros((N, 0))
            phi_up, q_up = dual_value(Dm, lam_up, v, beta, r)
            phi_lo, q_lo = dual_value(-Dm, lam_lo, v, beta, r)
            s_up = np.fmin(s_up, _usum(Fc, errc, -g0[0], phi_up, base))
            s_lo = np.fmin(s_lo, _usum(g0[1], -Fc, errc, phi_lo, base))
            direction = np.where((s_up >= s_lo)[:, None], q_up, q_lo)
            if gd.g2 is not None:
                assert gd.g1 is not None and gd.rho is not None  # Target.data sets g1 and rho whenever it sets g2
                g1 = [(gd.g1[i][0][bi], gd.g1[i][1][bi]) for i in range(k)]
                H = [[(gd.g2[i][j][0][bi], gd.g2[i][j][1][bi]) for j in range(k)] for i in range(k)]
                rho = gd.rho[bi]
                for side in (0, 1):
                    lam = lam_up if side == 0 else lam_lo
                    if side == 0:  # F - g
                        alpha = _usum(Fc, errc, -g0[0])
                        bet = [iv_sub(_pt(a[:, i]), g1[i]) for i in range(k)]
                        Q = [[iv_neg(H[i][j]) for j in range(k)] for i in range(k)]
                    else:  # g - F
                        alpha = _usum(g0[1], -Fc, errc)
                        bet = [iv_sub(g1[i], _pt(a[:, i])) for i in range(k)]
                        Q = H
                    for j in range(J):
                        alpha = up(alpha + up(lam[:, j] * beta[:, j]))
                        for i in range(k):
                            bet[i] = iv_add(bet[i], iv_mul(_pt(lam[:, j]), _pt(v[:, j, i])))
                    t = _usum(_quad_max(alpha, bet, Q, r), rho)
                    if side == 0:
                        s_up = np.fmin(s_up, t)
                    else:
                        s_lo = np.fmin(s_lo, t)
        s_up = up(s_up + E)
        s_lo = up(s_lo + E)
    s_up = np.where(np.isnan(s_up), np.inf, s_up)
    s_lo = np.where(np.isnan(s_lo), np.inf, s_lo)
    return np.where(use_up, s_up, -np.inf), np.where(use_lo, s_lo, -np.inf), direction
