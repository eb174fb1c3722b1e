"""Activation patterns of a box's unstable ReLUs, pruned by rigorous (Farkas/duality) certificates."""

from __future__ import annotations

import numpy as np

from .._errors import TheoryError
from ._cone import Rep, segsum, to_local
from ._duals import dual_lambda, dual_value, poly_box, poly_cat, poly_clip, poly_lambda, poly_set
from ._intervals import TINY, dn, slack, up


def enumerate_patterns(
    rep: Rep, lo: np.ndarray, hi: np.ndarray, hmag: np.ndarray | None, max_patterns: int, deferred: bool = True
):
    """Affine maps of ``rep`` on one box under every activation pattern of its unstable units.

    Patterns are built level by level. Unit ``t`` under a partial pattern has pre-activation form ``z^p``
    (error ``E``); "on" (``h = z``) is dropped when ``max_box z^p + E < 0`` and "off" (``h = 0``) when
    ``min_box z^p - E > 0``: no point of the box that follows the partial pattern can take the dropped branch.
    A branch that survives only by rounding noise (``|bound| <= tau``) is replaced by the other one with the
    difference added to E. Every point ``x`` of the box follows at least one enumerated pattern ``p``, and
    then ``net(x) = A_p(x) + e`` with ``|e| <= E_p``: so ``sup_box |net - g| <= max_p sup_{P_p} |A_p - g| + E_p``
    where ``P_p`` is the set of box points following ``p``; it is contained in the polytope
    ``{x in box: s_j (z_j^p(x)) + E_j >= 0}`` over the units ``j`` where ``p`` branched (``s_j = +1`` on,
    ``-1`` off), which the constraints returned describe.

    With ``deferred`` (k = 2), pruning decisions are taken from float polygons during the enumeration and all
    of them are proved afterwards in one vectorised call (:func:`_prove_claims`); if any proof fails, the
    enumeration is redone proving each decision as it is taken.

    Args:
        rep: the box's rep; lo, hi: the box, shape ``(k,)``; hmag: ``max |h|`` per unit (for weight radii).
        max_patterns: give up (return None) beyond this many patterns.
        deferred: prove pruning decisions in one batch at the end (k = 2 only).
    Returns:
        ``(F, E, CF, CE, CS)``: forms ``(P, k+1)`` in ``x - rep.o`` (coefficients, constant), errors ``(P,)``, and constraint
        forms ``(P, J, k+1)``, their errors ``(P, J)`` and signs ``(P, J)`` (0: no constraint); or None.
    """
    k, n = rep.k, rep.n
    K1 = k + 1
    lo0, hi0 = lo, hi
    lo, hi = to_local(rep, lo, hi)
    X = np.maximum(np.abs(lo), np.abs(hi))
    cen = np.minimum(np.maximum(0.5 * (lo + hi), lo), hi)
    claims: list[tuple[np.ndarray, ...]] | None = [] if (deferred and k == 2) else None
    rad = up(np.maximum(hi - cen, cen - lo))
    H = np.zeros((1, n, K1))
    Eh = np.zeros((1, n))
    CF = np.zeros((1, 0, K1))
    CE = np.zeros((1, 0))
    CS = np.zeros((1, 0))
    poly = poly_box(lo[None], hi[None]) if k == 2 else None
    for l in range(len(rep.src)):
        s, e = int(rep.starts[l]), int(rep.starts[l + 1])
        m = e - s
        P = H.shape[0]
        z = np.empty((P, m, K1))
        z[:, :, :k] = rep.a[s:e][None]
        z[:, :, k] = rep.c[s:e][None]
        mag = np.repeat((np.abs(rep.a[s:e]) @ X + np.abs(rep.c[s:e]))[None], P, axis=0)
        Ez = np.repeat(rep.E[s:e][None], P, axis=0)
        src, seg, own = rep.src[l], rep.seg[l], rep.own[l]
        if src.size:
            w = rep.w[l]
            Hs = np.moveaxis(H[:, src], 1, 0)  # (E, P, K1)
            z += np.moveaxis(segsum(w[:, None, None] * Hs, seg, own, m), 0, 1)
            Ms = np.abs(Hs[:, :, k]) + np.abs(Hs[:, :, :k]) @ X  # (E, P)
            mag += segsum(np.abs(w)[:, None] * Ms, seg, own, m).T
            Ez += segsum(np.abs(w)[:, None] * Eh[:, src].T, seg, own, m).T
            if rep.rw[l] is not None and hmag is not None:
                Ez += segsum((rep.rw[l] * hmag[src])[:, None], seg, own, m).T
        nterm = (rep.fanin[l] + k + 2)[None]
        rnd = np.broadcast_to(slack(nterm) * mag + nterm * TINY, Ez.shape).copy()
        Ez = up(Ez + rnd)
        for t in range(m):
            j = s + t
            zt = z[:, t, :]
            if not rep.relu[j]:
                H[:, j] = zt
                Eh[:, j] = Ez[:, t]
                continue
            fl, fh = zt[:, :k] * lo, zt[:, :k] * hi
            err = slack(k + 1) * (np.abs(zt[:, k]) + np.abs(zt[:, :k]) @ X) + TINY
            tot = up(Ez[:, t] + err)
            zmin = dn(zt[:, k] + np.minimum(fl, fh).sum(axis=1) - tot)
            zmax = up(zt[:, k] + np.maximum(fl, fh).sum(axis=1) + tot)
            tau = 4.0 * tot
            off = zmax <= 0
            on = ~off & (zmin >= 0)
            noff = ~off & ~on & (zmax <= tau)
            non = ~off & ~on & ~noff & (zmin >= -tau)
            branch = ~(off | on | noff | non)
            if branch.any() and CS.shape[1]:
                # joint bounds on the pattern's polytope: max (z) <= on_t and max (-z) <= off_t there
                need_on = need_off = branch
                if poly is not None:
                    # the float polygon says which branches might be prunable; only those get a certificate
                    V, cntp = poly[0], poly[2]
                    valid = np.arange(V.shape[1])[None, :] < cntp[:, None]
                    with np.errstate(invalid="ignore", over="ignore"):
                        zv = (V * zt[:, None, :k]).sum(axis=2) + zt[:, None, k]
                    zvmax = np.where(valid & ~np.isnan(zv), zv, -np.inf).max(axis=1, initial=-np.inf)
                    zvmin = np.where(valid & ~np.isnan(zv), zv, np.inf).min(axis=1, initial=np.inf)
                    margin = 1e-9 * (np.abs(zt[:, k]) + np.abs(zt[:, :k]) @ X) + 4.0 * tot
                    need_on = branch & (zvmax <= margin)
                    need_off = branch & (zvmin >= -margin)
                elif claims is not None:
                    return enumerate_patterns(rep, lo0, hi0, hmag, max_patterns, deferred=False)
                # tolerance for "almost on/off on the polytope": relative 1e-12 of the unit's scale (the
                # difference is carried in E, so this only trades a negligible error for fewer patterns)
                tj = np.maximum(tau, 1e-12 * (np.abs(zt[:, k]) + np.abs(zt[:, :k]) @ X))
                if claims is not None:
                    # deferred mode: decide from the float polygon now, prove every decision at the end
                    assert poly is not None  # claims are kept only for k == 2, where poly is built
                    on_t = np.where(branch & (zvmax < -tj), -1.0, np.where(branch & (zvmax <= 0.5 * tj), tj, np.inf))
                    off_t = np.where(branch & (zvmin > tj), -1.0, np.where(branch & (zvmin >= -0.5 * tj), tj, np.inf))
                    for sign, tt in ((1.0, on_t), (-1.0, off_t)):
                        rows_ = np.flatnonzero(np.isfinite(tt))
                        if rows_.size:
                            claims.append(
                                (
                                    CF[rows_],
                                    CE[rows_],
                                    CS[rows_],
                                    zt[rows_],
                                    Ez[rows_, t],
                                    poly[0][rows_],
                                    poly[1][rows_],
                                    poly[2][rows_],
                                    np.full(rows_.size, sign),
                                    np.where(tt[rows_] < 0, 0.0, tt[rows_]),
                                    tt[rows_] < 0,
                                )
                            )
                else:
                    on_t, off_t = _branch_bounds(zt, Ez[:, t], CF, CE, CS, cen, rad, need_on, need_off, poly)
                on_inf, off_inf = on_t < 0, off_t < 0
                drop = branch & on_inf & off_inf  # the partial pattern itself has no point
                n_off = branch & ~drop & ~on_inf & ~off_inf & (on_t <= tj)  # z <= tj on the polytope
                n_on = branch & ~drop & ~on_inf & ~off_inf & ~n_off & (off_t <= tj)  # z >= -tj
                off |= branch & on_inf & ~drop
                on |= branch & off_inf & ~drop
                noff |= n_off
                zmax = np.where(n_off, on_t, zmax)
                non |= n_on
                zmin = np.where(n_on, -off_t, zmin)
                branch &= ~(on_inf | off_inf | n_off | n_on)
                if drop.any():
                    keep = ~drop
                    H, Eh, CF, CE, CS, z, Ez = H[keep], Eh[keep], CF[keep], CE[keep], CS[keep], z[keep], Ez[keep]
                    rnd = rnd[keep]
                    if poly is not None:
                        poly = (poly[0][keep], poly[1][keep], poly[2][keep])
                    zt, zmin, zmax = zt[keep], zmin[keep], zmax[keep]
                    off, on, noff, non, branch = off[keep], on[keep], noff[keep], non[keep], branch[keep]
                    if not H.shape[0]:
                        raise TheoryError("internal: every activation pattern was proved infeasible")
            nb = int(branch.sum())
            if H.shape[0] + nb > max_patterns:
                return None
            Hj = np.where((on | non | branch)[:, None], zt, 0.0)
            Ej = np.where(on | branch, Ez[:, t], 0.0)
            Ej = np.where(non, up(Ez[:, t] - zmin), Ej)
            Ej = np.where(noff, zmax, Ej)
            H[:, j], Eh[:, j] = Hj, Ej
            if nb:
                CF = np.concatenate([CF, zt[:, None, :]], axis=1)
                CE = np.concatenate([CE, Ez[:, t : t + 1]], axis=1)
                CS = np.concatenate([CS, np.where(branch, 1.0, 0.0)[:, None]], axis=1)
                bi = np.flatnonzero(branch)
                H2, E2 = H[bi].copy(), Eh[bi].copy()
                H2[:, j], E2[:, j] = 0.0, 0.0  # the "off" copies
                CS2 = CS[bi].copy()
                CS2[:, -1] = -1.0
                H = np.concatenate([H, H2])
                Eh = np.concatenate([Eh, E2])
                CF = np.concatenate([CF, CF[bi]])
                CE = np.concatenate([CE, CE[bi]])
                CS = np.concatenate([CS, CS2])
                z = np.concatenate([z, z[bi]])
                Ez = np.concatenate([Ez, Ez[bi]])
                rnd = np.concatenate([rnd, rnd[bi]])
                if poly is not None:
                    jn = np.full(bi.size, CF.shape[1] - 1)
                    zb, eb = zt[bi], Ez[bi, t]
                    on_p = poly_clip(poly[0][bi], poly[1][bi], poly[2][bi], zb[:, :k], zb[:, k] + eb, jn)
                    off_p = poly_clip(poly[0][bi], poly[1][bi], poly[2][bi], -zb[:, :k], -zb[:, k] + eb, jn)
                    poly = poly_set(poly, bi, on_p)
                    poly = poly_cat(poly, off_p)
    if claims and not _prove_claims(claims, cen, rad):
        return enumerate_patterns(rep, lo0, hi0, hmag, max_patterns, deferred=False)
    return H[:, -1, :].copy(), Eh[:, -1].copy(), CF, CE, CS


