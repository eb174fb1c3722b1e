"""Rigorous float64 bound propagation through a network's output cone (the engine of :func:`certify_sup_error`).

Three objects:

* :class:`Cone`: the output's cone of a :class:`Network` over the inputs it depends on, exact (Fractions):
  units per level, nonzero edges, biases, ReLU flags (the backward walk of :func:`theory.evaluate_exact`).
* :class:`Rep`: a *perturbed affine-ReLU network* in float64 over ``k`` box variables. Unit ``j`` has
  pre-activation ``z_j(x) = a_j . x + c_j + sum_e w_e h_src(e)(x) + p_j(x)`` with an unknown perturbation
  ``|p_j(x)| <= E_j`` on the box the rep was built for (so on every sub-box), and ``h_j = relu(z_j)`` (or
  ``z_j`` for linear units). The root rep is the cone itself (exact weights rounded to float; the rounding
  goes into per-edge radii ``rw`` and into ``E``); :func:`simplify` substitutes the units that a box proves
  dead or active and keeps only the unstable ReLUs, so reps shrink as boxes shrink.
* :func:`propagate`: forward affine bound propagation (symbolic intervals, as in Wang et al., "Formal
  security analysis of neural networks using symbolic intervals", USENIX Security 2018, and the forward
  mode of CROWN/DeepPoly) intersected with interval bound propagation (IBP), vectorised over units and over
  a batch of boxes, classifying every unit as dead, active or unstable.

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
from typing import Sequence

import numpy as np

from ._errors import TheoryError, bad
from ._network import Network

U = 2.0**-53
TINY = 2.0**-1060          # covers the absolute underflow error of one operation (<= 2^-1075) many times over
DEAD, ADEAD, ACTIVE, AACTIVE, UNSTABLE, LINEAR = 0, 1, 2, 3, 4, 5
_FLOAT_MAX_EXP = 1000      # exact weights with |w| >= 2^1000 or 0 < |w| < 2^-1000 are refused (no float headroom)


def slack(m) -> np.ndarray | float:
    """Relative error budget of a float sum of ``m`` products: ``2 (m + 4) 2^-53 >= 2 gamma_(m+4)``."""
    return (np.asarray(m, dtype=np.float64) + 4.0) * (2.0 * U)


def dn(x):
    """One ulp toward -inf (covers a round-to-nearest error of the last operation)."""
    return np.nextafter(x, -np.inf)


def up(x):
    """One ulp toward +inf."""
    return np.nextafter(x, np.inf)


# ----------------------------------------------------------------------------------------------- exact cone
@dataclass(frozen=True, eq=False)
class Cone:
    """The output cone of a single-output network, exact.

    Attributes:
        input_units: original input-unit ids (``p * c_in + c``) the output depends on, sorted.
        names: their variable names (``x{p}`` for one channel, ``x{c}`` for one position, else ``x{c}_{p}``).
        levels: per layer ``(src, dst, w, bias, relu)``: ``src``/``dst`` local unit indices of the previous and
            this level, ``dst`` sorted; ``w`` and ``bias`` object arrays of Fractions.
        sizes: units per level, level 0 being the inputs.
    """

    input_units: np.ndarray
    names: tuple[str, ...]
    levels: tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool], ...]
    sizes: tuple[int, ...]

    @property
    def n_units(self) -> int:
        return int(sum(self.sizes[1:]))


def input_name(net: Network, unit: int) -> str:
    """Name of input unit ``p * c_in + c`` (the convention of :func:`theory.input_symbols`)."""
    p, c = divmod(int(unit), net.c_in)
    if net.d == 1:
        return f"x{c}"
    if net.c_in == 1:
        return f"x{p}"
    return f"x{c}_{p}"


def extract_cone(net: Network) -> Cone:
    """The exact cone of the single output of ``net`` (units it depends on through nonzero weights).

    Raises:
        TheoryError: when ``net`` has more than one output.
    """
    if not isinstance(net, Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    if net.n_outputs != 1:
        raise bad("net", f"{net.n_outputs} outputs", "a network with exactly one output (e.g. compose(select(...), head))")
    needed = [None] * (net.depth + 1)
    needed[-1] = np.zeros(1, dtype=np.int64)
    raw = [None] * net.depth
    for i in range(net.depth - 1, -1, -1):
        which, in_units, nz = net.layers[i].edges(needed[i + 1])
        raw[i] = (which, in_units, nz)
        needed[i] = np.unique(in_units)
    levels = []
    for i, layer in enumerate(net.layers):
        which, in_units, nz = raw[i]
        src = np.searchsorted(needed[i], in_units).astype(np.int64)
        order = np.argsort(which, kind="stable")
        levels.append((src[order], which[order].astype(np.int64), layer.weight.values[nz][order],
                       layer.bias_of(needed[i + 1]), bool(layer.relu)))
    names = tuple(input_name(net, u) for u in needed[0])
    return Cone(needed[0], names, tuple(levels), tuple(int(n.size) for n in needed))


def _to_float(values: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Correctly rounded floats of exact Fractions and rigorous radii ``>= |q - float(q)|``."""
    f = np.empty(values.size, dtype=np.float64)
    r = np.zeros(values.size, dtype=np.float64)
    lo_lim, hi_lim = Fraction(2) ** -_FLOAT_MAX_EXP, Fraction(2) ** _FLOAT_MAX_EXP
    for i, q in enumerate(values):
        q = Fraction(q)
        if q and not lo_lim <= abs(q) <= hi_lim:
            raise TheoryError(f"{what} {q} is outside the float64 range the certifier supports (2^-1000 .. 2^1000)")
        v = float(q)
        f[i] = v
        if q.denominator & (q.denominator - 1) or abs(q.numerator).bit_length() > 53:
            err = abs(Fraction(v) - q)
            if err:
                r[i] = up(float(err))
    return f, r


