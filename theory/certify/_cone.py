"""The output cone of a network, exact, and its float64 form as a perturbed affine-ReLU network.

* :class:`Cone`: the output's cone of a :class:`Network` over the inputs it depends on, exact (Fractions):
  units per level, nonzero edges, biases, ReLU flags (the backward walk of :func:`theory.evaluate_exact`).
* :class:`Rep`: a *perturbed affine-ReLU network* in float64 over ``k`` box variables. Unit ``j`` has
  pre-activation ``z_j(x) = a_j . x + c_j + sum_e w_e h_src(e)(x) + p_j(x)`` with an unknown perturbation
  ``|p_j(x)| <= E_j`` on the box the rep was built for (so on every sub-box), and ``h_j = relu(z_j)`` (or
  ``z_j`` for linear units). The root rep (:func:`root_rep`) is the cone itself (exact weights rounded to
  float; the rounding goes into per-edge radii ``rw`` and into ``E``); :func:`theory.certify._simplify.simplify`
  substitutes the units that a box proves dead or active and keeps only the unstable ReLUs, so reps shrink
  as boxes shrink.

Exact weights enter as ``float(w)`` (correctly rounded) with radius ``|w - float(w)|`` rounded up; the rest of
the float-soundness argument is in :mod:`theory.certify._propagate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from .._errors import TheoryError, bad
from ..spec import Network, input_name
from ._intervals import TINY, dn, slack, up

_FLOAT_MAX_EXP = 1000  # exact weights with |w| >= 2^1000 or 0 < |w| < 2^-1000 are refused (no float headroom)


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


def extract_cone(net: Network) -> Cone:
    """The exact cone of the single output of ``net`` (units it depends on through nonzero weights).

    Raises:
        TheoryError: when ``net`` has more than one output.
    """
    if not isinstance(net, Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    if net.n_outputs != 1:
        raise bad(
            "net", f"{net.n_outputs} outputs", "a network with exactly one output (e.g. compose(select(...), head))"
        )
    needed: list[Any] = [None] * (net.depth + 1)  # per level the unit ids (int64 arrays), filled backwards
    needed[-1] = np.zeros(1, dtype=np.int64)
    raw: list[Any] = [None] * net.depth  # per layer (which, in_units, nz)
    for i in range(net.depth - 1, -1, -1):
        which, in_units, nz = net.layers[i].edges(needed[i + 1])
        raw[i] = (which, in_units, nz)
        needed[i] = np.unique(in_units)
    levels = []
    for i, layer in enumerate(net.layers):
        which, in_units, nz = raw[i]
        src = np.searchsorted(needed[i], in_units).astype(np.int64)
        order = np.argsort(which, kind="stable")
        levels.append(
            (
                src[order],
                which[order].astype(np.int64),
                layer.weight.values[nz][order],
                layer.bias_of(needed[i + 1]),
                bool(layer.relu),
            )
        )
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


def make_rep(
    k: int,
    o: np.ndarray,
    level: np.ndarray,
    a: np.ndarray,
    c: np.ndarray,
    E: np.ndarray,
    relu: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    w: np.ndarray,
    rw: np.ndarray | None,
) -> Rep:
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
    vidx = np.asarray(var_index, dtype=np.int64)
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
        level[off : off + m] = l
        relu[off : off + m] = is_relu
        wf, wr = _to_float(w, "weight")
        if l == 0:
            const = np.empty(m, dtype=object)
            const[:] = [Fraction(bq) for bq in bias]
            for e in range(src.size):
                const[dst[e]] += w[e] * oq[vidx[src[e]]]
            cb, crad = _to_float(const, "bias")
            c[off : off + m], E[off : off + m] = cb, crad
            np.add.at(a, (off + dst, vidx[src]), wf)
            # rounding of the first layer's weights and of their sums: folded into E on the box
            np.add.at(E, off + dst, wr * R[vidx[src]])
            dup = np.bincount(dst, minlength=m).astype(np.float64)
            absa = np.zeros(m)
            np.add.at(absa, dst, np.abs(wf) * R[vidx[src]])
            E[off : off + m] += slack(dup) * absa
        else:
            cb, crad = _to_float(bias, "bias")
            c[off : off + m], E[off : off + m] = cb, crad
            S.append(offs[l - 1] + src)
            D.append(off + dst)
            W.append(wf)
            Rw.append(wr)
    E = up(E + TINY)
    cat = lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)
    return make_rep(
        k, o, level, a, c, E, relu, cat(S, np.int64), cat(D, np.int64), cat(W, np.float64), cat(Rw, np.float64)
    )


def to_local(rep: Rep, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Enclosure of the box ``[lo, hi]`` (shape ``(k, ...)``) in the rep's centred coordinates ``x - o``."""
    o = rep.o.reshape((-1,) + (1,) * (lo.ndim - 1))
    return dn(lo - o), up(hi - o)


def shift(rep: Rep, o_new: np.ndarray) -> Rep:
    """The same rep centred at ``o_new``: ``c' = c + a . (o_new - o)``, rounding (and the rounding of the shift
    ``o_new - o`` itself) added to E."""
    d = o_new - rep.o
    derr = np.abs(up(o_new - rep.o) - d)  # |fl(o_new - o) - (o_new - o)| <= ulp
    derr = np.maximum(derr, np.abs(d - dn(o_new - rep.o)))
    c = rep.c + rep.a @ d
    E = up(rep.E + slack(rep.k + 1) * (np.abs(rep.c) + np.abs(rep.a) @ np.abs(d)) + np.abs(rep.a) @ derr + TINY)
    return Rep(
        rep.k,
        np.asarray(o_new, dtype=np.float64),
        rep.starts,
        rep.a,
        c,
        E,
        rep.relu,
        rep.src,
        rep.dst,
        rep.w,
        rep.rw,
        rep.seg,
        rep.own,
        rep.fanin,
    )


def segsum(contrib: np.ndarray, seg: np.ndarray, own: np.ndarray, m: int) -> np.ndarray:
    """Sum rows of ``contrib`` (sorted by owner) into ``m`` rows."""
    out = np.zeros((m,) + contrib.shape[1:])
    if seg.size:
        out[own] = np.add.reduceat(contrib, seg, axis=0)
    return out


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
