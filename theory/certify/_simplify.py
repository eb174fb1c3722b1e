"""A rep restricted to one box: dead units removed, active and linear ones substituted, unstable ReLUs kept.

:func:`simplify` takes the classification of every unit on a box from :func:`theory.certify._propagate.propagate`
and rewrites the rep so that only the box's unstable ReLUs (that reach the output) and the output remain; the
rest is substituted into them as affine forms, and everything dropped or rounded goes into the units'
perturbations ``E``. The float-soundness argument (error budgets ``slack(m) * sum|terms| + m * TINY``, one
ulp outward) is the one of :mod:`theory.certify._propagate`. Source: reconstruction.
"""

from __future__ import annotations

import numpy as np

from ._cone import Rep, make_rep, segsum, shift, to_local
from ._intervals import TINY, slack, up
from ._propagate import AACTIVE, ACTIVE, ADEAD, LINEAR, UNSTABLE


def simplify(
    rep: Rep, cls: np.ndarray, zlo: np.ndarray, zhi: np.ndarray, hmag: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> Rep:
    """The rep restricted to one box: dead units removed, active/linear ones substituted, unstable kept.

    Args:
        rep: a rep valid on a box containing this one.
        cls, zlo, zhi, hmag: this box's column of :func:`propagate` (shape ``(n,)``).
        lo, hi: the box, shape ``(k,)``; the result is centred at its centre.
    Returns:
        A rep whose units are the unstable ReLUs of ``rep`` that reach the output, plus the output. Every unit
        ``h_i`` of ``rep`` is written as ``D_i . (x, 1) + sum_q B_iq h_q + eta_i`` over the new units ``q``;
        ``|eta_i| <= Eh_i`` collects the perturbations of ``rep``, the substituted almost-dead/almost-active
        slack, the weight radii times ``max |h|``, and the rounding of every coefficient times the largest
        value of what it multiplies on this box (``X`` for inputs, ``max(hi, 0)`` for new units).
    """
    k = rep.k
    K1 = k + 1
    n = rep.n
    rep = shift(rep, np.minimum(np.maximum(0.5 * (lo + hi), lo), hi))
    ulo, uhi = to_local(rep, lo, hi)
    X = np.maximum(np.abs(ulo), np.abs(uhi))
    Dh = np.zeros((n, K1))
    Eh = np.zeros(n)
    row_start = np.zeros(n, dtype=np.int64)
    row_cnt = np.zeros(n, dtype=np.int64)
    cols_cat = np.zeros(0, dtype=np.int64)
    vals_cat = np.zeros(0)
    NA, NC, NE, NR = [], [], [], []  # new units: a, c, E, relu
    ES, ED, EW = [], [], []  # new edges
    nnew = 0
    level_new = np.zeros(0, dtype=np.int64)
    hmag_new = np.zeros(0)
    n_levels = len(rep.src)
    for l in range(n_levels):
        s, e = int(rep.starts[l]), int(rep.starts[l + 1])
        m = e - s
        Dz = np.empty((m, K1))
        Dz[:, :k] = rep.a[s:e]
        Dz[:, k] = rep.c[s:e]
        mag = np.abs(rep.a[s:e]) @ X + np.abs(rep.c[s:e])
        Ez = rep.E[s:e].copy()
        src, dst, seg, own = rep.src[l], rep.dst[l], rep.seg[l], rep.own[l]
        srow = np.zeros(0, dtype=np.int64)
        scol = np.zeros(0, dtype=np.int64)
        sval: np.ndarray = np.zeros(0)  # float64 (np.bincount with weights; stubs say intp)
        if src.size:
            w = rep.w[l]
            aw = np.abs(w)
            Dz += segsum(w[:, None] * Dh[src], seg, own, m)
            Msrc = np.abs(Dh[src, k]) + np.abs(Dh[src, :k]) @ X
            mag += segsum((aw * Msrc)[:, None], seg, own, m)[:, 0]
            Ez += segsum((aw * Eh[src])[:, None], seg, own, m)[:, 0]
            if rep.rw[l] is not None:
                Ez += segsum((rep.rw[l] * hmag[src])[:, None], seg, own, m)[:, 0]
            cnt = row_cnt[src]
            T = int(cnt.sum())
            if T:
                rep_e = np.repeat(np.arange(src.size), cnt)
                off = np.arange(T) - np.repeat(np.cumsum(cnt) - cnt, cnt)
                pos = row_start[src][rep_e] + off
                col = cols_cat[pos]
                v = w[rep_e] * vals_cat[pos]
                key = dst[rep_e] * (nnew + 1) + col
                uk, inv = np.unique(key, return_inverse=True)
                sval = np.bincount(inv, v, minlength=uk.size)
                sabs = np.bincount(inv, np.abs(v), minlength=uk.size)
                scnt = np.bincount(inv, minlength=uk.size)
                srow, scol = uk // (nnew + 1), uk % (nnew + 1)
                Ez += np.bincount(srow, slack(scnt + 1) * sabs * hmag_new[scol], minlength=m)
                keep = sval != 0
                srow, scol, sval = srow[keep], scol[keep], sval[keep]
        nterm = rep.fanin[l] + k + 2
        Ez = up(Ez + slack(nterm) * mag + nterm * TINY)
        cl = cls[s:e]
        unst = cl == UNSTABLE
        passthru = (cl == ACTIVE) | (cl == AACTIVE) | (cl == LINEAR)
        is_out = l == n_levels - 1
        create = unst | (np.full(m, is_out) & passthru)
        # new units
        cidx = np.flatnonzero(create)
        new_of = np.full(m, -1, dtype=np.int64)
        new_of[cidx] = nnew + np.arange(cidx.size)
        if cidx.size:
            NA.append(Dz[cidx, :k])
            NC.append(Dz[cidx, k])
            NE.append(Ez[cidx])
            NR.append(unst[cidx])
            sel = create[srow]
            e_src, e_dst, e_w = scol[sel], new_of[srow[sel]], sval[sel]
            ES.append(e_src)
            ED.append(e_dst)
            EW.append(e_w)
            lev = np.zeros(cidx.size, dtype=np.int64)
            if e_src.size:
                np.maximum.at(lev, e_dst - nnew, level_new[e_src] + 1)
            level_new = np.concatenate([level_new, lev])
            hmag_new = np.concatenate([hmag_new, np.where(unst[cidx], np.maximum(zhi[s:e][cidx], 0.0), 0.0)])
            nnew += cidx.size
        # h expressions of this level's units
        Dh[s:e] = np.where(passthru[:, None], Dz, 0.0)
        Ehl = np.where(passthru, Ez, 0.0)
        Ehl = np.where(cl == AACTIVE, up(Ez - zlo[s:e]), Ehl)
        Ehl = np.where(cl == ADEAD, zhi[s:e], Ehl)
        Eh[s:e] = Ehl
        pt = passthru[srow]
        r_rows = np.concatenate([srow[pt], np.flatnonzero(unst)])
        r_cols = np.concatenate([scol[pt], new_of[unst]])
        r_vals = np.concatenate([sval[pt], np.ones(int(unst.sum()))])
        order = np.argsort(r_rows, kind="stable")
        r_rows, r_cols, r_vals = r_rows[order], r_cols[order], r_vals[order]
        cnts = np.bincount(r_rows, minlength=m)
        row_cnt[s:e] = cnts
        row_start[s:e] = cols_cat.size + np.cumsum(cnts) - cnts
        cols_cat = np.concatenate([cols_cat, r_cols])
        vals_cat = np.concatenate([vals_cat, r_vals])
    # keep only new units that reach the output (the last one)
    S = np.concatenate(ES) if ES else np.zeros(0, np.int64)
    D = np.concatenate(ED) if ED else np.zeros(0, np.int64)
    W = np.concatenate(EW) if EW else np.zeros(0)
    reach = np.zeros(nnew, dtype=bool)
    reach[nnew - 1] = True
    if S.size:
        by_dst_level = level_new[D]
        for lv in range(int(level_new.max()), 0, -1):
            sel = (by_dst_level == lv) & reach[D]
            reach[S[sel]] = True
    idx = np.flatnonzero(reach)
    remap = np.full(nnew, -1, dtype=np.int64)
    remap[idx] = np.arange(idx.size)
    ke = reach[D] & reach[S] if S.size else np.zeros(0, bool)
    a = np.concatenate(NA)[idx]
    c = np.concatenate(NC)[idx]
    E = np.concatenate(NE)[idx]
    relu = np.concatenate(NR)[idx]
    out_level = level_new[nnew - 1]
    lev = level_new[idx]
    lev[-1] = out_level
    return make_rep(k, rep.o, lev, a, c, E, relu, remap[S[ke]], remap[D[ke]], W[ke], None)
