"""Certified sparse approximation: routing to the support, then a head sized by its a-priori bound."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Sequence

import sympy as sp

from .._errors import TheoryError, bad
from ..heads import Head, as_box, head_symbols, pl_head, polynomial_head, symbols_for
from ..heads._interpolation import MAX_VERTICES
from ..heads._interpolation_bound import InterpolationBound
from ..heads._target import box_arity, parse_target
from ..heads._yarotsky import DELTA, MAX_M, polynomial_error, polynomial_terms
from ..spec import Network, as_rational
from ..spec._network import thaw, tree_levels
from ._compose import compose
from ._routing import select, validate_support

HEAD_METHODS = ("auto", "polynomial", "pl")
AUTO_POLYNOMIAL_DEGREE = 3  # "auto" uses Yarotsky squares/products for polynomials up to this degree
_SLACK = Fraction(101, 100)  # pl: interpolation bound <= eps / 1.01, leaving >= 1% of eps for vertex rounding


def _positive_eps(eps: Any) -> Fraction:
    q = as_rational(eps, "eps")
    if q <= 0:
        raise bad("eps", eps, "a positive finite number (the sup-norm error allowed)")
    return q


def _smallest_m(err: sp.Expr, eps: Fraction) -> int:
    """Smallest m with ``E(2^(-2m-2)) <= eps`` (E has nonnegative coefficients: decreasing in m)."""
    fn = sp.lambdify(DELTA, err, modules=[{}])
    for m in range(1, MAX_M + 1):
        if Fraction(fn(Fraction(1, 4 ** (m + 1)))) <= eps:
            return m
    raise bad("eps", str(eps), f"an error reachable with m <= {MAX_M} sawtooth steps")


def _smallest_n(bound: InterpolationBound, target: Fraction, k: int) -> int:
    """Smallest n (searching down from a scaling estimate) with ``bound(n) <= target``."""
    limit = int(round(MAX_VERTICES ** (1 / k))) - 1
    if bound(1) <= target:
        return 1
    probe = min(8, limit)
    b = bound(probe)
    n = probe if b <= target else min(limit, max(probe, math.ceil(probe * math.sqrt(float(b / target)))))
    while bound(n) > target:
        if n >= limit:
            raise bad(
                "eps",
                str(target * _SLACK),
                f"an error reachable by pl_head with (n + 1)^{k} <= {MAX_VERTICES} "
                f"vertices (n <= {limit}); the a-priori bound at n = {limit} is {float(bound(limit)):.3g}",
            )
        n = min(limit, n + max(1, n // 32))
    while n > 1 and bound(n - 1) <= target:
        n -= 1
    return n


def _polynomial_degree(expr: sp.Expr, k: int) -> int | None:
    """Total degree when ``expr`` is a polynomial with rational coefficients, else None."""
    try:
        _, terms = polynomial_terms(expr, k)
    except TheoryError:
        return None
    return max((sum(e) for _, e in terms), default=0)


def approximate_head(g: Any, box: Any, eps: Any, *, k: int | None = None, method: str = "auto") -> Head:
    """The smallest head (in m or n) whose a-priori bound is at most ``eps``.

    ``method="auto"``: polynomials with rational coefficients of degree <= 3 get :func:`polynomial_head`
    (Yarotsky squares and products; exact for degree <= 1) with the smallest m such that
    ``E(2^(-2m-2)) <= eps``; everything else gets :func:`pl_head` with the smallest n such that the
    interpolation bound is ``<= eps / 1.01`` and vertex values rounded so that the total stays ``<= eps``.
    ``"polynomial"`` and ``"pl"`` force one kind.

    Args:
        g: sympy expression or string in ``x0 .. x{k-1}``.
        box: ``(lo, hi)`` or ``k`` pairs.
        eps: positive rational (or finite float, taken exactly).
        k: number of inputs (default from the box pairs, else from the symbols of g).
        method: "auto", "polynomial" or "pl".
    Returns:
        A :class:`theory.Head` with ``bound <= eps``.
    Raises:
        TheoryError: bad arguments; eps not reachable (m > 1000 or too many grid vertices).
    Source: Yarotsky (2017) and Freudenthal/Kuhn interpolation (standard); the selection rule is ours.
    """
    if not isinstance(method, str) or method not in HEAD_METHODS:
        raise bad("method", method, f"one of {HEAD_METHODS}")
    expr, k = parse_target(g, k if k is not None else box_arity(box))
    box = as_box(box, k)
    eps = _positive_eps(eps)
    degree = _polynomial_degree(expr, k)
    if method == "polynomial" or (method == "auto" and degree is not None and degree <= AUTO_POLYNOMIAL_DEGREE):
        if degree is None:
            raise bad("g", str(expr), "a polynomial with rational coefficients for method='polynomial'")
        err = polynomial_error(expr, box, k)
        return polynomial_head(expr, box, _smallest_m(err, eps) if err != 0 else 1, k=k)
    bound = InterpolationBound(expr, k, box)
    n = _smallest_n(bound, eps / _SLACK, k)
    for _ in range(8):
        interp = bound(n)
        budget = eps - interp  # >= 1% of eps by the choice of n
        p = max(1, math.ceil(math.log2(Fraction(17, 16) / budget)) - 1)  # 2^-(p+1) (1 + 1/16) <= budget
        head = pl_head(expr, box, n, k=k, precision=p, _bound=bound)
        if head.bound <= eps:
            return head
        n += 1  # rounding wider than planned (ill-conditioned g): refine the grid
    raise TheoryError(f"argument 'eps': could not reach eps = {eps} (last a-priori bound {head.bound})")


def approximate_sparse(
    d: int, support: Sequence[int], g: Any, box: Any, eps: Any, s: int = 2, method: str = "auto"
) -> Network:
    """A CNN approximating ``g(x[support])`` on a box within ``eps`` in sup norm, with an a-priori proof.

    ``select(d, support, s)`` routes ``x[i_j]`` exactly to the root (depth ``log_s d`` + readout), and the
    head of :func:`approximate_head` (bound ``<= eps``) is composed after it; the routing's linear readout is
    fused with the head's first 1x1 layer. So for every ``x`` with ``x[support] in box``:
    ``|net(x) - g(x[support])| <= a_priori_bound <= eps``.

    Args:
        d: input length, a power of ``s``.
        support: k distinct indices in ``[0, d)``; ``x_j`` in ``g`` is ``x[support[j]]``.
        g: sympy expression or string in ``x0 .. x{k-1}``, e.g. ``"sin(3*x0)*x1"``.
        box: ``(lo, hi)`` for every routed coordinate or k pairs (in support order).
        eps: positive finite error allowed.
        s: kernel = stride of the routing.
        method: "auto", "polynomial" or "pl" (see :func:`approximate_head`).
    Returns:
        A :class:`theory.Network` on ``d`` inputs with one output. ``meta``: ``construction``
        ("approximate_sparse"), ``d``, ``s``, ``support``, ``target`` (g in the global names, e.g.
        ``"x4000*sin(3*x5)"``), ``head_target`` (g in ``x0 .. x{k-1}``), ``box`` (``{"x5": ["-1", "1"], ...}``),
        ``a_priori_bound`` and ``eps`` (exact rational strings), ``formula``, ``source``, ``head`` (name and
        params), ``head_depth``.
    Raises:
        TheoryError: bad d/s/support/g/box/eps/method; eps not reachable.
    Source: Wang & Wu (2023), sparse long-range routing (reconstruction) + Yarotsky (2017) /
    Kuhn interpolation heads (standard).
    """
    tree_levels(d, s)
    idx = validate_support(support, d)
    k = len(idx)
    head = approximate_head(g, box, eps, k=k, method=method)
    eps_q = _positive_eps(eps)
    routed = compose(select(d, idx, s), head.net)
    globals_ = symbols_for(idx)
    target = head.target.xreplace(dict(zip(head_symbols(k), globals_)))
    meta = {
        "construction": "approximate_sparse",
        "d": d,
        "s": s,
        "support": idx,
        "target": str(target),
        "head_target": str(head.target),
        "box": {str(sym): [str(lo), str(hi)] for sym, (lo, hi) in zip(globals_, head.box)},
        "a_priori_bound": str(head.bound),
        "eps": str(eps_q),
        "formula": str(head.formula),
        "source": head.source,
        "head": {"name": head.params.get("name"), "params": thaw(head.params)},
        "head_depth": head.net.depth,
    }
    return Network(d=routed.d, c_in=routed.c_in, layers=routed.layers, meta=meta)
