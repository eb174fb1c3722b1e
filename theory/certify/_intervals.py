"""Outward-rounded float64 arithmetic: error budgets, one-ulp rounding, vectorised interval numbers.

* :func:`slack`, :data:`TINY`: the budget ``slack(m) * sum|terms| + m * TINY`` covers the rounding of a float
  sum of ``m`` products (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., Lemma 3.1);
  :func:`dn` / :func:`up` move a result one ulp outward (covering a last round-to-nearest).
* ``iv_*``: interval numbers as pairs ``(lo, hi)`` of float64 arrays, every result rounded outward, with our
  own sin, cos, exp, log, atan (never the platform libm);
* :func:`compile_interval`: a sympy expression as a vectorised interval function built from them.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

U = 2.0**-53
TINY = 2.0**-1060          # covers the absolute underflow error of one operation (<= 2^-1075) many times over


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
# np.nextafter. IEEE +, -, *, /, sqrt are correctly rounded, so one ulp outward encloses the exact result;
# sin, cos, exp, log are computed here (argument reduction with an enclosure of pi/2 or ln 2, then Taylor
# polynomials in interval arithmetic plus a Lagrange remainder bound), never by the platform libm.
def _fix(lo, hi):
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
        p = np.where(np.isnan(p), 0.0, p)                     # 0 * inf: the exact product is 0 there
    return _fix(dn(p.min(axis=0)), up(p.max(axis=0)))


def iv_div(x, y):
    zero = (y[0] <= 0) & (y[1] >= 0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        p = np.stack(np.broadcast_arrays(x[0] / y[0], x[0] / y[1], x[1] / y[0], x[1] / y[1]))
        lo, hi = dn(p.min(axis=0)), up(p.max(axis=0))
    return _fix(np.where(zero, -np.inf, lo), np.where(zero, np.inf, hi))


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
    neg = x[0] < 0                                           # outside the domain: no finite enclosure
    return _fix(np.where(neg, -np.inf, lo), np.where(neg, np.inf, hi))


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
_SIN_C = [_coef(Fraction((-1) ** i) / _FACT[2 * i + 1]) for i in range(12)]   # sin t = t * S(t^2)
_COS_C = [_coef(Fraction((-1) ** i) / _FACT[2 * i]) for i in range(12)]       # cos t = C(t^2)
_EXP_C = [_coef(1 / _FACT[i]) for i in range(20)]
_LOG_C = [_coef(Fraction(2, 2 * i + 1)) for i in range(20)]                   # log m = s * L(s^2), s=(m-1)/(m+1)
_PIO2 = (1.5707963267948966, float(up(1.5707963267948966)))                  # pi/2 in [lo, hi]
_LN2 = (float(dn(0.6931471805599453)), float(up(0.6931471805599453)))
_PI = (float(dn(np.pi)), float(up(np.pi)))
_E = (float(dn(np.e)), float(up(np.e)))
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
    rs = up(2.0 * tm ** 25 / 1.5511210043330986e25)         # 2 |t|^25 / 25!  (remainder of the degree-23 sin)
    rc = up(2.0 * tm ** 24 / 6.204484017332394e23)          # 2 |t|^24 / 24!
    s = iv_mul(t, _poly(t2, _SIN_C))
    s = (dn(s[0] - rs), up(s[1] + rs))
    c = _poly(t2, _COS_C)
    c = (dn(c[0] - rc), up(c[1] + rc))
    q = np.mod(k, 4)
    sin = (np.select([q == 0, q == 1, q == 2], [s[0], c[0], -s[1]], -c[1]),
           np.select([q == 0, q == 1, q == 2], [s[1], c[1], -s[0]], -c[0]))
    cos = (np.select([q == 0, q == 1, q == 2], [c[0], -s[1], -c[1]], s[0]),
           np.select([q == 0, q == 1, q == 2], [c[1], -s[0], -c[0]], s[1]))
    clip = lambda v: (np.where(big, -1.0, np.maximum(v[0], -1.0)), np.where(big, 1.0, np.minimum(v[1], 1.0)))
    return clip(sin), clip(cos)


def _contains_point(x, offset):
    """Whether ``[x_lo, x_hi]`` may contain ``offset + 2 pi j`` for an integer j (conservative)."""
    twopi_lo, twopi_hi = 2 * _PI[0], up(2 * _PI[1])
    with np.errstate(invalid="ignore", over="ignore"):
        j = np.ceil(dn(x[0] - offset[1]) / twopi_hi) - 1.0      # start below, scan three candidates
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
    lo = np.where(_contains_point(x, _PI), -1.0, lo)
    return lo, hi


def _exp_point(x: np.ndarray):
    xs = np.clip(np.where(np.isnan(x), 0.0, x), -745.0, 710.0)
    k, t = _reduce(xs, _LN2)
    tm = np.maximum(np.abs(t[0]), np.abs(t[1]))
    r = up(2.0 * tm ** 20 / 2.43290200817664e18)               # e^|t| |t|^20 / 20!, e^0.36 < 2
    p = _poly(t, _EXP_C)
    lo, hi = np.maximum(dn(p[0] - r), 0.0), up(p[1] + r)
    with np.errstate(over="ignore", under="ignore"):
        lo = dn(np.ldexp(lo, k.astype(np.int64)))
        hi = up(np.ldexp(hi, k.astype(np.int64)))
    lo = np.where(x <= -745.0, 0.0, np.maximum(lo, 0.0))
    hi = np.where(x >= 710.0, np.inf, hi)
    return lo, hi


def iv_exp(x):
    return _fix(_exp_point(x[0])[0], _exp_point(x[1])[1])


def _log_point(x: np.ndarray):
    pos = x > 0
    xs = np.where(pos & np.isfinite(x), x, 1.0)
    m, e = np.frexp(xs)
    small = m < 0.7071067811865476
    m = np.where(small, m * 2.0, m)                          # exact
    e = np.where(small, e - 1, e).astype(np.float64)
    s = iv_div(iv_sub((m, m), (np.ones_like(m), np.ones_like(m))), iv_add((m, m), (np.ones_like(m), np.ones_like(m))))
    s2 = iv_mul(s, s)
    sm = np.maximum(np.abs(s[0]), np.abs(s[1]))
    r = up(2.0 * sm ** 41 / 41.0 / (1.0 - 0.04))              # tail of 2 sum s^(2i+1)/(2i+1), i >= 20, |s| < 0.172
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
    return _fix(np.where(neg, -np.inf, lo), np.where(neg, np.inf, hi))


_ATAN_C = [_coef(Fraction((-1) ** i, 2 * i + 1)) for i in range(14)]                # atan t = t * A(t^2)


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
    r = up(2.0 * tm ** 29 / 29.0)
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


def iv_min(*xs):
    """``min`` of intervals: the minimum of the lower ends and of the upper ends (exact)."""
    return np.minimum.reduce([x[0] for x in xs]), np.minimum.reduce([x[1] for x in xs])


def iv_max(*xs):
    """``max`` of intervals: the maximum of the lower ends and of the upper ends (exact)."""
    return np.maximum.reduce([x[0] for x in xs]), np.maximum.reduce([x[1] for x in xs])


class Unsupported(Exception):
    """The expression uses a function the vectorised interval evaluator does not implement."""


_FUNCS = {sp_name: fn for sp_name, fn in (("sin", iv_sin), ("cos", iv_cos), ("exp", iv_exp), ("log", iv_log),
                                            ("atan", iv_atan))}
_FOLDS = {"Min": iv_min, "Max": iv_max}


def compile_interval(expr, symbols):
    """Compile a sympy expression to ``f(env) -> (lo, hi)``, env: one ``(lo, hi)`` array pair per symbol.

    Supported: rationals, pi, E, symbols, +, *, integer powers, square roots and other rational powers of
    positive bases (through exp/log), sin, cos, exp, log, atan, Abs, Min, Max. Raises :class:`Unsupported`
    otherwise (tan goes to the mpmath fallback; sinh, cosh, tanh are rewritten through exp first).
    The result encloses the exact value of the expression at every point of the argument box.
    (The heads' evaluator, :func:`theory.heads._target.evaluate_on`, is a different one on purpose: exact rationals
    where possible and errors reported, not widened to ``[-inf, inf]``; see :mod:`theory.certify._enclosure`.)
    """
    import sympy as sp

    pos = {s: i for i, s in enumerate(symbols)}

    def comp(e):
        if e.is_Symbol:
            if e not in pos:
                raise Unsupported(f"unknown symbol {e}")
            i = pos[e]
            return lambda env: env[i]
        if e.is_Rational:
            q = Fraction(int(e.p), int(e.q))
            return lambda env: iv_const(q, env[0][0].shape if env else ())
        if e is sp.pi or e is sp.E:
            c = _PI if e is sp.pi else _E
            return lambda env: (np.full(env[0][0].shape if env else (), c[0]), np.full(env[0][0].shape if env else (), c[1]))
        if e.is_Add or e.is_Mul:
            parts = [comp(a) for a in e.args]

            def fold(env, parts=parts, op=iv_add if e.is_Add else iv_mul):
                acc = parts[0](env)
                for p in parts[1:]:
                    acc = op(acc, p(env))
                return acc
            return fold
        if e.is_Pow:
            base, ex = e.args
            b = comp(base)
            if ex.is_Integer:
                n = int(ex)
                return lambda env: iv_pow_int(b(env), n)
            if ex.is_Rational:
                if ex == sp.Rational(1, 2):
                    return lambda env: iv_sqrt(b(env))
                if ex == sp.Rational(-1, 2):
                    return lambda env: iv_div(iv_const(Fraction(1), b(env)[0].shape), iv_sqrt(b(env)))
                q = Fraction(int(ex.p), int(ex.q))

                def rpow(env):
                    x = b(env)
                    lg = iv_log(x)
                    return iv_exp(iv_mul(iv_const(q, x[0].shape), lg))
                return rpow
            raise Unsupported(f"power {e}")
        if isinstance(e, sp.Abs):
            a = comp(e.args[0])
            return lambda env: iv_abs(a(env))
        name = type(e).__name__
        if name in _FOLDS and e.args:
            fold, parts = _FOLDS[name], [comp(a) for a in e.args]
            return lambda env: fold(*np.broadcast_arrays(*[p(env) for p in parts]))
        if name in _FUNCS and len(e.args) == 1:
            fn, a = _FUNCS[name], comp(e.args[0])
            return lambda env: fn(a(env))
        raise Unsupported(f"{name} in {e}")

    f = comp(expr)

    def run(env):
        lo, hi = f(env)
        shape = env[0][0].shape if env else ()
        lo, hi = np.broadcast_to(lo, shape).astype(np.float64), np.broadcast_to(hi, shape).astype(np.float64)
        return _fix(lo, hi)
    return run
