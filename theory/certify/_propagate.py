"""Rigorous float64 bound propagation through a :class:`~theory.certify._cone.Rep` (the engine of
:func:`certify_sup_error`).

* :func:`propagate`: forward affine bound propagation (symbolic intervals, as in Wang et al., "Formal
  security analysis of neural networks using symbolic intervals", USENIX Security 2018, and the forward
  mode of CROWN/DeepPoly) intersected with interval bound propagation (IBP), vectorised over units and over
  a batch of boxes, classifying every unit as dead, active or unstable.
* :func:`theory.certify._simplify.simplify` (its own module): the rep restricted to one box, only its unstable
  ReLUs kept, with the same error accounting.
* :func:`exact_output`: the network at a point in exact rational arithmetic, skipping provably dead cones.

Soundness of the float arithmetic. Every quantity is a pair (float form, scalar error bound E) meaning "the
true function lies within E of the form on the box". A float sum of m products differs from the exact
one by at most gamma_m * sum |terms| (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
Lemma 3.1 and section 3.1: any summation order), plus at most 2^-1074 per operation for underflow. We add
``slack(m) * sum|terms| + m * TINY`` with ``slack(m) = 2 (m + 4) 2^-53 >= 2 gamma_(m+4)`` (the factor 2
also covers the rounding of the error computation itself), and every final endpoint is moved one ulp
outward with ``np.nextafter`` so that the last rounding (to nearest, at most half an ulp) is covered.
Exact weights enter as ``float(w)`` (correctly rounded) with radius ``|w - float(w)|`` rounded up. The
ReLU relaxation's chord slope ``s >= hi / (hi - lo)`` is rounded up, which keeps ``s (z - lo)`` above
``relu(z)`` on ``[lo, hi]``. A unit whose bounds straddle zero only by rounding noise (``lo >= -tau``,
``tau`` = 4x its own error budget) is treated as active with the extra error ``relu(z) - z in [0, -lo]``
added to E (and symmetrically for "almost dead" units), so boxes that end exactly on a ReLU's breakpoint
are not kept unstable forever by rounding; the substitution is sound because the error is carried along.
Non-finite values (overflow) make every affected bound infinite, never a finite claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from ._cone import Cone, Rep, segsum, to_local
from ._intervals import TINY, dn, slack, up

DEAD, ADEAD, ACTIVE, AACTIVE, UNSTABLE, LINEAR = 0, 1, 2, 3, 4, 5


@dataclass
class Propagation:
    """Result of :func:`propagate` over a batch of B boxes (arrays ``(n, B)`` unless noted).

    ``zlo``/``zhi``: rigorous pre-activation bounds; ``cls``: DEAD..LINEAR; ``hmag``: bound of ``|h|``;
    ``out_L``/``out_U`` ``(k+1, B)``: affine forms in ``x - rep.o`` (coefficients then constant) with
    ``out_L(x) - out_E <= net(x) <= out_U(x) + out_E`` on each box.
    """

    zlo: np.ndarray
    zhi: np.ndarray
    cls: np.ndarray
    hmag: np.ndarray
    out_L: np.ndarray
    out_U: np.ndarray
    out_E: np.ndarray


def _form_mag(F: np.ndarray, X: np.ndarray, k: int) -> np.ndarray:
    """``|F_0| + sum_a |F_a| X_a`` for forms ``F (m, k+1, B)`` and ``X (k, B)``."""
    return np.abs(F[:, k, :]) + np.einsum("mab,ab->mb", np.abs(F[:, :k, :]), X)


def _form_min_max(F: np.ndarray, lo: np.ndarray, hi: np.ndarray, X: np.ndarray, k: int):
    """Float min/max of affine forms ``F (m, k+1, B)`` over boxes, and a rigorous error bound of both."""
    fl = F[:, :k, :] * lo[None]
    fh = F[:, :k, :] * hi[None]
    mn = F[:, k, :] + np.minimum(fl, fh).sum(axis=1)
    mx = F[:, k, :] + np.maximum(fl, fh).sum(axis=1)
    err = slack(k + 1) * _form_mag(F, X, k) + TINY
    return mn, mx, err


def propagate(rep: Rep, lo: np.ndarray, hi: np.ndarray, tol: bool = True) -> Propagation:
    """Forward affine + interval bound propagation of ``rep`` over B boxes ``[lo, hi]`` (shape ``(k, B)``).

    Forms are in the rep's centred coordinates ``x - rep.o``.

    Formula, per unit (forms L, U of the pre-activation, with error E):
    ``L_z = a.x + c + sum w+ L_h + w- U_h``, ``U_z`` symmetric,
    ``E_z = E_j + sum |w| E_h + sum rw |h|max + rounding``; the bounds are
    ``[min L_z - E_z, max U_z + E_z]`` intersected with IBP ``c + a.[lo,hi] + sum w [h_lo, h_hi]``.
    ReLU: dead (``hi <= 0``) gives 0, active (``lo >= 0``) the identity, unstable the triangle relaxation
    ``lam z <= relu(z) <= s (z - lo)`` with ``lam = [hi >= -lo]`` and ``s >= hi / (hi - lo)``.
    Shape: ``lo, hi (k, B)``; every result ``(n, B)``.
    """
    k, n = rep.k, rep.n
    B = lo.shape[1]
    K1 = k + 1
    lo, hi = to_local(rep, lo, hi)
    X = np.maximum(np.abs(lo), np.abs(hi))
    Lh = np.empty((n, K1, B))
    Uh = np.empty((n, K1, B))
    Eh = np.empty((n, B))
    Mh = np.empty((n, B))
    hlo = np.empty((n, B))
    hhi = np.empty((n, B))
    zlo_all = np.empty((n, B))
    zhi_all = np.empty((n, B))
    cls_all = np.empty((n, B), dtype=np.int8)
    for l in range(len(rep.src)):
        s, e = int(rep.starts[l]), int(rep.starts[l + 1])
        m = e - s
        al, cl = rep.a[s:e], rep.c[s:e]
        zL = np.empty((m, K1, B))
        zL[:, :k, :] = al[:, :, None]
        zL[:, k, :] = cl[:, None]
        zU = zL.copy()
        aX = np.abs(al) @ X + np.abs(cl)[:, None]  # (m, B)
        ibp_lo = cl[:, None] + np.maximum(al, 0) @ lo + np.minimum(al, 0) @ hi
        ibp_hi = cl[:, None] + np.maximum(al, 0) @ hi + np.minimum(al, 0) @ lo
        Epert = np.repeat(rep.E[s:e, None], B, axis=1)
        Ez = Epert.copy()
        form_mag = aX.copy()
        ibp_mag = aX.copy()
        src, seg, own = rep.src[l], rep.seg[l], rep.own[l]
        if src.size:
            w = rep.w[l]
            wp, wn = np.maximum(w, 0)[:, None, None], np.minimum(w, 0)[:, None, None]
            Ls, Us = Lh[src], Uh[src]
            zL += segsum(wp * Ls + wn * Us, seg, own, m)
            zU += segsum(wp * Us + wn * Ls, seg, own, m)
            aw = np.abs(w)[:, None]
            hmag_src = np.maximum(np.abs(hlo[src]), np.abs(hhi[src]))
            if rep.rw[l] is not None:
                Epert += segsum(rep.rw[l][:, None] * hmag_src, seg, own, m)
            Ez = Epert + segsum(aw * Eh[src], seg, own, m)
            form_mag += segsum(aw * Mh[src], seg, own, m)
            ibp_mag += segsum(aw * hmag_src, seg, own, m)
            ibp_lo += segsum(wp[:, :, 0] * hlo[src] + wn[:, :, 0] * hhi[src], seg, own, m)
            ibp_hi += segsum(wp[:, :, 0] * hhi[src] + wn[:, :, 0] * hlo[src], seg, own, m)
        nterm = (rep.fanin[l] + k + 2)[:, None]
        Ez = up(Ez + slack(nterm) * form_mag + nterm * TINY)
        Eibp = up(Epert + slack(nterm) * ibp_mag + nterm * TINY)
        mnL, _, errL = _form_min_max(zL, lo, hi, X, k)
        _, mxU, errU = _form_min_max(zU, lo, hi, X, k)
        tl = up(Ez + errL)
        tu = up(Ez + errU)
        zlo = np.maximum(dn(mnL - tl), dn(ibp_lo - Eibp))
        zhi = np.minimum(up(mxU + tu), up(ibp_hi + Eibp))
        bad_ = ~(np.isfinite(zlo) & np.isfinite(zhi))
        if bad_.any():
            zlo = np.where(bad_, -np.inf, zlo)
            zhi = np.where(bad_, np.inf, zhi)
            Ez = np.where(bad_, np.inf, Ez)
        zlo_all[s:e], zhi_all[s:e] = zlo, zhi
        # ---- activation
        is_relu = rep.relu[s:e][:, None]
        dead = is_relu & (zhi <= 0)
        active = is_relu & ~dead & (zlo >= 0)
        if tol:
            # rounding noise of this unit's own bounds (not the inherited perturbation E: a tolerance that grew
            # with E would feed E back into itself level after level)
            tau = 4.0 * (slack(nterm) * form_mag + np.maximum(errL, errU))
            adead = is_relu & ~dead & ~active & (zhi <= tau)
            aact = is_relu & ~dead & ~active & ~adead & (zlo >= -tau)
        else:
            adead = aact = np.zeros_like(dead)
        unst = is_relu & ~(dead | active | adead | aact)
        cls = np.full((m, B), LINEAR, dtype=np.int8)
        cls[dead], cls[adead], cls[active], cls[aact], cls[unst] = DEAD, ADEAD, ACTIVE, AACTIVE, UNSTABLE
        cls_all[s:e] = cls
        passthru = ~is_relu | active | aact
        # chord slope s >= zhi / (zhi - zlo), rounded up; only used where unstable
        with np.errstate(divide="ignore", invalid="ignore"):
            sl = np.where(unst, up(zhi / dn(zhi - zlo)), 0.0)
        lam = unst & (zhi >= -zlo)
        keepL = passthru | lam
        Lh[s:e] = np.where(keepL[:, None, :], zL, 0.0)
        Uc = zU * sl[:, None, :]
        Uc[:, k, :] = zU[:, k, :] * sl - zlo * sl
        Uh[s:e] = np.where(passthru[:, None, :], zU, np.where(unst[:, None, :], Uc, 0.0))
        with np.errstate(invalid="ignore"):
            chordE = up(sl * Ez + slack(3) * sl * (_form_mag(zU, X, k) + np.abs(zlo)) + TINY)
        Eh[s:e] = np.where(passthru, Ez, 0.0)
        Eh[s:e] = np.where(aact, up(Ez - zlo), Eh[s:e])
        Eh[s:e] = np.where(adead, zhi, Eh[s:e])
        Eh[s:e] = np.where(unst, np.maximum(np.where(lam, Ez, 0.0), chordE), Eh[s:e])
        hlo[s:e] = np.where(is_relu, np.maximum(zlo, 0.0), zlo)
        hhi[s:e] = np.where(is_relu, np.maximum(zhi, 0.0), zhi)
        Mh[s:e] = np.maximum(_form_mag(Lh[s:e], X, k), _form_mag(Uh[s:e], X, k))
    hmag = np.maximum(np.abs(hlo), np.abs(hhi))
    return Propagation(zlo_all, zhi_all, cls_all, hmag, Lh[-1].copy(), Uh[-1].copy(), Eh[-1].copy())


# ----------------------------------------------------------------------------------------------- exact eval
def exact_output(cone: Cone, root: Rep, x: np.ndarray, var_index: Sequence[int]) -> Fraction:
    """The network's output at the float point ``x`` (box variables), exactly (Fractions).

    A rigorous float propagation over the degenerate box ``[x, x]`` finds the units with ``hi <= 0``: their
    ReLU output is exactly 0, so their cones are skipped; every other unit the output depends on is
    computed in exact rational arithmetic. Formula: ``h_l = act(W_l h_{l-1} + b_l)``, exactly.
    """
    xb = np.asarray(x, dtype=np.float64)[:, None]
    prop = propagate(root, xb, xb, tol=False)
    dead = prop.cls[:, 0] == DEAD
    offs = np.cumsum((0,) + cone.sizes[1:])
    L = len(cone.levels)
    need: list[Any] = [None] * (L + 1)  # per level the units needed (int64 arrays), filled backwards
    need[L] = np.zeros(1, dtype=np.int64)
    for l in range(L - 1, -1, -1):
        src, dst, *_ = cone.levels[l]
        alive = need[l + 1][~dead[offs[l] + need[l + 1]]]
        mask = np.zeros(cone.sizes[l + 1], dtype=bool)
        mask[alive] = True
        need[l] = np.unique(src[mask[dst]])
        need[l + 1] = alive
    vi = np.asarray(var_index, dtype=np.int64)
    vals = {int(i): Fraction(float(x[vi[i]])) for i in need[0]}
    for l, (src, dst, w, bias, is_relu) in enumerate(cone.levels):
        units = need[l + 1]
        mask = np.zeros(cone.sizes[l + 1], dtype=bool)
        mask[units] = True
        new = {int(u): Fraction(bias[u]) for u in units}
        for j in np.flatnonzero(mask[dst]):
            v = vals.get(int(src[j]))
            if v is not None:  # absent: a dead unit, exactly 0
                new[int(dst[j])] += w[j] * v
        if is_relu:
            new = {u: (v if v > 0 else Fraction(0)) for u, v in new.items()}
        vals = new
    return vals.get(0, Fraction(0))
