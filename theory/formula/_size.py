"""How large a formula becomes once expanded, estimated without expanding it.

``sympy.expand`` of ``(x0 + ... + x11)**64`` builds millions of terms (minutes and gigabytes); every place that
expands or turns a formula into a polynomial asks :func:`expanded_terms` first and refuses above
:data:`MAX_EXPANDED_TERMS`. :func:`structural_degree` gives the degree a polynomial is written with, again without
expanding (an upper bound of its true degree: cancellations are not seen).
"""

from __future__ import annotations

import math

import sympy as sp

MAX_EXPANDED_TERMS = 20_000
"""Most terms a formula may expand into (a dense polynomial of degree 10 in 4 variables has 1,001)."""


def expanded_terms(expr: sp.Expr) -> float:
    """An upper bound on the number of terms of ``sympy.expand(expr)`` (``inf`` past any reasonable size).

    Formula: a sum adds its terms' counts, a product multiplies them, ``b**n`` (``n`` a nonnegative integer) has at
    most ``C(t + n - 1, n)`` terms for a base of ``t`` terms (the monomials of degree ``n`` in ``t`` symbols);
    anything else (a symbol, a number, a function call, a negative or fractional power) counts as one term."""
    if isinstance(expr, sp.Add):
        return sum(expanded_terms(a) for a in expr.args)
    if isinstance(expr, sp.Mul):
        return math.prod(expanded_terms(a) for a in expr.args)
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp >= 0:
        t, n = expanded_terms(expr.base), int(expr.exp)
        if t == 1:
            return 1
        return math.comb(int(t) + n - 1, n) if t < 10**6 else math.inf
    return 1


def structural_degree(expr: sp.Expr, symbols: set[sp.Symbol]) -> float:
    """The total degree in ``symbols`` as written (sum: max, product: sum, ``b**n``: ``n`` times), ``inf`` where a
    symbol sits inside a function or a non-integer power (not a polynomial as written)."""
    if expr in symbols:
        return 1
    if not expr.free_symbols & symbols:
        return 0
    if isinstance(expr, sp.Add):
        return max(structural_degree(a, symbols) for a in expr.args)
    if isinstance(expr, sp.Mul):
        return sum(structural_degree(a, symbols) for a in expr.args)
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp >= 0:
        return int(expr.exp) * structural_degree(expr.base, symbols)
    return math.inf
