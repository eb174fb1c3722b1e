"""Piecewise-linear interpolation heads on the Freudenthal (Kuhn) triangulation, as exact ReLU networks.

:func:`pl_head` and the grid values it interpolates (:func:`vertex_values`, exact or rounded). Targets are parsed
and evaluated by :mod:`theory.heads._target`; the a-priori bound is
:class:`theory.heads._interpolation_bound.InterpolationBound`; the network is built by
:mod:`theory.heads._kuhn_network`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from .._errors import bad
from ..spec import as_rational
from ..spec._network import check_positive_int
from ..spec._rational import ZERO
from ._interpolation_bound import InterpolationBound, round_up
from ._kuhn_network import network_1d, network_kd
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
    ``z = (x - v)/h`` (see :func:`theory.heads._kuhn_network.network_kd`): about 3 units and 10 nonzeros per vertex with ``g(v) != 0``.

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
    net = network_1d(values.reshape(-1), box, n) if k == 1 else network_kd(values, box, n)
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
