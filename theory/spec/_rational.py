"""Exact rational coercion: the single gate through which numbers enter exact specs."""

from __future__ import annotations

import numbers
from fractions import Fraction
from typing import Any

import numpy as np

from .._errors import bad

ZERO = Fraction(0)
ONE = Fraction(1)
MINUS_ONE = Fraction(-1)


def as_rational(value: Any, arg: str) -> Fraction:
    """Convert ``value`` to an exact :class:`~fractions.Fraction`.

    Accepted: ints (not bool), Fractions, any :class:`numbers.Rational` (e.g. ``sympy.Rational``),
    strings ``"p/q"`` or decimal strings, and finite floats, Python, numpy or sympy (converted exactly to
    their binary value, so ``0.1`` becomes ``3602879701896397/36028797018963968``; ``head.bound * 0.99`` is a
    sympy Float and is read the same way).

    Raises:
        TheoryError: for bools, non-finite floats, non-numeric strings and any other type.
    """
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (bool, np.bool_)):
        raise bad(arg, value, "an exact rational (int, Fraction, 'p/q' string or finite float), not a bool")
    if isinstance(value, (int, np.integer)):
        return Fraction(int(value))
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise bad(arg, value, "a finite number (nan and inf have no exact value)")
        return Fraction(*value.as_integer_ratio())  # exact for float16/32/64 and long double alike
    if isinstance(value, str):
        try:
            return Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise bad(arg, value, "a rational string such as '3', '-1/2' or '0.25'") from None
    if isinstance(value, numbers.Rational):
        return Fraction(int(value.numerator), int(value.denominator))
    # sympy numbers that are rational but not registered as numbers.Rational
    if getattr(value, "is_Rational", None):
        return Fraction(int(value.p), int(value.q))
    if getattr(value, "is_Float", None):  # a sympy Float is a binary float of some precision: its exact value
        if not value.is_finite:
            raise bad(arg, value, "a finite number (nan and inf have no exact value)")
        import sympy as sp

        exact = sp.Rational(value)
        return Fraction(int(exact.p), int(exact.q))
    raise bad(arg, value, "an exact rational (int, Fraction, 'p/q' string or finite float)")


def rational_str(q: Fraction) -> str:
    """Canonical string of a rational: ``'3'``, ``'-1/2'`` (lossless, parsed back by ``Fraction``)."""
    return str(q)
