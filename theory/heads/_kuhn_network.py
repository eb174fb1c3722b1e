"""The exact ReLU network of a piecewise-linear interpolant on the Freudenthal (Kuhn) triangulation.

:func:`network_1d` (one input: a sum of shifted ReLUs, depth 2) and :func:`network_kd` (``k >= 2`` inputs: the
Kuhn hats built from shared max/min chains, depth ``k + 2``) turn the vertex values of
:func:`theory.heads._interpolation.vertex_values` into a :class:`theory.Network` of 1x1 layers, built from
sparse coordinates (:func:`_pointwise`). Source: the ReLU realisation of the Kuhn hat and the shared chains are
a reconstruction (:func:`theory.heads.pl_head`).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from ..spec import Network, PointwiseLayer, SparseArray

_ONE = Fraction(1)
_MINUS_ONE = Fraction(-1)


def _frac_table(lo: int, hi: int) -> np.ndarray:
    """Object array of the Fractions lo .. hi (shared objects, indexed by ``value - lo``)."""
    out = np.empty(hi - lo + 1, dtype=object)
    out[:] = [Fraction(v) for v in range(lo, hi + 1)]
    return out


def _pointwise(
    c_out: int,
    c_in: int,
    rows: np.ndarray,
    cols: np.ndarray,
    vals: np.ndarray,
    b_rows: np.ndarray,
    b_vals: np.ndarray,
    relu: bool = True,
) -> PointwiseLayer:
    """A 1x1 layer from coordinates (distinct (row, col) pairs; zero values dropped)."""

    def sparse(shape: tuple[int, ...], keys: np.ndarray, values: np.ndarray) -> SparseArray:
        order = np.argsort(keys, kind="stable")
        keys, values = keys[order], values[order]
        keep = np.fromiter((v != 0 for v in values), dtype=bool, count=values.size)
        return SparseArray(shape, keys[keep], values[keep])

    weight = sparse((c_out, c_in), rows.astype(np.int64) * c_in + cols, vals)
    return PointwiseLayer(weight, sparse((c_out,), b_rows.astype(np.int64), b_vals), relu=relu)


def _concat(*parts: Any) -> np.ndarray:
    out = [np.asarray(p, dtype=object) if not isinstance(p, np.ndarray) else p for p in parts]
    return np.concatenate(out) if out else np.zeros(0, dtype=object)


def _objs(values: Sequence[Fraction]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def network_1d(values: np.ndarray, box: Any, n: int) -> Network:
    """``I(x) = g_0 + sum_j c_j relu(x - x_j)``: slope ``c_0`` from ``x_0 = a``, then slope changes."""
    ((lo, hi),) = box
    h = (hi - lo) / n
    g = list(values)
    slopes = [(g[j + 1] - g[j]) / h for j in range(n)]
    coef = [slopes[0]] + [slopes[j] - slopes[j - 1] for j in range(1, n)]
    units = [0] + [j for j in range(1, n) if coef[j] != 0]
    u = len(units)
    layer1 = _pointwise(
        u,
        1,
        np.arange(u),
        np.zeros(u, np.int64),
        _objs([_ONE] * u),
        np.arange(u),
        _objs([-(lo + j * h) for j in units]),
    )
    out = _pointwise(
        1,
        u,
        np.zeros(u, np.int64),
        np.arange(u),
        _objs([coef[j] for j in units]),
        np.zeros(1, np.int64),
        _objs([g[0]]),
        relu=False,
    )
    return Network(d=1, c_in=1, layers=(layer1, out), meta={"construction": "pl_head", "k": 1, "n": n})


def network_kd(values: np.ndarray, box: Any, n: int) -> Network:
    """``I(x) = sum_v g(v) phi_v(y)``, ``y = (x - lo)/h``, Kuhn hats ``phi_v = relu(1 - max(0, z) + min(0, z))``.

    ``z = y - v``. With ``delta_j = v_j - v_{j+1}`` the chains ``R_j = relu(z_{j-1} - z_j + R_{j-1})`` and
    ``S_j = relu(z_j - z_{j-1} + S_{j-1})`` (layer j) give ``max(z_0..z_j) = z_j + R_j`` and
    ``-min(z_0..z_j) = -z_j + S_j``; they depend on ``(delta_0 .. delta_{j-1})`` only, so they are shared by
    all vertices with those differences. Layer k: ``P_v = relu(z_{k-1} + R_{k-1})``,
    ``Q_v = relu(-z_{k-1} + S_{k-1})``; layer k+1: ``phi_v = relu(1 - P_v - Q_v)``; linear readout.
    ``Y_a = relu(y_a) = y_a`` (nonnegative on the box) carries the coordinates the chains still need.
    """
    k = values.ndim
    flat = values.reshape(-1)
    keep = np.flatnonzero(np.fromiter((v != 0 for v in flat), dtype=bool, count=flat.size))
    if keep.size == 0:
        zero = PointwiseLayer(SparseArray.zeros((1, k)), SparseArray.zeros((1,)), relu=False)
        return Network(d=1, c_in=k, layers=(zero,), meta={"construction": "pl_head", "k": k, "n": n})
    verts = np.stack(np.unravel_index(keep, values.shape), axis=1).astype(np.int64)  # (N, k)
    nv = verts.shape[0]
    inv_h = [n / (hi - lo) for lo, hi in box]
    off = [-lo * s for (lo, _), s in zip(box, inv_h)]  # y_a = inv_h[a] x_a + off[a]
    ints = _frac_table(-n - 1, n + 1)
    base = 2 * n + 1
    diffs = verts[:, :-1] - verts[:, 1:] + n  # (N, k-1), in [0, 2n]
    codes, uniq, inverse = [], [], []
    code = np.zeros(nv, dtype=object if (k - 1) * math.log2(base) > 62 else np.int64)
    for j in range(k - 1):
        code = code * base + diffs[:, j]
        u, inv = np.unique(code, return_inverse=True)
        codes.append(code)
        uniq.append(u)
        inverse.append(inv.reshape(-1))
    layers: list[PointwiseLayer] = []
    prev_y: dict[int, int] = {}  # axis -> unit of Y_a in the previous layer
    prev_r = prev_s = 0  # first unit of R_{j-1}, S_{j-1} in the previous layer
    for j in range(1, k):  # layer j: Y_a (a >= j), R_j, S_j over the unique difference prefixes of length j
        ys = list(range(j, k))
        nu = uniq[j - 1].size
        r0 = len(ys)
        s0 = r0 + nu
        width = s0 + nu
        rows: list[list[int] | np.ndarray] = []  # index parts (lists or int arrays), joined by _cat_int
        cols: list[list[int] | np.ndarray] = []
        brows: list[list[int] | np.ndarray] = []
        vals: list[list[Fraction] | np.ndarray] = []  # value parts (lists or object arrays), joined by _concat
        bvals: list[list[Fraction] | np.ndarray] = []
        for i, a in enumerate(ys):
            rows.append([i])
            cols.append([a if j == 1 else prev_y[a]])
            vals.append([inv_h[a] if j == 1 else _ONE])
            if j == 1:
                brows.append([i])
                bvals.append([off[a]])
        last = (uniq[j - 1] % base).astype(np.int64) - n  # delta_{j-1} of each unique prefix
        ru, su = r0 + np.arange(nu), s0 + np.arange(nu)
        if j == 1:  # z_0 - z_1 = y_0 - y_1 - delta_0, from the inputs
            for units, sign in ((ru, 1), (su, -1)):
                rows += [units, units]
                cols += [np.zeros(nu, np.int64), np.ones(nu, np.int64)]
                vals += [_objs([inv_h[0] * sign] * nu), _objs([-inv_h[1] * sign] * nu)]
                brows.append(units)
                bvals.append(_objs([(off[0] - off[1]) * sign])[np.zeros(nu, np.int64)] + ints[-sign * last + n + 1])
        else:
            parent = np.searchsorted(uniq[j - 2], uniq[j - 1] // base)
            for units, sign, chain in ((ru, 1, prev_r), (su, -1, prev_s)):
                rows += [units, units, units]
                cols += [np.full(nu, prev_y[j - 1]), np.full(nu, prev_y[j]), chain + parent]
                vals += [_objs([Fraction(sign)] * nu), _objs([Fraction(-sign)] * nu), _objs([_ONE] * nu)]
                brows.append(units)
                bvals.append(ints[-sign * last + n + 1])
        c_in = k if j == 1 else layers[-1].c_out
        layers.append(
            _pointwise(width, c_in, _cat_int(rows), _cat_int(cols), _concat(*vals), _cat_int(brows), _concat(*bvals))
        )
        prev_y = {a: i for i, a in enumerate(ys)}
        prev_r, prev_s = r0, s0
    # layer k: P_v, Q_v
    chain_k = inverse[k - 2]
    vlast = verts[:, k - 1]
    pu, qu = np.arange(nv), nv + np.arange(nv)
    yk = prev_y[k - 1]
    rows = [pu, pu, qu, qu]
    cols = [np.full(nv, yk), prev_r + chain_k, np.full(nv, yk), prev_s + chain_k]
    vals = [_objs([_ONE] * nv), _objs([_ONE] * nv), _objs([_MINUS_ONE] * nv), _objs([_ONE] * nv)]
    layers.append(
        _pointwise(
            2 * nv,
            layers[-1].c_out,
            _cat_int(rows),
            _cat_int(cols),
            _concat(*vals),
            np.concatenate([pu, qu]),
            _concat(ints[-vlast + n + 1], ints[vlast + n + 1]),
        )
    )
    # layer k+1: phi_v = relu(1 - P_v - Q_v); readout sum_v g(v) phi_v
    layers.append(
        _pointwise(
            nv,
            2 * nv,
            np.concatenate([pu, pu]),
            np.concatenate([pu, qu]),
            _objs([_MINUS_ONE] * (2 * nv)),
            pu,
            _objs([_ONE] * nv),
        )
    )
    layers.append(
        _pointwise(
            1, nv, np.zeros(nv, np.int64), pu, flat[keep], np.zeros(0, np.int64), np.zeros(0, dtype=object), relu=False
        )
    )
    return Network(d=1, c_in=k, layers=tuple(layers), meta={"construction": "pl_head", "k": k, "n": n})


def _cat_int(parts: list) -> np.ndarray:
    return np.concatenate([np.asarray(p, dtype=np.int64) for p in parts]) if parts else np.zeros(0, np.int64)
