"""Targets of the approximation heads: parsing ``g`` and evaluating it rigorously on grids.

What every approximation head shares: parsing a target ``g`` in ``x0 .. x{k-1}`` (:func:`parse_target`) and
rigorous evaluation of it (exact rationals where ``g`` is rational, mpmath interval arithmetic otherwise) on
grids of points or of boxes, vectorised by broadcasting: a sub-expression in one variable, such as
``sin(3*x0)``, is evaluated once per grid line, not once per grid point. Also the certifier's parser of
targets in global input names (:func:`parse_global_target`).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence, cast

import numpy as np
import sympy as sp
from mpmath import iv, libmp

from .._errors import TheoryError, bad
from ..formula import LIMITS, parse_formula
from ..formula._grammar import power_beyond_limit
from ..spec import as_rational
from ..spec._rational import ZERO
from ._interval_functions import iv_atan, iv_max, iv_min

_XNAME = re.compile(r"x(\d+)\Z")


# ------------------------------------------------------------------------------------------ targets
def box_arity(box: Any) -> int | None:
    """``k`` when ``box`` is a sequence of ``(lo, hi)`` pairs; None for one ``(lo, hi)`` (or anything else)."""
    try:
        items = list(box)
    except TypeError:
        return None
    if items and all(isinstance(p, (list, tuple)) for p in items):
        return len(items)
    return None


def as_expr(value: Any, name: str, variables: str) -> sp.Expr:
    """A string through the safe parser (:func:`theory.parse_formula` with ``variables``); a sympy object as it
    is (the Python caller is trusted); a plain number exactly."""
    if isinstance(value, str):
        return parse_formula(value, variables=variables, name=name)
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, (int, float, Fraction, np.integer, np.floating)) and not isinstance(value, bool):
        return sp.Rational(as_rational(value, name))
    raise bad(name, type(value).__name__, "a formula string, a sympy expression or a number")


def parse_target(g: Any, k: int | None = None, name: str = "g") -> tuple[sp.Expr, int]:
    """A target as a sympy expression in the real symbols ``x0 .. x{k-1}``, and ``k``.

    Args:
        g: a sympy expression or a string such as ``"sin(3*x0)*x1"`` (strings go through the whitelist parser
            :func:`theory.parse_formula`, which never executes them; decimals are exact: ``"0.1"`` is 1/10).
            Symbols named ``x<j>`` are replaced by the real symbols of :func:`theory.head_symbols`; sympy
            Floats become their exact binary value.
        k: number of inputs; default ``1 + `` the largest index used.
    Returns:
        ``(expr, k)``.
    Raises:
        TheoryError: text outside the formula grammar, symbols other than ``x0 .. x{k-1}``, non-finite or
            complex constants, undefined functions.
    """
    expr = as_expr(g, name, "head")
    if not isinstance(expr, sp.Expr):
        raise bad(name, g, "a scalar expression in x0, x1, ... (not a relation, tuple or function)")
    unknown, used, mapping = [], [], {}
    for s in expr.free_symbols:
        match = _XNAME.match(s.name)
        if match is None:
            unknown.append(s.name)
            continue
        used.append(int(match.group(1)))
        mapping[s] = sp.Symbol(s.name, real=True)
    need = max(used) + 1 if used else 1
    k = need if k is None else k
    if unknown or need > k:
        extra = sorted(unknown) + [f"x{j}" for j in sorted(set(used)) if j >= k]
        raise bad(name, str(expr), f"an expression in x0..x{k - 1} only (k = {k} inputs); unknown symbols {extra}")
    expr = expr.xreplace(mapping)
    if expr.has(sp.zoo, sp.oo, -sp.oo, sp.nan, sp.I) or any(not f.is_finite for f in expr.atoms(sp.Float)):
        raise bad(name, str(expr), "a finite real expression (no oo, zoo, nan or I)")
    floats = expr.atoms(sp.Float)
    if floats:
        expr = expr.xreplace({f: sp.Rational(f) for f in floats})
    undefined = expr.atoms(sp.core.function.AppliedUndef)
    if undefined:
        raise bad(
            name,
            str(expr),
            f"an explicit expression (undefined functions {sorted(map(str, undefined))}); "
            "for a Python callable use pl_head with hessian= or lipschitz=",
        )
    return expr, k


# The certifier's parser: the same grammar as parse_target, but the *global* input names of a network
# (``x{c}``, ``x{p}`` or ``x{c}_{p}``, any indices) instead of ``x0 .. x{k-1}``.
_GLOBAL_NAME = re.compile(r"^x\d+(_\d+)?$")


def parse_global_target(target: Any) -> sp.Expr:
    """A certifier target as a sympy expression in real symbols named by global inputs (``x3``, ``x1_2``).

    Strings go through :func:`theory.parse_formula` (decimals exact: ``"0.1"`` is 1/10, as a certificate's
    claim states it); sympy expressions are taken as they are, their Floats at their exact binary value.

    Raises:
        TheoryError: text outside the formula grammar, complex or non-finite, variables not named
            ``x{i}`` / ``x{c}_{p}``, or a power beyond the parser's ``LIMITS.power`` (sympy input too).
    """
    expr = as_expr(target, "target", "inputs")
    if not isinstance(expr, sp.Expr) or expr.has(sp.I) or expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise bad("target", target, "a finite real-valued sympy expression")
    floats = expr.atoms(sp.Float)
    if floats:  # a sympy Float stands for its exact binary value
        expr = expr.xreplace({f: sp.Rational(f) for f in floats})
    for s in expr.free_symbols:
        if not _GLOBAL_NAME.match(str(s)):
            raise bad("target", target, f"variables named x0, x1, ... (global input indices); got {s}")
    big = power_beyond_limit(expr)  # a sympy expression skips the parser's guard: x0**(2**42) would not end
    if big is not None:
        raise bad("target", target, f"powers with exponents p/q, |p|, q <= {LIMITS.power}; got {big}")
    return expr.xreplace({s: sp.Symbol(str(s), real=True) for s in expr.free_symbols})


# ------------------------------------------------------------------------------ rigorous evaluation
class NotExact(Exception):
    """The expression leaves the rationals (pi, sin, sqrt, ...): evaluate with intervals instead."""


class NonFinite(Exception):
    """A value or an interval bound is infinite or undefined."""


def _obj(value: Any) -> np.ndarray:
    out = np.empty((), dtype=object)
    out[()] = value
    return out


def _wrap(value: Any) -> np.ndarray:
    return value if isinstance(value, np.ndarray) else _obj(value)


def _apply(fn: Callable[[Any], Any], arr: np.ndarray) -> np.ndarray:
    out = np.empty(arr.shape, dtype=object)
    out.reshape(-1)[:] = [fn(v) for v in arr.reshape(-1)]
    return out


def iv_interval(lo: Fraction, hi: Fraction) -> Any:
    """The smallest mpmath interval at the current ``iv.prec`` that encloses ``[lo, hi]``."""
    p = iv.prec
    a = libmp.from_rational(lo.numerator, lo.denominator, p, libmp.round_floor)
    b = libmp.from_rational(hi.numerator, hi.denominator, p, libmp.round_ceiling)
    return iv.make_mpf((a, b))


MAX_BITS = 4096
"""Largest binary exponent of an endpoint read exactly (``exp(exp(exp(5)))`` has one of about 10**64 bits): above,
unbounded (:class:`NonFinite`); below ``-MAX_BITS``, rounded outward to 0 or ``+-2**-MAX_BITS``."""
_TINY = Fraction(1, 1 << MAX_BITS)


def mpf_fraction(raw: tuple, upward: bool) -> Fraction:
    """A raw mpf tuple's exact value, rounded outward (``upward``: an upper endpoint) below ``2**-MAX_BITS``;
    :class:`NonFinite` for inf, nan and magnitudes above ``2**MAX_BITS``."""
    sign, man, exp, _ = raw
    if not man:
        if raw == libmp.fzero:
            return ZERO
        raise NonFinite
    top = exp + man.bit_length()
    if top > MAX_BITS:
        raise NonFinite
    if top < -MAX_BITS:  # |v| < 2**-MAX_BITS: an endpoint on the outer side of it
        return (_TINY if not sign else ZERO) if upward else (ZERO if not sign else -_TINY)
    v = Fraction(man << exp) if exp >= 0 else Fraction(man, 1 << -exp)
    return -v if sign else v


def iv_bounds(z: Any) -> tuple[Fraction, Fraction]:
    """Exact endpoints of an mpmath interval (rounded outward where too small to hold, :func:`mpf_fraction`)."""
    a, b = z._mpi_
    return mpf_fraction(a, upward=False), mpf_fraction(b, upward=True)


_IV_FUNCS = {
    sp.sin: iv.sin,
    sp.cos: iv.cos,
    sp.tan: iv.tan,
    sp.exp: iv.exp,
    sp.log: iv.log,
    sp.Abs: abs,
    sp.atan: iv_atan,
}
_EXACT_FUNCS = {sp.Abs: abs}
_IV_FOLDS = {sp.Min: iv_min, sp.Max: iv_max}
_EXACT_FOLDS = {sp.Min: min, sp.Max: max}
"""With :func:`rewrite_hyperbolic` (sinh, cosh, tanh through exp) and powers (sqrt), these cover every class of
:data:`theory.formula.FUNCTION_CLASSES`."""


def evaluate_on(expr: sp.Expr, env: dict[sp.Symbol, np.ndarray], exact: bool) -> np.ndarray:
    """Evaluate ``expr`` elementwise on broadcastable object arrays.

    Args:
        expr: sympy expression.
        env: symbol -> object array of Fractions (``exact``) or of mpmath intervals (``not exact``), shaped
            to broadcast against each other (e.g. ``(n0, 1)`` and ``(1, n1)``).
        exact: Fraction arithmetic (raises :class:`NotExact` on anything irrational) or interval arithmetic.
    Returns:
        An object array (broadcast shape of the variables the expression uses).
    Raises:
        NotExact, NonFinite (division by zero), TheoryError (an unsupported function).
    """
    memo: dict[sp.Basic, np.ndarray] = {}

    def ev(e: sp.Basic) -> np.ndarray:
        hit = memo.get(e)
        if hit is not None:
            return hit
        if e.is_Symbol:
            out = env[e]
        elif e.is_Rational:
            q = Fraction(int(e.p), int(e.q))
            out = _obj(q if exact else iv_interval(q, q))
        elif e.is_NumberSymbol or e is sp.E:
            if exact:
                raise NotExact
            consts = {sp.pi: iv.pi, sp.E: iv.e}
            if e not in consts:
                raise TheoryError(f"argument 'g': constant {e} is not supported (use pi, E or rationals)")
            out = _obj(consts[e])
        elif e.is_Add or e.is_Mul:
            args = [ev(a) for a in e.args]
            out = args[0]
            for a in args[1:]:
                out = _wrap(out + a if e.is_Add else out * a)
        elif e.is_Pow:
            base, ex = e.args
            b = ev(base)
            if ex.is_Integer:
                n = int(ex)
                if exact:
                    out = _apply(lambda v: v**n, b)
                else:
                    out = _apply(lambda v: v**n if n >= 0 else 1 / v ** (-n), b)
            elif exact:
                raise NotExact
            elif ex == sp.Rational(1, 2):
                out = _apply(iv.sqrt, b)
            else:
                x = ev(ex)
                out = _wrap(_apply(iv.exp, _wrap(x * _apply(iv.log, b))))
        elif isinstance(e, sp.Function) and e.func in _IV_FUNCS and len(e.args) == 1:
            fn = e.func
            if exact and fn not in _EXACT_FUNCS:
                raise NotExact
            out = _apply((_EXACT_FUNCS if exact else _IV_FUNCS)[fn], ev(e.args[0]))
        elif e.func in _IV_FOLDS and e.args:
            fold = np.frompyfunc((_EXACT_FOLDS if exact else _IV_FOLDS)[e.func], 2, 1)
            out = ev(e.args[0])
            for a in e.args[1:]:
                out = _wrap(fold(out, ev(a)))
        elif exact:
            raise NotExact
        else:
            raise TheoryError(
                f"argument 'g': cannot evaluate {type(e).__name__} ({e}) rigorously; supported: "
                "+, *, integer and rational powers, sin, cos, tan, exp, log, sqrt, atan, Abs, Min, "
                "Max, pi, E (sinh, cosh, tanh are rewritten through exp)"
            )
        memo[e] = out
        return out

    try:
        return ev(expr)
    except ZeroDivisionError:
        raise NonFinite from None
    except (ValueError, ArithmeticError) as err:  # mpmath ComplexResult (log/sqrt of negatives) and kin
        if isinstance(err, TheoryError):
            raise
        raise NonFinite from None


def enclose_target(expr: sp.Expr, point: Mapping[sp.Symbol, Fraction], bits: int = 128) -> tuple[Fraction, Fraction]:
    """Rigorous enclosure ``[lo, hi]`` of ``expr`` at an exact rational point.

    Rational expressions are evaluated exactly (``lo == hi``); anything else (sin, exp, sqrt, pi, ...) in mpmath
    interval arithmetic at ``bits`` bits, outward rounded, so the true value always lies in ``[lo, hi]``.

    Args:
        expr: sympy expression; its free symbols must all be keys of ``point``.
        point: symbol -> exact rational.
        bits: interval precision when the value is irrational.
    Raises:
        TheoryError: the expression is undefined at the point (division by zero, log of a negative, ...) or uses
            an unsupported function.
    """
    env = {sym: _obj(v) for sym, v in point.items()}
    try:
        try:
            # [()] of a 0-d object array is its element (a Fraction); the stubs type it as an array
            v = cast(Fraction, evaluate_on(expr, env, exact=True)[()])
            return v, v
        except NotExact:
            pass
        with Prec(bits):
            ienv = {sym: _obj(iv_interval(q, q)) for sym, q in point.items()}
            return iv_bounds(evaluate_on(rewrite_hyperbolic(expr), ienv, exact=False)[()])
    except NonFinite:
        raise TheoryError(f"argument 'target': {expr} is undefined or beyond 2**{MAX_BITS} at {dict(point)}") from None


def rewrite_hyperbolic(expr: sp.Expr) -> sp.Expr:
    """Hyperbolic functions through exp (interval evaluation knows exp)."""
    if expr.has(sp.sinh, sp.cosh, sp.tanh):
        expr = expr.rewrite(sp.exp)
    return expr


class Prec:
    """Temporarily set mpmath's interval precision (bits)."""

    def __init__(self, bits: int) -> None:
        self.bits = bits

    def __enter__(self) -> None:
        self.old = iv.prec
        iv.prec = self.bits

    def __exit__(self, *exc: Any) -> None:
        iv.prec = self.old


def grid_env(syms: Sequence[sp.Symbol], axes: Sequence[Sequence[Any]]) -> dict[sp.Symbol, np.ndarray]:
    k = len(syms)
    env = {}
    for a, (s, vals) in enumerate(zip(syms, axes)):
        arr = np.empty(len(vals), dtype=object)
        arr[:] = list(vals)
        env[s] = arr.reshape([-1 if b == a else 1 for b in range(k)])
    return env