def _prove_claims(claims: list, cen: np.ndarray, rad: np.ndarray) -> bool:
    """Prove deferred pruning decisions: each claim says ``max_polytope (s z) < 0`` (strict) or ``<= bound``.

    One vectorised :func:`dual_value` call over all claims (constraints and polygons padded), with multipliers
    from :func:`poly_lambda`. Returns False if any claim is not proved.
    """
    k = cen.size
    J = max(c[0].shape[1] for c in claims)
    Vm = max(c[5].shape[1] for c in claims)

    def pad(a, axis, width, fill=0.0):
        if a.shape[axis] == width:
            return a
        shape = list(a.shape)
        shape[axis] = width - a.shape[axis]
        return np.concatenate([a, np.full(shape, fill, dtype=a.dtype)], axis=axis)

    CF = np.concatenate([pad(c[0], 1, J) for c in claims])
    CE = np.concatenate([pad(c[1], 1, J) for c in claims])
    CS = np.concatenate([pad(c[2], 1, J) for c in claims])
    f = np.concatenate([c[3] for c in claims])
    Ef = np.concatenate([c[4] for c in claims])
    V = np.concatenate([pad(c[5], 1, Vm) for c in claims])
    ids = np.concatenate([pad(c[6], 1, Vm, 0) for c in claims])
    cnt = np.concatenate([c[7] for c in claims])
    sign = np.concatenate([c[8] for c in claims])
    bound = np.concatenate([c[9] for c in claims])
    strict = np.concatenate([c[10] for c in claims])
    N = f.shape[0]
    r = np.broadcast_to(rad, (N, k))
    v = CS[:, :, None] * CF[:, :, :k]
    beta = CS * (CF[:, :, :k] @ cen + CF[:, :, k]) + CE
    beta = up(beta + slack(k + 2) * (np.abs(CF[:, :, :k]) @ np.abs(cen) + np.abs(CF[:, :, k]) + CE) + TINY)
    beta = np.where(CS != 0, beta, 0.0)
    fc = f[:, :k] @ cen + f[:, k]
    fe = up(slack(k + 2) * (np.abs(f[:, :k]) @ np.abs(cen) + np.abs(f[:, k])) + Ef + TINY)
    D = sign[:, None] * f[:, :k]
    lam = poly_lambda(D, V, ids, cnt, v, CS * CF[:, :, k] + CE, beta, r)
    phi, _ = dual_value(D, lam, v, beta, r)
    with np.errstate(invalid="ignore", over="ignore"):
        total = up(up(phi + sign * fc) + fe)
    ok = np.where(strict, total < 0, total <= bound)
    return bool(np.all(ok))


