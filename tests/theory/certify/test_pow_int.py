"""iv_pow_int, the certifier's interval integer power, against independent exact and mpmath computations.

The range of ``x^n`` on ``[a, b]`` is computed here from the endpoints (``|x|^n`` for even n, with 0 when
``a <= 0 <= b``; increasing for odd n) in exact rationals for small ``n`` and in 400-bit mpmath interval
arithmetic for large ``n`` (up to ``2^54``, where a loop over ``n`` would never end); iv_pow_int must enclose it
and be tight to a named tolerance.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from theory._main import main as cli_main
from theory.certify._intervals import iv_pow_int

REL_ULPS = 8  # tightness: n products, each one ulp outward; a power multiplies relative errors: <= 8 n 2^-53


def _range_exact(a: Fraction, b: Fraction, n: int) -> tuple[Fraction, Fraction]:
    ends = [a**n, b**n]
    if n > 0 and n % 2 == 0 and a <= 0 <= b:
        ends.append(Fraction(0))
    return min(ends), max(ends)


def _range_mp(a: float, b: float, n: int) -> tuple[mpmath.mpf, mpmath.mpf]:
    """Rigorous outer bounds of the range at 400 bits (mpmath interval powers of the exact endpoints)."""
    ctx, old = mpmath.iv, mpmath.iv.prec
    ctx.prec = 400
    try:
        ends = [ctx.mpf(a) ** n, ctx.mpf(b) ** n]
    finally:
        ctx.prec = old
    with mpmath.workprec(400):  # endpoints kept exactly
        los = [mpmath.mpf(e._mpi_[0]) for e in ends]
        his = [mpmath.mpf(e._mpi_[1]) for e in ends]
    if n > 0 and n % 2 == 0 and a <= 0 <= b:
        los.append(mpmath.mpf(0))
    return min(los), max(his)


def _check(a: float, b: float, n: int) -> None:
    lo, hi = iv_pow_int((np.array([a]), np.array([b])), n)
    lo, hi = float(lo[0]), float(hi[0])
    if abs(n) <= 200 and n >= 0:
        tlo, thi = _range_exact(Fraction(a), Fraction(b), n)
        assert Fraction(lo) <= tlo and (hi == math.inf or thi <= Fraction(hi))
        true_lo, true_hi = float(tlo), float(thi)
    else:
        mlo, mhi = _range_mp(a, b, n)
        assert mpmath.mpf(lo) <= mlo and mhi <= mpmath.mpf(hi)  # encloses (inf encloses anything)
        true_lo, true_hi = float(mlo), float(mhi)
    tol = REL_ULPS * abs(n) * 2.0**-53
    for got, true in ((lo, true_lo), (hi, true_hi)):
        if math.isfinite(true) and abs(true) > 2.0**-900:  # tight where float64 can say so
            assert abs(got - true) <= tol * abs(true) + 2.0**-1000, (a, b, n, got, true)


CASES = [
    (-1.0001, 0.9999),
    (0.5, 0.75),
    (-3.0, -2.0),
    (-0.7, 0.2),
    (1.0, 1.0 + 2.0**-40),
    (-1.0 - 2.0**-40, -1.0),
    (0.0, 0.0),
    (-2.0, 2.0),
    (1.5, 1.5),
]


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 8, 63, 64, 65, 200])
@pytest.mark.parametrize("a, b", CASES)
def test_small_powers_enclose_the_exact_range(a, b, n):
    _check(a, b, n)


@pytest.mark.parametrize("n", [1001, 2**20, 2**20 + 1, 2**40 - 1, 2**42, 2**42 + 1, 18014398509481984, -65, -(2**42)])
@pytest.mark.parametrize("a, b", CASES[:6])
def test_large_powers_enclose_the_mpmath_range(a, b, n):
    if n < 0 and a <= 0 <= b:
        lo, hi = iv_pow_int((np.array([a]), np.array([b])), n)
        assert lo[0] == -np.inf and hi[0] == np.inf  # a pole inside: no finite enclosure
        return
    _check(a, b, n)


def test_large_power_near_one_is_finite_and_tight():
    """(1 + 2^-40)^(2^42) = exp(4 - 2^-39 + ...): a finite value only square and multiply reaches in time."""
    x = 1.0 + 2.0**-40
    lo, hi = iv_pow_int((np.array([x]), np.array([x])), 2**42)
    with mpmath.workprec(400):
        true = mpmath.mpf(x) ** (2**42)
    assert mpmath.mpf(lo[0]) <= true <= mpmath.mpf(hi[0]) and abs(float(true) - math.exp(4)) < 1e-10
    assert (hi[0] - lo[0]) / float(true) <= REL_ULPS * 2**42 * 2.0**-53


@settings(max_examples=200, deadline=None)
@given(st.floats(-4, 4), st.floats(-4, 4), st.integers(0, 120))
def test_random_intervals(a, b, n):
    a, b = min(a, b), max(a, b)
    _check(a, b, n)


def test_vectorised_rows_are_independent():
    a = np.array([c[0] for c in CASES])
    b = np.array([c[1] for c in CASES])
    for n in (5, 6, 2**30 + 1):
        lo, hi = iv_pow_int((a, b), n)
        for i, j in itertools.product(range(len(CASES)), [0]):
            one = iv_pow_int((a[i : i + 1], b[i : i + 1]), n)
            assert (lo[i], hi[i]) == (one[0][j], one[1][j])


NESTED = "(" * 9 + "x0" + "**64)" * 9  # sympy merges it into x0**(2**54): refused, never evaluated


def test_certifier_refuses_merged_powers(tmp_path, capsys):
    net = theory.approximate_sparse(4, [0, 1], "x0*x1", (-1, 1), Fraction(1, 100))
    with pytest.raises(theory.TheoryError, match="after sympy merges the powers"):
        theory.certify_sup_error(net, NESTED, (-1, 1), time_limit_s=3)
    x0 = sp.Symbol("x0", real=True)  # a sympy target skips the parser
    with pytest.raises(theory.TheoryError, match="argument 'target'.*exponents p/q, \\|p\\|, q <= 64"):
        theory.certify_sup_error(net, x0 ** (2**42), (-1, 1), time_limit_s=3)
    spec = str(theory.save(net, tmp_path / "spec"))
    assert cli_main(["certify", spec, "--target", NESTED, "--box", "-1,1", "--time-limit", "3", "--no-progress"]) == 2
    assert "after sympy merges the powers" in capsys.readouterr().err