# ----------------------------------------------------------------------------------------------- float rep
@dataclass(eq=False)
class Rep:
    """A perturbed affine-ReLU network in float64 over ``k`` variables (see the module docstring).

    Units are in topological level order; the last unit is the (linear) output, alone in its level.
    Affine parts are centred at the origin ``o (k,)``: ``a_j . (x - o) + c_j`` (so constants are values near
    the rep's box, not large offsets whose rounding would swamp small errors).
    ``a (n, k)``, ``c (n,)``, ``E (n,)``, ``relu (n,)``; per level ``l``: ``src[l]`` (global ids of earlier
    units), ``dst[l]`` (local ids, sorted), ``w[l]``, ``rw[l]`` (weight radii, or None), and the segment
    starts ``seg[l]`` / segment owners ``own[l]`` used for sorted reductions.
    """

    k: int
    o: np.ndarray
    starts: np.ndarray
    a: np.ndarray
    c: np.ndarray
    E: np.ndarray
    relu: np.ndarray
    src: list
    dst: list
    w: list
    rw: list
    seg: list
    own: list
    fanin: list

    @property
    def n(self) -> int:
        return int(self.starts[-1])

    @property
    def n_relu(self) -> int:
        return int(self.relu.sum())

    @property
    def n_edges(self) -> int:
        return int(sum(s.size for s in self.src))


def make_rep(k: int, o: np.ndarray, level: np.ndarray, a: np.ndarray, c: np.ndarray, E: np.ndarray,
             relu: np.ndarray, src: np.ndarray, dst: np.ndarray, w: np.ndarray, rw: np.ndarray | None) -> Rep:
    """Assemble a :class:`Rep` from flat arrays (units in any order consistent with ``level``)."""
    order = np.argsort(level, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    level = level[order]
    a, c, E, relu = a[order], c[order], E[order], relu[order]
    n_levels = int(level[-1]) + 1 if level.size else 0
    starts = np.searchsorted(level, np.arange(n_levels + 1)).astype(np.int64)
    src, dst = rank[src], rank[dst]
    dlev = level[dst] if dst.size else dst
    key = np.lexsort((dst, dlev))
    src, dst, w = src[key], dst[key], w[key]
    rw = rw[key] if rw is not None else None
    dlev = dlev[key]
    bounds = np.searchsorted(dlev, np.arange(n_levels + 1))
    L_src, L_dst, L_w, L_rw, L_seg, L_own, L_fan = [], [], [], [], [], [], []
    for l in range(n_levels):
        s, e = bounds[l], bounds[l + 1]
        d_local = dst[s:e] - starts[l]
        L_src.append(src[s:e])
        L_dst.append(d_local)
        L_w.append(w[s:e])
        L_rw.append(None if rw is None else rw[s:e])
        if e > s:
            first = np.flatnonzero(np.r_[True, d_local[1:] != d_local[:-1]])
            L_seg.append(first)
            L_own.append(d_local[first])
        else:
            L_seg.append(np.zeros(0, np.int64))
            L_own.append(np.zeros(0, np.int64))
        L_fan.append(np.bincount(d_local, minlength=starts[l + 1] - starts[l]).astype(np.float64))
    return Rep(k, np.asarray(o, dtype=np.float64), starts, a, c, E, relu, L_src, L_dst, L_w, L_rw, L_seg, L_own, L_fan)


def root_rep(cone: Cone, var_index: Sequence[int], k: int, lo: np.ndarray, hi: np.ndarray) -> Rep:
    """The cone as a :class:`Rep` over ``k`` box variables, centred at the box centre ``o``.

    Cone input ``i`` is variable ``var_index[i]``. The first layer's constants ``b + sum_i w_i o_v(i)`` are
    computed exactly (Fractions) and rounded once; rounding of its weights contributes ``|w - fl(w)| R`` to E
    (``R >= max |x - o|`` on the box ``[lo, hi]``); later layers keep per-edge weight radii.
    """
    var_index = np.asarray(var_index, dtype=np.int64)
    o = np.minimum(np.maximum(0.5 * (lo + hi), lo), hi) if k else np.zeros(0)
    R = up(np.maximum(hi - o, o - lo)) if k else np.zeros(0)
    oq = [Fraction(float(v)) for v in o]
    n = cone.n_units
    offs = np.cumsum((0,) + cone.sizes[1:])
    a = np.zeros((n, k))
    c = np.zeros(n)
    E = np.zeros(n)
    relu = np.zeros(n, dtype=bool)
    level = np.zeros(n, dtype=np.int64)
    S, D, W, Rw = [], [], [], []
    for l, (src, dst, w, bias, is_relu) in enumerate(cone.levels):
        off = offs[l]
        m = cone.sizes[l + 1]
        level[off:off + m] = l
        relu[off:off + m] = is_relu
        wf, wr = _to_float(w, "weight")
        if l == 0:
            const = np.empty(m, dtype=object)
            const[:] = [Fraction(bq) for bq in bias]
            for e in range(src.size):
                const[dst[e]] += w[e] * oq[var_index[src[e]]]
            cb, crad = _to_float(const, "bias")
            c[off:off + m], E[off:off + m] = cb, crad
            np.add.at(a, (off + dst, var_index[src]), wf)
            # rounding of the first layer's weights and of their sums: folded into E on the box
            np.add.at(E, off + dst, wr * R[var_index[src]])
            dup = np.bincount(dst, minlength=m).astype(np.float64)
            absa = np.zeros(m)
            np.add.at(absa, dst, np.abs(wf) * R[var_index[src]])
            E[off:off + m] += slack(dup) * absa
        else:
            cb, crad = _to_float(bias, "bias")
            c[off:off + m], E[off:off + m] = cb, crad
            S.append(offs[l - 1] + src)
            D.append(off + dst)
            W.append(wf)
            Rw.append(wr)
    E = up(E + TINY)
    cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt))
    return make_rep(k, o, level, a, c, E, relu, cat(S, np.int64), cat(D, np.int64), cat(W, np.float64),
                    cat(Rw, np.float64))