def _branch_bounds(zt, Ezt, CF, CE, CS, cen, rad, need_on, need_off, poly=None):
    """Upper bounds of ``z_t`` (rows ``need_on``) and of ``-z_t`` (rows ``need_off``) over each partial
    pattern's polytope; +inf elsewhere.

    For any ``lam >= 0``, ``max_polytope (s z) <= max_box [s z(x) + sum_j lam_j c_j(x)]`` because every
    ``c_j >= 0`` on the polytope (Lagrangian duality; :func:`dual_value`, rounded up). A negative bound proves
    the branch infeasible (a Farkas certificate); a bound below the rounding tolerance makes the unit
    almost on or almost off there (e.g. a duplicate of an earlier unit, or its negation)."""
    P, J, K1 = CF.shape
    k = K1 - 1
    on_inf = np.full(P, np.inf)
    off_inf = np.full(P, np.inf)
    has = np.any(CS != 0, axis=1)
    for sign, out, need in ((1.0, on_inf, need_on), (-1.0, off_inf, need_off)):
        idx = np.flatnonzero(need & has)
        if not idx.size:
            continue
        cf, ce, cs = CF[idx], CE[idx], CS[idx]
        r = np.broadcast_to(rad, (idx.size, k))
        v = cs[:, :, None] * cf[:, :, :k]
        beta = cs * (cf[:, :, :k] @ cen + cf[:, :, k]) + ce
        beta = up(beta + slack(k + 2) * (np.abs(cf[:, :, :k]) @ np.abs(cen) + np.abs(cf[:, :, k]) + ce) + TINY)
        beta = np.where(cs != 0, beta, 0.0)
        f = zt[idx]
        fc = f[:, :k] @ cen + f[:, k]
        fe = up(slack(k + 2) * (np.abs(f[:, :k]) @ np.abs(cen) + np.abs(f[:, k])) + Ezt[idx] + TINY)
        D = sign * f[:, :k]
        if poly is not None:
            offs = cs * cf[:, :, k] + ce
            lam = poly_lambda(D, poly[0][idx], poly[1][idx], poly[2][idx], v, offs, beta, r)
        else:
            lam = dual_lambda(D, v, beta, r, cs)
        phi, _ = dual_value(D, lam, v, beta, r)
        with np.errstate(invalid="ignore", over="ignore"):
            total = up(up(phi + sign * fc) + fe)
        out[idx] = np.where(np.isnan(total), np.inf, total)
    return on_inf, off_inf
