"""Outward-rounded interval enclosures of the elementary functions: sin, cos, exp, log, atan.

Computed here, never by the platform libm: argument reduction with an enclosure of ``pi/2`` or ``ln 2``
(:func:`_reduce`), then Taylor polynomials evaluated in interval arithmetic (:mod:`theory.certify._intervals`)
plus a Lagrange (or alternating-series) remainder bound, every step rounded outward. Each ``iv_*`` takes and
returns an interval ``(lo, hi)`` of float64 arrays; the result encloses ``f(x)`` for every ``x`` in the
argument interval. Outside a function's domain the enclosure is ``[-inf, inf]`` (sound and useless).
:data:`PI_IV` and :data:`E_IV` enclose ``pi`` and ``e``. Source: standard interval arithmetic (e.g. Moore,
Kearfott & Cloud, *Introduction to Interval Analysis*, 2009); the polynomial degrees and reductions are ours.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ._intervals import dn, fix_nan, iv_add, iv_const, iv_div, iv_mul, iv_sqrt, iv_sub, up


def _poly(u, coefs):
    """Interval Horner evaluation of ``sum_i coefs[i] u^i`` (coefs: interval pairs of floats)."""
    acc = (np.full_like(u[0], coefs[-1][0]), np.full_like(u[0], coefs[-1][1]))
    for c in reversed(coefs[:-1]):
        acc = iv_add(iv_mul(acc, u), (np.full_like(u[0], c[0]), np.full_like(u[0], c[1])))
    return acc


def _coef(q: Fraction):
    lo, hi = iv_const(q)
    return float(lo), float(hi)


_FACT = [Fraction(1)]
for _i in range(1, 40):
    _FACT.append(_FACT[-1] * _i)
_SIN_C = [_coef(Fraction((-1) ** i) / _FACT[2 * i + 1]) for i in range(12)]  # sin t = t * S(t^2)
_COS_C = [_coef(Fraction((-1) ** i) / _FACT[2 * i]) for i in range(12)]  # cos t = C(t^2)
_EXP_C = [_coef(1 / _FACT[i]) for i in range(20)]
_LOG_C = [_coef(Fraction(2, 2 * i + 1)) for i in range(20)]  # log m = s * L(s^2), s=(m-1)/(m+1)
_PIO2 = (1.5707963267948966, float(up(1.5707963267948966)))  # pi/2 in [lo, hi]
_LN2 = (float(dn(0.6931471805599453)), float(up(0.6931471805599453)))
PI_IV = (float(dn(np.pi)), float(up(np.pi)))
E_IV = (float(dn(np.e)), float(up(np.e)))
assert Fraction(_PIO2[0]) < Fraction("1.57079632679489661923132169163975144") < Fraction(_PIO2[1])


def _reduce(x: np.ndarray, c: tuple[float, float]):
    """``x = k c + t``: ``k = rint(x / c)`` (float) and an enclosure of ``t`` (``c`` an enclosed constant)."""
    k = np.rint(x / c[0])
    kc_lo = np.where(k >= 0, dn(k * c[0]), dn(k * c[1]))
    kc_hi = np.where(k >= 0, up(k * c[1]), up(k * c[0]))
    return k, (dn(x - kc_hi), up(x - kc_lo))


def _sincos_point(x: np.ndarray):
    """Enclosures of ``sin x`` and ``cos x`` at points (|x| <= 2^40; beyond: [-1, 1])."""
    big = ~(np.abs(x) <= 2.0**40)
    xs = np.where(big, 0.0, x)
    k, t = _reduce(xs, _PIO2)
    t2 = iv_mul(t, t)
    t2 = (np.maximum(t2[0], 0.0), t2[1])
    tm = np.maximum(np.abs(t[0]), np.abs(t[1]))
    rs = up(2.0 * tm**25 / 1.5511210043330986e25)  # 2 |t|^25 / 25!  (remainder of the degree-23 sin)
    rc = up(2.0 * tm**24 / 6.204484017332394e23)  # 2 |t|^24 / 24!
    s = iv_mul(t, _poly(t2, _SIN_C))
    s = (dn(s[0] - rs), up(s[1] + rs))
    c = _poly(t2, _COS_C)
    c = (dn(c[0] - rc), up(c[1] + rc))
    q = np.mod(k, 4)
    sin = (
        np.select([q == 0, q == 1, q == 2], [s[0], c[0], -s[1]], -c[1]),
        np.select([q == 0, q == 1, q == 2], [s[1], c[1], -s[0]], -c[0]),
    )
    cos = (
        np.select([q == 0, q == 1, q == 2], [c[0], -s[1], -c[1]], s[0]),
        np.select([q == 0, q == 1, q == 2], [c[1], -s[0], -c[0]], s[1]),
    )
    clip = lambda v: (np.where(big, -1.0, np.maximum(v[0], -1.0)), np.where(big, 1.0, np.minimum(v[1], 1.0)))
    return clip(sin), clip(cos)


def _contains_point(x, offset):
    """Whether ``[x_lo, x_hi]`` may contain ``offset + 2 pi j`` for an integer j (conservative)."""
    twopi_lo, twopi_hi = 2 * PI_IV[0], up(2 * PI_IV[1])
    with np.errstate(invalid="ignore", over="ignore"):
        j = np.ceil(dn(x[0] - offset[1]) / twopi_hi) - 1.0  # start below, scan three candidates
        hit = np.zeros(x[0].shape, dtype=bool)
        for dj in range(4):
            jj = j + dj
            p_lo = np.where(jj >= 0, dn(offset[0] + dn(jj * twopi_lo)), dn(offset[0] + dn(jj * twopi_hi)))
            p_hi = np.where(jj >= 0, up(offset[1] + up(jj * twopi_hi)), up(offset[1] + up(jj * twopi_lo)))
            hit |= (p_hi >= x[0]) & (p_lo <= x[1])
    big = ~(np.abs(x[0]) <= 2.0**40) | ~(np.abs(x[1]) <= 2.0**40)
    return hit | big | (x[1] - x[0] >= 6.0)


def iv_sin(x):
    s0, _ = _sincos_point(x[0])
    s1, _ = _sincos_point(x[1])
    lo, hi = np.minimum(s0[0], s1[0]), np.maximum(s0[1], s1[1])
    hi = np.where(_contains_point(x, (_PIO2[0], _PIO2[1])), 1.0, hi)
    lo = np.where(_contains_point(x, (-_PIO2[1], -_PIO2[0])), -1.0, lo)
    return lo, hi


def iv_cos(x):
    _, c0 = _sincos_point(x[0])
    _, c1 = _sincos_point(x[1])
    lo, hi = np.minimum(c0[0], c1[0]), np.maximum(c0[1], c1[1])
    hi = np.where(_contains_point(x, (0.0, 0.0)), 1.0, hi)
    lo = np.where(_contains_point(x, PI_IV), -1.0, lo)
    return lo, hi


def _exp_point(x: np.ndarray):
    xs = np.clip(np.where(np.isnan(x), 0.0, x), -745.0, 710.0)
    k, t = _reduce(xs, _LN2)
    tm = np.maximum(np.abs(t[0]), np.abs(t[1]))
    r = up(2.0 * tm**20 / 2.43290200817664e18)  # e^|t| |t|^20 / 20!, e^0.36 < 2
    p = _poly(t, _EXP_C)
    lo, hi = np.maximum(dn(p[0] - r), 0.0), up(p[1] + r)
    with np.errstate(over="ignore", under="ignore"):
        lo = dn(np.ldexp(lo, k.astype(np.int64)))
        hi = up(np.ldexp(hi, k.astype(np.int64)))
    lo = np.where(x <= -745.0, 0.0, np.maximum(lo, 0.0))
    hi = np.where(x >= 710.0, np.inf, hi)
    return lo, hi


def iv_exp(x):
    return fix_nan(_exp_point(x[0])[0], _exp_point(x[1])[1])


def _log_point(x: np.ndarray):
    pos = x > 0
    xs = np.where(pos & np.isfinite(x), x, 1.0)
    m, e = np.frexp(xs)
    small = m < 0.7071067811865476
    m = np.where(small, m * 2.0, m)  # exact
    e = np.where(small, e - 1, e).astype(np.float64)
    s = iv_div(iv_sub((m, m), (np.ones_like(m), np.ones_like(m))), iv_add((m, m), (np.ones_like(m), np.ones_like(m))))
    s2 = iv_mul(s, s)
    sm = np.maximum(np.abs(s[0]), np.abs(s[1]))
    r = up(2.0 * sm**41 / 41.0 / (1.0 - 0.04))  # tail of 2 sum s^(2i+1)/(2i+1), i >= 20, |s| < 0.172
    lm = iv_mul(s, _poly(s2, _LOG_C))
    lm = (dn(lm[0] - r), up(lm[1] + r))
    el = iv_mul((e, e), _LN2)
    lo, hi = iv_add(el, lm)
    lo = np.where(pos, np.where(np.isinf(x), np.inf, lo), -np.inf)
    hi = np.where(pos, np.where(np.isinf(x), np.inf, hi), np.where(x == 0, -np.inf, np.nan))
    return lo, hi


def iv_log(x):
    """``log`` of intervals. A lower end of exactly 0 gives ``-inf`` (the limit: log is defined on ``(0, hi]`` and
    unbounded below there); a box reaching below 0 (or NaN) is outside the domain: ``[-inf, inf]``, sound and
    useless. (Treating 0 as outside the domain made ``x**(1/3)`` on ``[0, 1]`` unbounded.)"""
    lo = _log_point(x[0])[0]
    hi = _log_point(x[1])[1]
    neg = ~(x[0] >= 0)
    return fix_nan(np.where(neg, -np.inf, lo), np.where(neg, np.inf, hi))


_ATAN_C = [_coef(Fraction((-1) ** i, 2 * i + 1)) for i in range(14)]  # atan t = t * A(t^2)


def _atan_point(x: np.ndarray):
    """Enclosures of ``atan x`` at points: ``|x| > 1`` through ``sign(x) pi/2 - atan(1/x)``; two halvings
    ``t -> t / (1 + sqrt(1 + t^2))`` (``atan t = 2 atan t'``) bring ``|t|`` below ``tan(pi/16) < 0.2``; then
    ``4 t A(t^2)`` with the alternating-series remainder ``|t|^29 / 29`` (doubled for the float power)."""
    xs = np.where(np.isnan(x), 0.0, x)
    big = np.abs(xs) > 1.0
    one = (np.ones_like(xs), np.ones_like(xs))
    inv = iv_div(one, (xs, xs))
    t = (np.where(big, inv[0], xs), np.where(big, inv[1], xs))
    for _ in range(2):
        t = iv_div(t, iv_add(one, iv_sqrt(iv_add(one, iv_mul(t, t)))))
    t2 = iv_mul(t, t)
    t2 = (np.maximum(t2[0], 0.0), t2[1])
    tm = np.maximum(np.abs(t[0]), np.abs(t[1]))
    r = up(2.0 * tm**29 / 29.0)
    a = iv_mul(t, _poly(t2, _ATAN_C))
    a = iv_mul((np.full_like(xs, 4.0), np.full_like(xs, 4.0)), (dn(a[0] - r), up(a[1] + r)))
    pos = iv_sub((np.full_like(xs, _PIO2[0]), np.full_like(xs, _PIO2[1])), a)
    neg = iv_sub((np.full_like(xs, -_PIO2[1]), np.full_like(xs, -_PIO2[0])), a)
    lo = np.select([big & (xs > 0), big & (xs < 0)], [pos[0], neg[0]], a[0])
    hi = np.select([big & (xs > 0), big & (xs < 0)], [pos[1], neg[1]], a[1])
    return np.maximum(lo, -_PIO2[1]), np.minimum(hi, _PIO2[1])


def iv_atan(x):
    """``atan`` of intervals (increasing: the enclosures at the two ends bound it)."""
    lo, hi = _atan_point(x[0])[0], _atan_point(x[1])[1]
    return np.where(np.isnan(x[0]), -_PIO2[1], lo), np.where(np.isnan(x[1]), _PIO2[1], hi)