def to_local(rep: Rep, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Enclosure of the box ``[lo, hi]`` (shape ``(k, ...)``) in the rep's centred coordinates ``x - o``."""
    o = rep.o.reshape((-1,) + (1,) * (lo.ndim - 1))
    return dn(lo - o), up(hi - o)


def shift(rep: Rep, o_new: np.ndarray) -> Rep:
    """The same rep centred at ``o_new``: ``c' = c + a . (o_new - o)``, rounding (and the rounding of the shift
    ``o_new - o`` itself) added to E."""
    d = o_new - rep.o
    derr = np.abs(up(o_new - rep.o) - d)                     # |fl(o_new - o) - (o_new - o)| <= ulp
    derr = np.maximum(derr, np.abs(d - dn(o_new - rep.o)))
    c = rep.c + rep.a @ d
    E = up(rep.E + slack(rep.k + 1) * (np.abs(rep.c) + np.abs(rep.a) @ np.abs(d)) + np.abs(rep.a) @ derr + TINY)
    return Rep(rep.k, np.asarray(o_new, dtype=np.float64), rep.starts, rep.a, c, E, rep.relu, rep.src, rep.dst,
               rep.w, rep.rw, rep.seg, rep.own, rep.fanin)


def _segsum(contrib: np.ndarray, seg: np.ndarray, own: np.ndarray, m: int) -> np.ndarray:
    """Sum rows of ``contrib`` (sorted by owner) into ``m`` rows."""
    out = np.zeros((m,) + contrib.shape[1:])
    if seg.size:
        out[own] = np.add.reduceat(contrib, seg, axis=0)
    return out


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
        aX = np.abs(al) @ X + np.abs(cl)[:, None]                                  # (m, B)
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
            zL += _segsum(wp * Ls + wn * Us, seg, own, m)
            zU += _segsum(wp * Us + wn * Ls, seg, own, m)
            aw = np.abs(w)[:, None]
            hmag_src = np.maximum(np.abs(hlo[src]), np.abs(hhi[src]))
            if rep.rw[l] is not None:
                Epert += _segsum(rep.rw[l][:, None] * hmag_src, seg, own, m)
            Ez = Epert + _segsum(aw * Eh[src], seg, own, m)
            form_mag += _segsum(aw * Mh[src], seg, own, m)
            ibp_mag += _segsum(aw * hmag_src, seg, own, m)
            ibp_lo += _segsum(wp[:, :, 0] * hlo[src] + wn[:, :, 0] * hhi[src], seg, own, m)
            ibp_hi += _segsum(wp[:, :, 0] * hhi[src] + wn[:, :, 0] * hlo[src], seg, own, m)
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


# ----------------------------------------------------------------------------------------------- simplify
def simplify(rep: Rep, cls: np.ndarray, zlo: np.ndarray, zhi: np.ndarray, hmag: np.ndarray, lo: np.ndarray,
             hi: np.ndarray) -> Rep:
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
    NA, NC, NE, NR, NL, NH = [], [], [], [], [], []          # new units: a, c, E, relu, level, hmag
    ES, ED, EW = [], [], []                                   # new edges
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
        sval = np.zeros(0)
        if src.size:
            w = rep.w[l]
            aw = np.abs(w)
            Dz += _segsum(w[:, None] * Dh[src], seg, own, m)
            Msrc = np.abs(Dh[src, k]) + np.abs(Dh[src, :k]) @ X
            mag += _segsum((aw * Msrc)[:, None], seg, own, m)[:, 0]
            Ez += _segsum((aw * Eh[src])[:, None], seg, own, m)[:, 0]
            if rep.rw[l] is not None:
                Ez += _segsum((rep.rw[l] * hmag[src])[:, None], seg, own, m)[:, 0]
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
            NA.append(Dz[cidx, :k]); NC.append(Dz[cidx, k]); NE.append(Ez[cidx]); NR.append(unst[cidx])
            sel = create[srow]
            e_src, e_dst, e_w = scol[sel], new_of[srow[sel]], sval[sel]
            ES.append(e_src); ED.append(e_dst); EW.append(e_w)
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
        for lev in range(int(level_new.max()), 0, -1):
            sel = (by_dst_level == lev) & reach[D]
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


# ----------------------------------------------------------------------------------------------- patterns
def enumerate_patterns(rep: Rep, lo: np.ndarray, hi: np.ndarray, hmag: np.ndarray | None, max_patterns: int,
                       deferred: bool = True):
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
    claims = [] if (deferred and k == 2) else None
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
            Hs = np.moveaxis(H[:, src], 1, 0)                                   # (E, P, K1)
            z += np.moveaxis(_segsum(w[:, None, None] * Hs, seg, own, m), 0, 1)
            Ms = np.abs(Hs[:, :, k]) + np.abs(Hs[:, :, :k]) @ X                  # (E, P)
            mag += _segsum(np.abs(w)[:, None] * Ms, seg, own, m).T
            Ez += _segsum(np.abs(w)[:, None] * Eh[:, src].T, seg, own, m).T
            if rep.rw[l] is not None and hmag is not None:
                Ez += _segsum((rep.rw[l] * hmag[src])[:, None], seg, own, m).T
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
                    on_t = np.where(branch & (zvmax < -tj), -1.0, np.where(branch & (zvmax <= 0.5 * tj), tj, np.inf))
                    off_t = np.where(branch & (zvmin > tj), -1.0, np.where(branch & (zvmin >= -0.5 * tj), tj, np.inf))
                    for sign, tt in ((1.0, on_t), (-1.0, off_t)):
                        rows_ = np.flatnonzero(np.isfinite(tt))
                        if rows_.size:
                            claims.append((CF[rows_], CE[rows_], CS[rows_], zt[rows_], Ez[rows_, t],
                                           poly[0][rows_], poly[1][rows_], poly[2][rows_], np.full(rows_.size, sign),
                                           np.where(tt[rows_] < 0, 0.0, tt[rows_]), tt[rows_] < 0))
                else:
                    on_t, off_t = _branch_bounds(zt, Ez[:, t], CF, CE, CS, cen, rad, need_on, need_off, poly)
                on_inf, off_inf = on_t < 0, off_t < 0
                drop = branch & on_inf & off_inf          # the partial pattern itself has no point
                n_off = branch & ~drop & ~on_inf & ~off_inf & (on_t <= tj)     # z <= tj on the polytope
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
                CE = np.concatenate([CE, Ez[:, t:t + 1]], axis=1)
                CS = np.concatenate([CS, np.where(branch, 1.0, 0.0)[:, None]], axis=1)
                bi = np.flatnonzero(branch)
                H2, E2 = H[bi].copy(), Eh[bi].copy()
                H2[:, j], E2[:, j] = 0.0, 0.0                                     # the "off" copies
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
                    poly = _poly_set(poly, bi, on_p)
                    poly = _poly_cat(poly, off_p)
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


# ----------------------------------------------------------------------------------------------- polygons (k = 2)
# Float polygons (box clipped by a pattern's constraints) are only a *search* device: they propose Lagrange
# multipliers (from the constraints active at an optimal vertex); every claim is then checked with
# :func:`dual_value`, which is rigorous for any multipliers. Each vertex records the two lines through it:
# box edges are -1 (x1 = lo1), -2 (x0 = hi0), -3 (x1 = hi1), -4 (x0 = lo0); constraints their column j >= 0.
def poly_box(lo: np.ndarray, hi: np.ndarray):
    """Boxes ``(N, 2)`` as counter-clockwise polygons ``(V (N, 4, 2), ids (N, 4, 2), cnt (N,))``."""
    N = lo.shape[0]
    V = np.stack([np.stack([lo[:, 0], lo[:, 1]], 1), np.stack([hi[:, 0], lo[:, 1]], 1),
                  np.stack([hi[:, 0], hi[:, 1]], 1), np.stack([lo[:, 0], hi[:, 1]], 1)], axis=1)
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
    return (np.take_along_axis(outV, order[:, :, None], axis=1), np.take_along_axis(outI, order[:, :, None], axis=1),
            newcnt)


def _poly_pad(p, width):
    V, ids, cnt = p
    if V.shape[1] >= width:
        return p
    padV = np.zeros((V.shape[0], width - V.shape[1], 2))
    padI = np.zeros((V.shape[0], width - V.shape[1], 2), dtype=ids.dtype)
    return np.concatenate([V, padV], axis=1), np.concatenate([ids, padI], axis=1), cnt


def _poly_set(p, rows, q):
    """Polygons ``p`` with rows ``rows`` replaced by ``q``."""
    w = max(p[0].shape[1], q[0].shape[1])
    V, ids, cnt = _poly_pad(p, w)
    qV, qI, qc = _poly_pad(q, w)
    V, ids, cnt = V.copy(), ids.copy(), cnt.copy()
    V[rows], ids[rows], cnt[rows] = qV, qI, qc
    return V, ids, cnt


def _poly_cat(p, q):
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
        y = V[rows, best]                                                      # (N, 2)
        act = np.abs((v * y[:, None, :]).sum(axis=2) + off)
        scl = (np.abs(v) * np.abs(y[:, None, :])).sum(axis=2) + np.abs(off) + 1e-300
        act = np.where((np.abs(v).sum(axis=2) > 0) & (cnt > 0)[:, None], act / scl, np.inf)
        A = min(n_active, J)
        cand_j = np.argsort(act, axis=1)[:, :A]                                # (N, A)
        ok_j = np.take_along_axis(act, cand_j, axis=1) <= 1e-7
        vA = np.take_along_axis(v, cand_j[:, :, None], axis=1)                 # (N, A, 2)
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
        C = np.stack(cands, axis=1)                                            # (N, C, A)
        C = np.where(np.isfinite(C) & (C > 0) & ok_j[:, None, :], C, 0.0)
        q = d[:, None, :] + np.einsum("nca,nax->ncx", C, vA)
        phi = (np.abs(q) * r[:, None, :]).sum(axis=2) + (C * bA[:, None, :]).sum(axis=2)
        phi = np.where(np.isfinite(phi), phi, np.inf)
        pick = np.argmin(phi, axis=1)
    np.put_along_axis(lam, cand_j, C[rows, pick], axis=1)
    return lam


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


def breakpoints(rep: Rep) -> tuple[np.ndarray, np.ndarray]:
    """Axis and position of the kink of every ReLU unit whose pre-activation is ``a x_axis + c`` (one variable)."""
    no_in = np.ones(rep.n, dtype=bool)
    for l, src in enumerate(rep.src):
        if src.size:
            no_in[rep.starts[l] + rep.own[l]] = False
    nzc = (rep.a != 0).sum(axis=1)
    sel = np.flatnonzero(rep.relu & no_in & (nzc == 1))
    if not sel.size:
        return np.zeros(0, np.int64), np.zeros(0)
    axis = np.argmax(rep.a[sel] != 0, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = rep.o[axis] - rep.c[sel] / rep.a[sel, axis]
    return axis, pos


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
    need = [None] * (L + 1)
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
            if v is not None:                       # absent: a dead unit, exactly 0
                new[int(dst[j])] += w[j] * v
        if is_relu:
            new = {u: (v if v > 0 else Fraction(0)) for u, v in new.items()}
        vals = new
    return vals.get(0, Fraction(0))


# ----------------------------------------------------------------------------------------------- interval math
# Vectorised interval arithmetic on pairs of float64 arrays (lo, hi), every result rounded outward with
# np.nextafter. IEEE +, -, *, /, sqrt are correctly rounded, so one ulp outward encloses the exact result;
# sin, cos, exp, log are computed here (argument reduction with an enclosure of pi/2 or ln 2, then Taylor
# polynomials in interval arithmetic plus a Lagrange remainder bound), never by the platform libm.
def _fix(lo, hi):
    bad_ = np.isnan(lo) | np.isnan(hi)
    if np.any(bad_):
        lo = np.where(bad_, -np.inf, lo)
        hi = np.where(bad_, np.inf, hi)
    return lo, hi


def iv_const(q: Fraction, shape=()) -> tuple[np.ndarray, np.ndarray]:
    """Enclosure of the exact rational ``q``."""
    f = float(q)
    lo, hi = (f, f) if Fraction(f) == q else (float(dn(f)), float(up(f)))
    return np.full(shape, lo), np.full(shape, hi)


def iv_add(x, y):
    return dn(x[0] + y[0]), up(x[1] + y[1])


def iv_neg(x):
    return -x[1], -x[0]


def iv_sub(x, y):
    return dn(x[0] - y[1]), up(x[1] - y[0])


def iv_mul(x, y):
    with np.errstate(invalid="ignore", over="ignore"):
        p = np.stack(np.broadcast_arrays(x[0] * y[0], x[0] * y[1], x[1] * y[0], x[1] * y[1]))
        p = np.where(np.isnan(p), 0.0, p)                     # 0 * inf: the exact product is 0 there
    return _fix(dn(p.min(axis=0)), up(p.max(axis=0)))


def iv_div(x, y):
    zero = (y[0] <= 0) & (y[1] >= 0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        p = np.stack(np.broadcast_arrays(x[0] / y[0], x[0] / y[1], x[1] / y[0], x[1] / y[1]))
        lo, hi = dn(p.min(axis=0)), up(p.max(axis=0))
    return _fix(np.where(zero, -np.inf, lo), np.where(zero, np.inf, hi))


def iv_abs(x):
    lo = np.where((x[0] <= 0) & (x[1] >= 0), 0.0, np.minimum(np.abs(x[0]), np.abs(x[1])))
    return lo, np.maximum(np.abs(x[0]), np.abs(x[1]))


def iv_pow_int(x, n: int):
    """``x ** n`` for an int n (even powers through |x|, odd ones as x |x|^(n-1))."""
    if n == 0:
        return np.ones_like(x[0]), np.ones_like(x[1])
    if n < 0:
        return iv_div((np.ones_like(x[0]), np.ones_like(x[1])), iv_pow_int(x, -n))
    a = iv_abs(x)
    r = a
    for _ in range(n - 1):
        r = iv_mul(r, a)
    if n % 2:
        # odd power: monotone, x^n = sign(x) |x|^n at each endpoint
        lo_end = iv_pow_int((x[0], x[0]), n - 1)
        hi_end = iv_pow_int((x[1], x[1]), n - 1)
        lo = iv_mul((x[0], x[0]), lo_end)[0]
        hi = iv_mul((x[1], x[1]), hi_end)[1]
        return lo, hi
    return r


def iv_sqrt(x):
    with np.errstate(invalid="ignore"):
        lo = np.where(x[0] <= 0, 0.0, dn(np.sqrt(np.maximum(x[0], 0.0))))
        hi = up(np.sqrt(x[1]))
    neg = x[0] < 0                                           # outside the domain: no finite enclosure
    return _fix(np.where(neg, -np.inf, lo), np.where(neg, np.inf, hi))


def _poly(u, coefs):
    """Interval Horner evaluation of ``sum_i coefs[i] u^i`` (coefs: interval pairs of floats)."""
    acc = (np.full_like(u[0], coefs[-1][0]), np.full_like(u[0], coefs[-1][1]))
    for c in reversed(coefs[:-1]):
        acc = iv_add(iv_mul(acc, u), (np.full_like(u[0], c[0]), np.full_like(u[0], c[1])))
    return acc


def _coef(q: Fraction):
    lo, hi = iv_const(q)
    return float(lo), float(hi)


_FACT = [Fraction(1)]
for _i in range(1, 40):
    _FACT.append(_FACT[-1] * _i)
_SIN_C = [_coef(Fraction((-1) ** i) / _FACT[2 * i + 1]) for i in range(12)]   # sin t = t * S(t^2)
_COS_C = [_coef(Fraction((-1) ** i) / _FACT[2 * i]) for i in range(12)]       # cos t = C(t^2)
_EXP_C = [_coef(1 / _FACT[i]) for i in range(20)]
_LOG_C = [_coef(Fraction(2, 2 * i + 1)) for i in range(20)]                   # log m = s * L(s^2), s=(m-1)/(m+1)
_PIO2 = (1.5707963267948966, float(up(1.5707963267948966)))                  # pi/2 in [lo, hi]
_LN2 = (float(dn(0.6931471805599453)), float(up(0.6931471805599453)))
_PI = (float(dn(np.pi)), float(up(np.pi)))
_E = (float(dn(np.e)), float(up(np.e)))
assert Fraction(_PIO2[0]) < Fraction("1.57079632679489661923132169163975144") < Fraction(_PIO2[1])


def _reduce(x: np.ndarray, c: tuple[float, float]):
    """``x = k c + t``: ``k = rint(x / c)`` (float) and an enclosure of ``t`` (``c`` an enclosed constant)."""
    k = np.rint(x / c[0])
    kc_lo = np.where(k >= 0, dn(k * c[0]), dn(k * c[1]))
    kc_hi = np.where(k >= 0, up(k * c[1]), up(k * c[0]))
    return k, (dn(x - kc_hi), up(x - kc_lo))


def _sincos_point(x: np.ndarray):
    """Enclosures of ``sin x`` and ``cos x`` at points (|x| <= 2^40; beyond: [-1, 1])."""
    big = ~(np.abs(x) <= 2.0**40)
    xs = np.where(big, 0.0, x)
    k, t = _reduce(xs, _PIO2)
    t2 = iv_mul(t, t)
    t2 = (np.maximum(t2[0], 0.0), t2[1])
    tm = np.maximum(np.abs(t[0]), np.abs(t[1]))
    rs = up(2.0 * tm ** 25 / 1.5511210043330986e25)         # 2 |t|^25 / 25!  (remainder of the degree-23 sin)
    rc = up(2.0 * tm ** 24 / 6.204484017332394e23)          # 2 |t|^24 / 24!
    s = iv_mul(t, _poly(t2, _SIN_C))
    s = (dn(s[0] - rs), up(s[1] + rs))
    c = _poly(t2, _COS_C)
    c = (dn(c[0] - rc), up(c[1] + rc))
    q = np.mod(k, 4)
    sin = (np.select([q == 0, q == 1, q == 2], [s[0], c[0], -s[1]], -c[1]),
           np.select([q == 0, q == 1, q == 2], [s[1], c[1], -s[0]], -c[0]))
    cos = (np.select([q == 0, q == 1, q == 2], [c[0], -s[1], -c[1]], s[0]),
           np.select([q == 0, q == 1, q == 2], [c[1], -s[0], -c[0]], s[1]))
    clip = lambda v: (np.where(big, -1.0, np.maximum(v[0], -1.0)), np.where(big, 1.0, np.minimum(v[1], 1.0)))  # noqa: E731
    return clip(sin), clip(cos)


def _contains_point(x, offset):
    """Whether ``[x_lo, x_hi]`` may contain ``offset + 2 pi j`` for an integer j (conservative)."""
    twopi_lo, twopi_hi = 2 * _PI[0], up(2 * _PI[1])
    with np.errstate(invalid="ignore", over="ignore"):
        j = np.ceil(dn(x[0] - offset[1]) / twopi_hi) - 1.0      # start below, scan three candidates
        hit = np.zeros(x[0].shape, dtype=bool)
        for dj in range(4):
            jj = j + dj
            p_lo = np.where(jj >= 0, dn(offset[0] + dn(jj * twopi_lo)), dn(offset[0] + dn(jj * twopi_hi)))
            p_hi = np.where(jj >= 0, up(offset[1] + up(jj * twopi_hi)), up(offset[1] + up(jj * twopi_lo)))
            hit |= (p_hi >= x[0]) & (p_lo <= x[1])
    big = ~(np.abs(x[0]) <= 2.0**40) | ~(np.abs(x[1]) <= 2.0**40)
    return hit | big | (x[1] - x[0] >= 6.0)


def iv_sin(x):
    s0, _ = _sincos_point(x[0])
    s1, _ = _sincos_point(x[1])
    lo, hi = np.minimum(s0[0], s1[0]), np.maximum(s0[1], s1[1])
    hi = np.where(_contains_point(x, (_PIO2[0], _PIO2[1])), 1.0, hi)
    lo = np.where(_contains_point(x, (-_PIO2[1], -_PIO2[0])), -1.0, lo)
    return lo, hi


def iv_cos(x):
    _, c0 = _sincos_point(x[0])
    _, c1 = _sincos_point(x[1])
    lo, hi = np.minimum(c0[0], c1[0]), np.maximum(c0[1], c1[1])
    hi = np.where(_contains_point(x, (0.0, 0.0)), 1.0, hi)
    lo = np.where(_contains_point(x, _PI), -1.0, lo)
    return lo, hi


def _exp_point(x: np.ndarray):
    xs = np.clip(np.where(np.isnan(x), 0.0, x), -745.0, 710.0)
    k, t = _reduce(xs, _LN2)
    tm = np.maximum(np.abs(t[0]), np.abs(t[1]))
    r = up(2.0 * tm ** 20 / 2.43290200817664e18)               # e^|t| |t|^20 / 20!, e^0.36 < 2
    p = _poly(t, _EXP_C)
    lo, hi = np.maximum(dn(p[0] - r), 0.0), up(p[1] + r)
    with np.errstate(over="ignore", under="ignore"):
        lo = dn(np.ldexp(lo, k.astype(np.int64)))
        hi = up(np.ldexp(hi, k.astype(np.int64)))
    lo = np.where(x <= -745.0, 0.0, np.maximum(lo, 0.0))
    hi = np.where(x >= 710.0, np.inf, hi)
    return lo, hi


def iv_exp(x):
    return _fix(_exp_point(x[0])[0], _exp_point(x[1])[1])


def _log_point(x: np.ndarray):
    pos = x > 0
    xs = np.where(pos & np.isfinite(x), x, 1.0)
    m, e = np.frexp(xs)
    small = m < 0.7071067811865476
    m = np.where(small, m * 2.0, m)                          # exact
    e = np.where(small, e - 1, e).astype(np.float64)
    s = iv_div(iv_sub((m, m), (np.ones_like(m), np.ones_like(m))), iv_add((m, m), (np.ones_like(m), np.ones_like(m))))
    s2 = iv_mul(s, s)
    sm = np.maximum(np.abs(s[0]), np.abs(s[1]))
    r = up(2.0 * sm ** 41 / 41.0 / (1.0 - 0.04))              # tail of 2 sum s^(2i+1)/(2i+1), i >= 20, |s| < 0.172
    lm = iv_mul(s, _poly(s2, _LOG_C))
    lm = (dn(lm[0] - r), up(lm[1] + r))
    el = iv_mul((e, e), _LN2)
    lo, hi = iv_add(el, lm)
    lo = np.where(pos, np.where(np.isinf(x), np.inf, lo), -np.inf)
    hi = np.where(pos, np.where(np.isinf(x), np.inf, hi), np.where(x == 0, -np.inf, np.nan))
    return lo, hi


def iv_log(x):
    lo = _log_point(x[0])[0]
    hi = _log_point(x[1])[1]
    neg = ~(x[0] > 0)
    return _fix(np.where(neg, -np.inf, lo), np.where(neg, np.inf, hi))


class Unsupported(Exception):
    """The expression uses a function the vectorised interval evaluator does not implement."""


_FUNCS = {sp_name: fn for sp_name, fn in (("sin", iv_sin), ("cos", iv_cos), ("exp", iv_exp), ("log", iv_log))}


def compile_interval(expr, symbols):
    """Compile a sympy expression to ``f(env) -> (lo, hi)``, env: one ``(lo, hi)`` array pair per symbol.

    Supported: rationals, pi, E, symbols, +, *, integer powers, square roots and other rational powers of
    positive bases (through exp/log), sin, cos, exp, log, Abs. Raises :class:`Unsupported` otherwise.
    The result encloses the exact value of the expression at every point of the argument box.
    """
    import sympy as sp

    pos = {s: i for i, s in enumerate(symbols)}

    def comp(e):
        if e.is_Symbol:
            if e not in pos:
                raise Unsupported(f"unknown symbol {e}")
            i = pos[e]
            return lambda env: env[i]
        if e.is_Rational:
            q = Fraction(int(e.p), int(e.q))
            return lambda env: iv_const(q, env[0][0].shape if env else ())
        if e is sp.pi or e is sp.E:
            c = _PI if e is sp.pi else _E
            return lambda env: (np.full(env[0][0].shape if env else (), c[0]), np.full(env[0][0].shape if env else (), c[1]))
        if e.is_Add:
            parts = [comp(a) for a in e.args]

            def add(env, parts=parts):
                acc = parts[0](env)
                for p in parts[1:]:
                    acc = iv_add(acc, p(env))
                return acc
            return add
        if e.is_Mul:
            parts = [comp(a) for a in e.args]

            def mul(env, parts=parts):
                acc = parts[0](env)
                for p in parts[1:]:
                    acc = iv_mul(acc, p(env))
                return acc
            return mul
        if e.is_Pow:
            base, ex = e.args
            b = comp(base)
            if ex.is_Integer:
                n = int(ex)
                return lambda env: iv_pow_int(b(env), n)
            if ex.is_Rational:
                if ex == sp.Rational(1, 2):
                    return lambda env: iv_sqrt(b(env))
                if ex == sp.Rational(-1, 2):
                    return lambda env: iv_div(iv_const(Fraction(1), b(env)[0].shape), iv_sqrt(b(env)))
                q = Fraction(int(ex.p), int(ex.q))

                def rpow(env):
                    x = b(env)
                    lg = iv_log(x)
                    return iv_exp(iv_mul(iv_const(q, x[0].shape), lg))
                return rpow
            raise Unsupported(f"power {e}")
        if isinstance(e, sp.Abs):
            a = comp(e.args[0])
            return lambda env: iv_abs(a(env))
        name = type(e).__name__
        if name in _FUNCS and len(e.args) == 1:
            fn, a = _FUNCS[name], comp(e.args[0])
            return lambda env: fn(a(env))
        raise Unsupported(f"{name} in {e}")

    f = comp(expr)

    def run(env):
        lo, hi = f(env)
        shape = env[0][0].shape if env else ()
        lo, hi = np.broadcast_to(lo, shape).astype(np.float64), np.broadcast_to(hi, shape).astype(np.float64)
        return _fix(lo, hi)
    return run
