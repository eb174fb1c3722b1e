"""A sympy expression compiled to a vectorised, outward-rounded interval function.

:func:`compile_interval` walks the expression once and returns ``f(env) -> (lo, hi)``; ``env`` holds one
``(lo, hi)`` pair of float64 arrays per symbol (a batch of boxes), the result encloses the expression's exact
value at every point of each box. Arithmetic comes from :mod:`theory.certify._intervals`, the elementary
functions from :mod:`theory.certify._elementary` (the table ``_FUNCS``: a function formula text may call is
added there); anything else raises :class:`Unsupported` and the caller (:mod:`theory.certify._enclosure`)
falls back to ``mpmath.iv``.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ._elementary import E_IV, PI_IV, iv_atan, iv_cos, iv_exp, iv_log, iv_sin
from ._intervals import fix_nan, iv_abs, iv_add, iv_const, iv_div, iv_max, iv_min, iv_mul, iv_pow_int, iv_sqrt


class Unsupported(Exception):
    """The expression uses a function the vectorised interval evaluator does not implement."""


_FUNCS = {
    sp_name: fn
    for sp_name, fn in (("sin", iv_sin), ("cos", iv_cos), ("exp", iv_exp), ("log", iv_log), ("atan", iv_atan))
}
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
            c = PI_IV if e is sp.pi else E_IV
            return lambda env: (
                np.full(env[0][0].shape if env else (), c[0]),
                np.full(env[0][0].shape if env else (), c[1]),
            )
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
        return fix_nan(lo, hi)

    return run
