"""Outward-rounded float64 arithmetic: error budgets, one-ulp rounding, vectorised interval numbers.

* :func:`slack`, :data:`TINY`: the budget ``slack(m) * sum|terms| + m * TINY`` covers the rounding of a float
  sum of ``m`` products (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., Lemma 3.1);
  :func:`dn` / :func:`up` move a result one ulp outward (covering a last round-to-nearest).
* ``iv_*``: interval numbers as pairs ``(lo, hi)`` of float64 arrays (any broadcastable shape), every result
  rounded outward: constants, ``+ - * /``, ``abs``, integer powers, ``sqrt``, ``min``, ``max``.

The elementary functions (sin, cos, exp, log, atan) are in :mod:`theory.certify._elementary`, the compiler of a
sympy expression to an interval function in :mod:`theory.certify._interval_eval`.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

U = 2.0**-53
TINY = 2.0**-1060  # covers the absolute underflow error of one operation (<= 2^-1075) many times over


def slack(m) -> np.ndarray | float:
    """Relative error budget of a float sum of ``m`` products: ``2 (m + 4) 2^-53 >= 2 gamma_(m+4)``."""
    return (np.asarray(m, dtype=np.float64) + 4.0) * (2.0 * U)


def dn(x):
    """One ulp toward -inf (covers a round-to-nearest error of the last operation)."""
    return np.nextafter(x, -np.inf)


def up(x):
    """One ulp toward +inf."""
    return np.nextafter(x, np.inf)


# ----------------------------------------------------------------------------------------------- interval math
# Vectorised interval arithmetic on pairs of float64 arrays (lo, hi), every result rounded outward with
# np.nextafter. IEEE +, -, *, /, sqrt are correctly rounded, so one ulp outward encloses the exact result.
def fix_nan(lo, hi):
    """``[-inf, inf]`` wherever an end is NaN (no finite enclosure known there)."""
    bad_ = np.isnan(lo) | np.isnan(hi)
    if np.any(bad_):
        lo = np.where(bad_, -np.inf, lo)
        hi = np.where(bad_, np.inf, hi)
    return lo, hi


def iv_const(q: Fraction, shape=()) -> tuple[np.ndarray, np.ndarray]:
    """Enclosure of the exact rational ``q``."""
    f = float(q)
    lo, hi = (f, f) if Fraction(f) == q else (float(dn(f)), float(up(f)))
    return np.full(shape, lo), np.full(shape, hi)


def iv_add(x, y):
    return dn(x[0] + y[0]), up(x[1] + y[1])


def iv_neg(x):
    return -x[1], -x[0]


def iv_sub(x, y):
    return dn(x[0] - y[1]), up(x[1] - y[0])


def iv_mul(x, y):
    with np.errstate(invalid="ignore", over="ignore"):
        p = np.stack(np.broadcast_arrays(x[0] * y[0], x[0] * y[1], x[1] * y[0], x[1] * y[1]))
        p = np.where(np.isnan(p), 0.0, p)  # 0 * inf: the exact product is 0 there
    return fix_nan(dn(p.min(axis=0)), up(p.max(axis=0)))


def iv_div(x, y):
    zero = (y[0] <= 0) & (y[1] >= 0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        p = np.stack(np.broadcast_arrays(x[0] / y[0], x[0] / y[1], x[1] / y[0], x[1] / y[1]))
        lo, hi = dn(p.min(axis=0)), up(p.max(axis=0))
    return fix_nan(np.where(zero, -np.inf, lo), np.where(zero, np.inf, hi))


def iv_abs(x):
    lo = np.where((x[0] <= 0) & (x[1] >= 0), 0.0, np.minimum(np.abs(x[0]), np.abs(x[1])))
    return lo, np.maximum(np.abs(x[0]), np.abs(x[1]))


def _pow_nonneg(a, n: int):
    """``a ** n`` for a nonnegative interval ``a`` and an int ``n >= 1``, by square and multiply.

    On nonnegative numbers the product is monotone in both factors, so each outward-rounded :func:`iv_mul`
    of enclosures of ``lo^i`` and ``lo^j`` (``hi^i``, ``hi^j``) encloses ``lo^(i+j)`` (``hi^(i+j)``): the result
    encloses ``[lo^n, hi^n]`` in ``O(log n)`` products (overflow goes to ``+inf``, underflow to 0).
    """
    result, square = None, a
    while True:
        if n & 1:
            result = square if result is None else _nonneg(iv_mul(result, square))
        n >>= 1
        if not n:
            return result
        square = _nonneg(iv_mul(square, square))


def _nonneg(x):
    """A product of nonnegative intervals with its lower end clipped at 0 (``dn(0)`` is ``-2^-1074``)."""
    return np.maximum(x[0], 0.0), x[1]


def iv_pow_int(x, n: int):
    """``x ** n`` for an int n, in ``O(log |n|)`` outward-rounded products.

    Even ``n``: ``x^n = |x|^n``, monotone in ``|x|``, so ``[min|x|^n, max|x|^n]``. Odd ``n``: ``x^n`` is
    increasing, so ``[x_lo^n, x_hi^n]`` with ``t^n = sign(t) |t|^n`` at each endpoint (the lower end of
    ``|t|^n``'s enclosure for a positive ``t``, minus its upper end for a negative one). Negative ``n``:
    ``1 / x^|n|`` (an interval around 0 gives ``[-inf, inf]``).
    """
    n = int(n)
    if n == 0:
        return np.ones_like(x[0]), np.ones_like(x[1])
    if n < 0:
        return iv_div((np.ones_like(x[0]), np.ones_like(x[1])), iv_pow_int(x, -n))
    if n % 2 == 0:
        return _pow_nonneg(iv_abs(x), n)
    lo_abs, hi_abs = np.abs(x[0]), np.abs(x[1])
    lo_pow = _pow_nonneg((lo_abs, lo_abs), n)
    hi_pow = _pow_nonneg((hi_abs, hi_abs), n)
    lo = np.where(x[0] >= 0, lo_pow[0], -lo_pow[1])
    hi = np.where(x[1] >= 0, hi_pow[1], -hi_pow[0])
    return lo, hi


def iv_sqrt(x):
    with np.errstate(invalid="ignore"):
        lo = np.where(x[0] <= 0, 0.0, dn(np.sqrt(np.maximum(x[0], 0.0))))
        hi = up(np.sqrt(x[1]))
    neg = x[0] < 0  # outside the domain: no finite enclosure
    return fix_nan(np.where(neg, -np.inf, lo), np.where(neg, np.inf, hi))


def iv_min(*xs):
    """``min`` of intervals: the minimum of the lower ends and of the upper ends (exact)."""
    return np.minimum.reduce([x[0] for x in xs]), np.minimum.reduce([x[1] for x in xs])


def iv_max(*xs):
    """``max`` of intervals: the maximum of the lower ends and of the upper ends (exact)."""
    return np.maximum.reduce([x[0] for x in xs]), np.maximum.reduce([x[1] for x in xs])
