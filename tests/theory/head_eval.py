"""Exact values of heads at rational points and 50-digit values of their targets (mpmath).

Importing this module sets mpmath's working precision to 50 digits, as ``mpq`` and ``mp_value`` assume.
"""

from __future__ import annotations

import random
from fractions import Fraction

import mpmath
import sympy as sp

import theory

mpmath.mp.dps = 50


def head_value(head: theory.Head, point) -> Fraction:
    return theory.evaluate_exact(head.net, [[Fraction(v)] for v in point])[0]


def mp_value(expr: sp.Expr, point) -> mpmath.mpf:
    syms = theory.head_symbols(len(point))
    fn = sp.lambdify(syms, expr, "mpmath")
    return mpmath.mpf(fn(*[mpmath.mpf(p.numerator) / p.denominator for p in point]))


def mpq(q) -> mpmath.mpf:
    """A rational (Fraction or sympy Rational) as a 50-digit mpmath number."""
    q = Fraction(int(q.numerator), int(q.denominator)) if isinstance(q, Fraction) else Fraction(int(q.p), int(q.q))
    return mpmath.mpf(q.numerator) / q.denominator


def random_point(rng: random.Random, box, den: int = 997) -> list[Fraction]:
    return [lo + (hi - lo) * Fraction(rng.randint(0, den), den) for lo, hi in box]
