"""Piecewise-linear interpolation heads on the Freudenthal (Kuhn) triangulation, as exact ReLU networks.

Targets are parsed and evaluated by :mod:`theory.heads._target`; the a-priori bound is
:class:`theory.heads._interpolation_bound.InterpolationBound`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
import sympy as sp

from .._errors import bad
from ..spec import Network, PointwiseLayer, SparseArray, as_rational
from ..spec._network import check_positive_int
from ..spec._rational import ZERO
from ._interpolation_bound import InterpolationBound, round_up
from ._record import Head, as_box, head_symbols
from ._target import (
    NonFinite,
    NotExact,
    Prec,
    box_arity,
    evaluate_on,
    grid_env,
    iv_bounds,
    iv_interval,
    parse_target,
    rewrite_hyperbolic,
)

MAX_VERTICES = 1_000_000  # (n + 1)^k grid vertices a pl_head may have (about 3 units and 10 nonzeros each)
_ONE = Fraction(1)
_MINUS_ONE = Fraction(-1)


# ------------------------------------------------------------------------------------ vertex values
def vertex_values(g: Any, expr: sp.Expr | None, k: int, box: Any, n: int, p: int) -> tuple[np.ndarray, Fraction]:
    """``g`` at every grid vertex, exact or rounded to a multiple of ``2^-p``; and the largest rounding error.

    Returns:
        ``(values, rounding)``: object array of Fractions, shape ``(n + 1,) * k`` (vertex ``v`` at index ``v``),
        and ``max_v |g(v) - values[v]|`` (exact upper bound; 0 when every value is exact).
    Raises:
        TheoryError: ``g`` not finite or not real at a vertex.
    """
    axes = [[lo + (hi - lo) * Fraction(i, n) for i in range(n + 1)] for lo, hi in box]
    shape = (n + 1,) * k
    if expr is None:  # Python callable: exact rationals by contract
        out = np.empty(shape, dtype=object)
        for idx in np.ndindex(*shape):
            try:
                value = g(*[axes[a][i] for a, i in enumerate(idx)])
            except Exception as err:
                raise bad(
                    "g",
                    f"g{tuple(str(axes[a][i]) for a, i in enumerate(idx))} raised {type(err).__name__}: {err}",
                    "a callable returning an exact rational at every grid vertex",
                ) from None
            out[idx] = as_rational(value, "g")
        return out, ZERO
    syms = head_symbols(k)
    expr = rewrite_hyperbolic(expr)
    try:
        exact = evaluate_on(expr, grid_env(syms, axes), exact=True)
        return np.broadcast_to(exact, shape).copy(), ZERO
    except NotExact:
        pass
    except NonFinite:
        raise bad("g", str(expr), "finite at every grid vertex of the box (division by zero)") from None
    budget = Fraction(1, 2 ** (p + 1))
    for extra in (40, 120, 400):
        with Prec(p + extra):
            try:
                vals = np.broadcast_to(
                    evaluate_on(expr, grid_env(syms, [[iv_interval(v, v) for v in ax] for ax in axes]), exact=False),
                    shape,
                )
                bounds = [iv_bounds(z) for z in vals.reshape(-1)]
            except NonFinite:
                raise bad("g", str(expr), "finite and real at every grid vertex of the box") from None
        if max(hi - lo for lo, hi in bounds) <= budget / 16:
            break
    scale = 1 << p
    out = np.empty(len(bounds), dtype=object)
    worst = ZERO
    for i, (lo, hi) in enumerate(bounds):
        q = Fraction(round((lo + hi) * scale / 2), scale)
        out[i] = q
        worst = max(worst, hi - q, q - lo)
    return out.reshape(shape), worst


# ------------------------------------------------------------------------------------------ network
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


def _network_1d(values: np.ndarray, box: Any, n: int) -> Network:
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


def _network_kd(values: np.ndarray, box: Any, n: int) -> Network:
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


# ------------------------------------------------------------------------------------------- pl_head
def pl_head(
    g: Any,
    box: Any,
    n: int,
    *,
    k: int | None = None,
    hessian: Any = None,
    lipschitz: Any = None,
    norm: str = "inf",
    precision: int | None = None,
    pieces: int | None = None,
    _bound: InterpolationBound | None = None,
) -> Head:
    """Continuous piecewise-linear interpolant of ``g`` on the Freudenthal (Kuhn) triangulation, as an exact ReLU net.

    The box is cut into ``n`` cells per axis (widths ``h_a = (hi_a - lo_a)/n``), each cell into ``k!`` Kuhn
    simplices ``{0 <= s_pi(1) <= ... <= s_pi(k) <= 1}``; the interpolant is linear on each and equals ``g`` at
    the ``(n + 1)^k`` vertices (exactly when ``g(v)`` is rational, else rounded to a multiple of ``2^-p``).

    Network (one position; all layers 1x1): for ``k = 1`` depth 2,
    ``I(x) = g(a) + c_0 relu(x - a) + sum_j c_j relu(x - x_j)`` (``c_j`` the slope changes); for ``k >= 2``
    depth ``k + 2``, ``I = sum_v g(v) phi_v`` with the Kuhn hat ``phi_v(y) = relu(1 - max(0, z) + min(0, z))``,
    ``z = (x - v)/h`` (see :func:`_network_kd`): about 3 units and 10 nonzeros per vertex with ``g(v) != 0``.

    Bound: ``interp + rounding`` with ``interp`` from :class:`InterpolationBound` (the C^2 estimate
    ``(1/8) sum_ab M_ab h_a h_b`` with interval bounds of the Hessian, a given ``hessian``, or
    ``L diam(cell)`` for a given ``lipschitz``) and ``rounding = max_v |g(v) - value_v|`` (the hats are
    nonnegative and sum to 1 on the box, so value errors add at most their maximum). ``p`` is chosen so the
    rounding is at most 1% of ``interp``.

    Args:
        g: sympy expression or string in ``x0 .. x{k-1}``, or a Python callable ``g(x0, .., x{k-1})`` of
            Fractions returning exact rationals (then ``hessian`` or ``lipschitz`` is required).
        box: ``(lo, hi)`` for every axis or ``k`` pairs; exact rationals, ``lo < hi``.
        n: cells per axis, ``>= 1``; ``(n + 1)^k <= MAX_VERTICES``.
        k: number of inputs (default: from ``box`` pairs, else from the symbols of ``g``).
        hessian: a number or ``k x k`` matrix bounding ``|d2g/dxa dxb|`` on the box (trusted, replaces the
            interval computation).
        lipschitz, norm: a Lipschitz constant of ``g`` in the norm ``"inf"``, ``"1"`` or ``"2"`` (trusted).
        precision: ``p`` of the vertex rounding (default: automatic).
        pieces: interval pieces per axis for the Hessian bound (default by k: 2048, 96, 20, ...).
    Returns:
        A :class:`theory.Head` (params: name "pl", n, k, p, bound parts and their source).
    Raises:
        TheoryError: bad ``n``/box/``g``/options, ``g`` not finite on the box, unbounded second derivatives.
    Source: standard (Freudenthal/Kuhn triangulation, piecewise-linear finite element interpolation); the
    ReLU realisation of the Kuhn hat and the shared max/min chains are a reconstruction.
    """
    n = check_positive_int("n", n)
    if callable(g) and not isinstance(g, (sp.Basic, str)):
        k = k if k is not None else box_arity(box)
        if k is None:
            raise bad("k", k, "the number of inputs of the callable g (or give box as k pairs)")
        k = check_positive_int("k", k)
        expr, target = (
            None,
            sp.Function(getattr(g, "__name__", "g") if str(getattr(g, "__name__", "")).isidentifier() else "g")(
                *head_symbols(k)
            ),
        )
    else:
        expr, k = parse_target(g, k if k is not None else box_arity(box))
        target = expr
    box = as_box(box, k)
    if (n + 1) ** k > MAX_VERTICES:
        raise bad("n", n, f"(n + 1)^k <= {MAX_VERTICES} grid vertices (k = {k})")
    bound_fn = _bound or InterpolationBound(
        expr, k, box, hessian=hessian, lipschitz=lipschitz, norm=norm, pieces=pieces
    )
    interp = bound_fn(n)
    if precision is None:
        p = 52 if interp == 0 else max(8, math.ceil(math.log2(1.04 * 100 / 2 / float(interp))) + 1)
    else:
        p = check_positive_int("precision", precision)
    values, rounding = vertex_values(g, expr, k, box, n, p)
    rounding = round_up(rounding, 3)  # a readable upper bound (3 significant digits)
    net = _network_1d(values.reshape(-1), box, n) if k == 1 else _network_kd(values, box, n)
    total = interp + rounding
    params = {
        "name": "pl",
        "n": n,
        "k": k,
        "p": p if rounding else None,
        "bound_from": bound_fn.source,
        "interpolation_bound": str(interp),
        "rounding_bound": str(rounding),
    }
    if bound_fn.source == "interval Hessian":
        params["pieces"] = bound_fn.q
    return Head(
        net=net,
        target=target,
        box=box,
        bound=sp.Rational(total),
        formula=bound_fn.formula(n, interp) + sp.Rational(rounding),
        source="Freudenthal/Kuhn triangulation interpolation (standard); ReLU realisation of the hats: reconstruction",
        params=params,
    )
