"""Yarotsky heads: the square, products by polarisation and polynomials, as exact ReLU networks with a proved bound.

:func:`square_head` (``x0^2`` on ``[a, b]``), :func:`product_head` (``x0 x1`` on ``[-B, B]^2``) and
:func:`polynomial_head` (any polynomial with rational coefficients, total degree <= 8) validate their
arguments, build the circuit with :func:`theory.heads._polynomial_plan.build_polynomial` (sawtooth squares of
:mod:`theory.heads._sawtooth`) and return a :class:`Head` whose bound is the circuit's error polynomial
``E(delta)`` at ``delta = 2^(-2m-2)``. :func:`polynomial_terms` and :func:`polynomial_error` serve
:func:`theory.approximate_head` in choosing m. Source: D. Yarotsky, "Error bounds for approximations with deep
ReLU networks", Neural Networks 94 (2017), Proposition 2 and Proposition 3 (standard); the polynomial heads
are a reconstruction.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import sympy as sp

from .._errors import bad
from ..formula import MAX_EXPANDED_TERMS, expanded_terms
from ..spec import Network, as_rational
from ..spec._network import check_positive_int
from ..spec._rational import ZERO
from ._polynomial_plan import build_polynomial
from ._record import Head, as_box, head_symbols
from ._sawtooth import DELTA, M_SYM
from ._target import box_arity, parse_target

MAX_M = 1000
MAX_DEGREE = 8
_ONE = Fraction(1)
SOURCE_SQUARE = 'Yarotsky 2017, "Error bounds for approximations with deep ReLU networks", Prop. 2 (standard)'


def _check_m(m: Any) -> int:
    m = check_positive_int("m", m)
    if m > MAX_M:
        raise bad("m", m, f"an int in [1, {MAX_M}]")
    return m


def _head(net: Network, target: sp.Expr, box: Any, err: sp.Expr, m: int, source: str, params: dict) -> Head:
    bound = err.subs(DELTA, sp.Rational(1, 4 ** (m + 1)))
    formula = err.subs(DELTA, 2 ** (-2 * M_SYM - 2))
    return Head(net=net, target=target, box=box, bound=bound, formula=formula, source=source, params=params)


def square_head(m: int, box: Any = (0, 1)) -> Head:
    """Yarotsky's sawtooth approximation of ``x0^2`` on ``[a, b]`` with ``m`` ReLU layers.

    Formula: ``t = (x - a)/(b - a)``, ``x^2 ~ a^2 + 2a(b - a) t + (b - a)^2 f_m(t)``,
    ``f_m(t) = t - sum_{s<=m} g_s(t)/4^s``. Bound (tight, attained at ``t = odd / 2^(m+1)``; ``f_m = t^2`` at
    ``t = j / 2^m``): ``0 <= net - x^2 <= (b - a)^2 2^(-2m-2)``.

    Network: ``d = 1``, ``c_in = 1``; m 1x1 ReLU layers of width 3, 4, ..., 4, then a linear 1x1 readout.
    Every value carried through a ReLU (``t``, the partial sum, tent values) is >= 0 on the box.

    Args:
        m: number of sawtooth steps, ``1 <= m <= 1000``.
        box: ``(a, b)`` with ``a < b`` exact rationals (default ``(0, 1)``).
    Returns:
        :class:`theory.Head` with ``bound = (b-a)^2 / 4^(m+1)`` and ``formula = 2**(-2m-2) (b-a)^2`` in ``m``.
    Raises:
        TheoryError: ``m`` not an int in [1, 1000]; bad box.
    Source: Yarotsky (2017), Proposition 2 (standard).
    """
    m = _check_m(m)
    box = as_box(box, 1)
    ((a, b_),) = box
    x = head_symbols(1)[0]
    net, err = build_polynomial(
        [(_ONE, (2,))], ZERO, box, m, force_shift=True, meta={"construction": "square_head", "m": m}
    )
    return _head(net, x**2, box, err, m, SOURCE_SQUARE, {"name": "square", "m": m})


def product_head(m: int, B: Any = 1) -> Head:
    """``x0 * x1`` on ``[-B, B]^2`` by polarisation and two folded Yarotsky squares.

    Formula: ``u = (x0 + x1)/(2B)``, ``v = (x0 - x1)/(2B)`` (``|u|, |v| <= 1``), ``x0 x1 = B^2 (u^2 - v^2)``,
    net ``= B^2 (f_m(|u|) - f_m(|v|))`` with ``|u| = relu(u) + relu(-u)`` folded into the first layer.
    Bound: ``f_m(|u|) - u^2`` and ``f_m(|v|) - v^2`` both lie in ``[0, 2^(-2m-2)]`` (the interpolant of the
    convex ``t^2`` lies above it), so their difference lies in ``[-2^(-2m-2), 2^(-2m-2)]`` and
    ``|net - x0 x1| <= B^2 2^(-2m-2)``; attained at ``x0 = x1 = B / 2^(m+1)`` (``v = 0``).

    Network: ``d = 1``, ``c_in = 2``; m ReLU layers (width 12, then 8), linear readout.
    Args:
        m: sawtooth steps in [1, 1000].
        B: positive rational half-width of the box.
    Raises:
        TheoryError: bad ``m`` or ``B``.
    Source: Yarotsky (2017), Proposition 3 (standard).
    """
    m = _check_m(m)
    B = as_rational(B, "B")
    if B <= 0:
        raise bad("B", B, "a positive rational (the box is [-B, B]^2)")
    x0, x1 = head_symbols(2)
    box = ((-B, B), (-B, B))
    net, err = build_polynomial(
        [(_ONE, (1, 1))], ZERO, box, m, meta={"construction": "product_head", "m": m, "B": str(B)}
    )
    return _head(
        net,
        x0 * x1,
        box,
        err,
        m,
        'Yarotsky 2017, "Error bounds for approximations with deep ReLU networks", Prop. 3 (standard)',
        {"name": "product", "m": m, "B": str(B)},
    )


def polynomial_terms(
    expr: sp.Expr, k: int, name: str = "expr"
) -> tuple[Fraction, list[tuple[Fraction, tuple[int, ...]]]]:
    """``(const, [(coef, exponents)])`` of a polynomial with rational coefficients in ``x0 .. x{k-1}``."""
    syms = head_symbols(k)
    if expanded_terms(expr) > MAX_EXPANDED_TERMS:
        raise bad(name, str(expr)[:200], f"a polynomial of at most {MAX_EXPANDED_TERMS} terms once expanded")
    try:
        poly = sp.Poly(sp.expand(expr), *syms)
    except sp.PolynomialError:
        raise bad(name, str(expr), "a polynomial in x0 .. x{k-1}") from None
    if not poly.domain.is_QQ and not poly.domain.is_ZZ:
        raise bad(name, str(expr), "a polynomial with rational coefficients (the weights must be exact)")
    if poly.total_degree() > MAX_DEGREE:
        raise bad(name, str(expr), f"total degree <= {MAX_DEGREE}")
    const, terms = ZERO, []
    for e, c in poly.terms():
        q = Fraction(int(sp.Rational(c).p), int(sp.Rational(c).q))
        if sum(e) == 0:
            const = q
        else:
            terms.append((q, tuple(int(v) for v in e)))
    return const, terms


def polynomial_head(expr: Any, box: Any, m: int, *, k: int | None = None) -> Head:
    """A polynomial (rational coefficients, total degree <= 8) on a box, from Yarotsky squares and products.

    Every monomial of degree >= 2 is a node of a balanced tree: ``x^2`` a square, ``x^a y^b`` a product of
    two halves (shared sub-monomials once). Level L of the tree runs as m ReLU layers, so the depth is
    ``m ceil(log2 deg) + 1``; linear terms are exact. A square of a value in ``[lo, hi]`` folds (``|w|``)
    when ``lo < 0 < hi``, else shifts. The bound is derived by error propagation with interval ranges of
    every factor (see :func:`theory.heads._polynomial_plan.build_polynomial`): a polynomial ``E(delta)``,
    ``delta = 2^(-2m-2)``, with nonnegative coefficients; ``formula = E(2**(-2m-2))`` and ``bound = formula(m)``. Degree <= 1: exact
    (a single linear layer, bound 0).

    Args:
        expr: sympy expression or string in ``x0 .. x{k-1}``.
        box: ``(lo, hi)`` or ``k`` pairs.
        m: sawtooth steps in [1, 1000].
        k: number of inputs (default: from box pairs, else from the symbols).
    Returns:
        :class:`theory.Head` (params: name "polynomial", m, degree).
    Raises:
        TheoryError: not a polynomial with rational coefficients, degree > 8, bad box or m.
    Source: Yarotsky (2017), Propositions 2-3 (squares, products; standard); the error propagation through
    the product tree is a reconstruction.
    """
    m = _check_m(m)
    target, k = parse_target(expr, k if k is not None else box_arity(box), name="expr")
    box = as_box(box, k)
    const, terms = polynomial_terms(target, k)
    degree = max((sum(e) for _, e in terms), default=0)
    net, err = build_polynomial(
        terms, const, box, m, meta={"construction": "polynomial_head", "m": m, "degree": degree}
    )
    return _head(
        net,
        target,
        box,
        err,
        m,
        "Yarotsky 2017 squares and products (standard); error propagation through the product tree: reconstruction",
        {"name": "polynomial", "m": m, "degree": degree},
    )


def polynomial_error(expr: Any, box: Any, k: int | None = None) -> sp.Expr:
    """``E(delta)`` of :func:`polynomial_head` for ``expr`` on ``box`` (independent of m; for choosing m)."""
    target, k = parse_target(expr, k if k is not None else box_arity(box), name="expr")
    box = as_box(box, k)
    const, terms = polynomial_terms(target, k)
    return build_polynomial(terms, const, box, 1)[1]
