"""Exact rational coercion: the single gate through which numbers enter exact specs."""

from __future__ import annotations

import numbers
import re
from fractions import Fraction
from typing import Any

import numpy as np

from .._errors import bad

ZERO = Fraction(0)
ONE = Fraction(1)
MINUS_ONE = Fraction(-1)

MAX_DIGITS = 4000
"""Most digits of one integer part of a number written as text (numerator, denominator, mantissa), below
Python's own limit on converting long digit strings (4300)."""
MAX_EXPONENT = 400
"""Largest decimal exponent ``|e|`` of a number written as text (``1e400``): beyond it, ``10**e`` alone would make
reading slow (``Fraction("1e999999999")`` never returns), and no float format holds such a number."""
MAX_MAGNITUDE = Fraction(*np.finfo(np.float64).max.as_integer_ratio())
"""Largest magnitude of an exact number (the float64 range, about 1.8e308): every exact number must also run in the
float modules, so a larger one is refused where it enters instead of overflowing later."""
_TEXT = re.compile(r"\s*([+-]?)(?:([0-9]+)\s*/\s*([0-9]+)|([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]{1,6}))?)\s*")
_ALLOWED = f"a rational string such as '3', '-1/2', '0.25' or '1e-3' (at most {MAX_DIGITS} digits, exponents up to {MAX_EXPONENT})"


def as_rational(value: Any, arg: str) -> Fraction:
    """Convert ``value`` to an exact :class:`~fractions.Fraction`.

    Accepted: ints (not bool), Fractions, any :class:`numbers.Rational` (e.g. ``sympy.Rational``),
    strings ``"p/q"`` or decimal strings, and finite floats, Python, numpy or sympy (converted exactly to
    their binary value, so ``0.1`` becomes ``3602879701896397/36028797018963968``; ``head.bound * 0.99`` is a
    sympy Float and is read the same way).

    Text is checked before it is converted (:data:`MAX_DIGITS`, :data:`MAX_EXPONENT`: reading is fast for any
    string); every result lies in the float64 range (:data:`MAX_MAGNITUDE`).

    Raises:
        TheoryError: for bools, non-finite floats, non-numeric strings, text beyond the digit or exponent bounds,
            a magnitude beyond the float64 range, and any other type.
    """
    if isinstance(value, Fraction):
        return _bounded(value, value, arg)
    if isinstance(value, (bool, np.bool_)):
        raise bad(arg, value, "an exact rational (int, Fraction, 'p/q' string or finite float), not a bool")
    if isinstance(value, (int, np.integer)):
        return _bounded(Fraction(int(value)), value, arg)
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise bad(arg, value, "a finite number (nan and inf have no exact value)")
        return _bounded(Fraction(*value.as_integer_ratio()), value, arg)  # exact for any float format
    if isinstance(value, str):
        return _bounded(_read(value, arg), value, arg)
    if isinstance(value, numbers.Rational):
        return _bounded(Fraction(int(value.numerator), int(value.denominator)), value, arg)
    # sympy numbers that are rational but not registered as numbers.Rational
    if getattr(value, "is_Rational", None):
        return _bounded(Fraction(int(value.p), int(value.q)), value, arg)
    if getattr(value, "is_Float", None):  # a sympy Float is a binary float of some precision: its exact value
        if not value.is_finite:
            raise bad(arg, value, "a finite number (nan and inf have no exact value)")
        import sympy as sp

        exact = sp.Rational(value)
        return _bounded(Fraction(int(exact.p), int(exact.q)), value, arg)
    raise bad(arg, value, "an exact rational (int, Fraction, 'p/q' string or finite float)")


def _read(text: str, arg: str) -> Fraction:
    """A number written as text, its digits and exponent bounded before anything is converted."""
    m = _TEXT.fullmatch(text) if len(text) <= 2 * MAX_DIGITS + 16 else None
    if m is None or not (m.group(2) or m.group(4) or m.group(5)):
        raise bad(arg, text[:60], _ALLOWED)
    sign, p, q, whole, frac, exp = m.groups()
    if any(len(part or "") > MAX_DIGITS for part in (p, q, whole, frac)) or abs(int(exp or 0)) > MAX_EXPONENT:
        raise bad(arg, text[:60], _ALLOWED)
    if q is not None:
        if int(q) == 0:
            raise bad(arg, text[:60], "a rational with a nonzero denominator")
        return Fraction(int(sign + p), int(q))
    digits = (whole or "") + (frac or "")
    scale = int(exp or 0) - len(frac or "")
    n = int(sign + digits)
    return Fraction(n * 10**scale) if scale >= 0 else Fraction(n, 10**-scale)


def _bounded(q: Fraction, value: Any, arg: str) -> Fraction:
    """``q`` unless its magnitude is beyond :data:`MAX_MAGNITUDE` (a bit-length test first: cheap for the rest)."""
    if q.numerator.bit_length() - q.denominator.bit_length() < 1023 or abs(q) <= MAX_MAGNITUDE:
        return q
    shown = value[:60] if isinstance(value, str) else f"about 1e{len(str(abs(q.numerator) // q.denominator)) - 1}"
    raise bad(arg, shown, "a magnitude at most 1.8e308 (the float64 range: every exact number also runs in floats)")


def rational_str(q: Fraction) -> str:
    """Canonical string of a rational: ``'3'``, ``'-1/2'`` (lossless, parsed back by ``Fraction``)."""
    return str(q)
