"""Ball arithmetic of the checker: exact numbers to arb balls and back, boxes as balls, rigorous endpoints.

The checker's real arithmetic is python-flint's ``arb`` (a midpoint-radius ball, every operation enclosing its
exact result) at :data:`PRECISION` bits, and ``fmpq`` (exact rationals); it uses none of the search's numpy
outward rounding. Source: Johansson, "Arb: efficient arbitrary-precision midpoint-radius interval arithmetic",
IEEE Trans. Computers 66 (2017).
"""

from __future__ import annotations

import re
from fractions import Fraction

from flint import arb, fmpq

PRECISION = 96
"""Bits of every ball operation of the checker (about 29 digits: a claimed float64 bound is checked far below
its own ulp); :func:`theory.check_certificate` sets flint's (global) precision to it and restores it after."""


_RATIONAL = re.compile(r"-?[0-9]{1,400}(/[0-9]{1,400})?")


def rational(text: object) -> fmpq:
    """An exact number written as ``str(Fraction)`` (``-3/8``, ``5``): nothing else is read (no exponents, so no
    hostile size). Raises ValueError."""
    if not isinstance(text, str) or not _RATIONAL.fullmatch(text):
        raise ValueError(f"not an exact number p/q: {str(text)[:40]!r}")
    p, _, q = text.partition("/")
    if q and int(q) == 0:
        raise ValueError("a zero denominator")
    return fmpq(int(p), int(q or 1))


def exact(x: Fraction | float | int | fmpq) -> fmpq:
    """``x`` as an exact ``fmpq`` (a float at its binary value)."""
    if isinstance(x, fmpq):
        return x
    if isinstance(x, float):
        return fmpq(*x.as_integer_ratio())
    x = Fraction(x)
    return fmpq(x.numerator, x.denominator)


def frac(q: fmpq) -> Fraction:
    """``q`` as a Python Fraction."""
    return Fraction(int(q.p), int(q.q))


def ball(q: fmpq | Fraction | int) -> arb:
    """The exact rational ``q`` as a ball (exact where ``q`` is dyadic and fits, else a tight enclosure)."""
    return arb(q if isinstance(q, fmpq) else exact(q))


def span(lo: fmpq, hi: fmpq) -> arb:
    """A ball containing the interval ``[lo, hi]``."""
    return ball(lo).union(ball(hi))


def upper(x: arb) -> fmpq:
    """An exact rational ``>=`` every point of ``x`` (inf-free: a non-finite ball raises ValueError)."""
    if not x.is_finite():
        raise ValueError("not finite")
    man, exp = x.upper().man_exp()
    return fmpq(int(man) << int(exp)) if exp >= 0 else fmpq(int(man), 1 << -int(exp))


def lower(x: arb) -> fmpq:
    """An exact rational ``<=`` every point of ``x``."""
    return -upper(-x)
