"""Target enclosures (theory.enclose_target): exact where the target is rational, tight intervals otherwise."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp

import theory


def test_enclose_target_exact_interval_and_undefined():
    import mpmath

    x, y = sp.symbols("x0 x1", real=True)
    assert (
        theory.enclose_target(x * y + sp.Rational(1, 3), {x: Fraction(1, 2), y: Fraction(-4)}) == (Fraction(-5, 3),) * 2
    )
    lo, hi = theory.enclose_target(sp.sin(3 * x) * y, {x: Fraction(1, 7), y: Fraction(2)}, bits=128)
    with mpmath.workdps(60):  # independent high-precision value
        ref = Fraction(mpmath.nstr(mpmath.sin(mpmath.mpf(3) / 7) * 2, 50))
    assert lo <= ref + Fraction(1, 10**45) and ref - Fraction(1, 10**45) <= hi and hi - lo < Fraction(1, 10**30)
    with pytest.raises(theory.TheoryError, match="target"):
        theory.enclose_target(1 / x, {x: Fraction(0)})
    with pytest.raises(theory.TheoryError, match="target"):
        theory.enclose_target(sp.log(x), {x: Fraction(-1)})
