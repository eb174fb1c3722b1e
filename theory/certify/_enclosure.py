"""The certifier's target ``g`` and its derivatives (up to order 3) as vectorised rigorous interval functions.

:class:`Target` compiles ``g`` with the numpy interval evaluator (:func:`theory.certify._interval_eval.compile_interval`)
where it applies, with ``mpmath.iv`` (one box at a time) otherwise, and encloses ``g``, its gradient, Hessian
and third derivatives on batches of boxes (:class:`GData`); :meth:`Target.point_hp` encloses ``g`` at one
rational point at 256 bits (for the rigorous lower bound).

Not :func:`theory.heads._target.evaluate_on` (the heads' evaluator): the certifier needs a *total* enclosure, an
evaluation error on a box meaning the interval ``[-inf, inf]`` there (a sound, useless bound), vectorised
over boxes in float64; the heads need an error to be reported (``NonFinite``) and exact rationals where
possible. Both are outward-rounded, so both are sound; their failure semantics differ on purpose.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import sympy as sp
from mpmath import iv
from mpmath.libmp import to_float
from sympy.printing.pycode import MpmathPrinter

from .._errors import bad
from ..heads._interval_functions import iv_atan, iv_max, iv_min
from ..heads._target import NonFinite, Prec, iv_bounds, iv_interval, rewrite_hyperbolic
from ._interval_eval import Unsupported, compile_interval
from ._intervals import dn, up

_IV = SimpleNamespace(
    mpf=iv.mpf,
    sin=iv.sin,
    cos=iv.cos,
    tan=iv.tan,
    exp=iv.exp,
    log=iv.log,
    sqrt=iv.sqrt,
    pi=iv.pi,
    e=iv.e,
    cbrt=lambda v: iv.cbrt(v),
    atan=iv_atan,
)
_MP_MODULES = [{"mpmath": _IV, "min": iv_min, "max": iv_max}]
"""The namespace of the mpmath fallback: sympy prints Min / Max as the builtins min / max, replaced here by
their interval versions (the builtins would compare intervals)."""


def _mp_compiled(expr, syms):
    """Fallback for functions the numpy interval evaluator lacks: mpmath.iv, one box at a time."""
    f = sp.lambdify(syms, expr, modules=_MP_MODULES, printer=MpmathPrinter)

    def run(env):
        shape = env[0][0].shape if env else ()
        lo, hi = np.empty(shape), np.empty(shape)
        for i in np.ndindex(shape):
            try:
                v = f(*[iv.mpf([float(a[0][i]), float(a[1][i])]) for a in env])
                v = v if isinstance(v, iv.mpf) else iv.mpf(v)
                lo[i], hi[i] = to_float(v._mpi_[0], rnd="f"), to_float(v._mpi_[1], rnd="c")
            except (ZeroDivisionError, ValueError, TypeError, OverflowError, AttributeError):
                lo[i], hi[i] = -np.inf, np.inf
        bad_ = np.isnan(lo) | np.isnan(hi)
        return np.where(bad_, -np.inf, lo), np.where(bad_, np.inf, hi)

    return run


def _compile(expr, syms):
    try:
        return compile_interval(expr, syms), True
    except Unsupported:
        try:
            f = _mp_compiled(expr, syms)
            if syms:
                f([(np.zeros(1), np.zeros(1))] * len(syms))
            return f, False
        except Exception as e:  # noqa: BLE001 - sympy printers raise several types for unsupported functions
            raise bad(
                "target",
                str(expr),
                f"functions with a rigorous interval extension (sin, cos, tan, exp, "
                f"log, sqrt, powers, atan, Abs, Min, Max; sinh, cosh, tanh through exp); {type(e).__name__}: {e}",
            ) from None


@dataclass
class GData:
    """Rigorous enclosures of the target on a batch of boxes (intervals as ``(lo, hi)`` arrays, last axis B)."""

    lo: np.ndarray
    hi: np.ndarray
    c: np.ndarray
    r: np.ndarray
    g0: tuple
    gB: tuple
    g1: list | None = None  # gradient at c
    d1: list | None = None  # gradient over the box
    g2: list | None = None  # Hessian at c (k x k)
    rho: np.ndarray | None = None  # third-order Taylor remainder bound


class Target:
    """``g`` and its derivatives up to order 3 as vectorised rigorous interval functions.

    The numpy interval evaluator (:func:`theory.certify._interval_eval.compile_interval`) is used where it applies, mpmath
    interval arithmetic otherwise; a numpy float version gives the (non-rigorous) estimates of the search.
    """

    def __init__(self, expr: sp.Expr, names: list[str]):
        self.expr = expr = rewrite_hyperbolic(expr)  # sinh, cosh, tanh through exp (an identity)
        self.syms = syms = [sp.Symbol(n, real=True) for n in names]
        self.k = k = len(syms)
        self.f, self.fast = _compile(expr, syms)
        self.f_np = sp.lambdify(syms, expr, modules="numpy")
        # derivatives: the mean-value form needs the gradient, the Taylor form the Hessian and third derivatives;
        # a stage that cannot be compiled (e.g. DiracDelta from Abs) disables that form only
        self.grad = self.hess = self.d3 = None
        try:
            grads = [sp.diff(expr, s) for s in syms]
            self.grad = [_compile(d, syms)[0] for d in grads]
            hess = {(a, b): _compile(sp.diff(grads[a], syms[b]), syms)[0] for a in range(k) for b in range(a, k)}
            d3 = {
                t: _compile(sp.diff(expr, *[syms[i] for i in t]), syms)[0]
                for t in itertools.combinations_with_replacement(range(k), 3)
            }
            self.hess, self.d3 = hess, d3
        except Exception:  # noqa: BLE001 - any failure to differentiate/compile only removes a bound
            pass

    def data(self, lo: np.ndarray, hi: np.ndarray) -> GData:
        """Enclosures on the boxes ``[lo, hi]`` (shape ``(k, B)``) around the centres ``c``."""
        k = self.k
        c = np.minimum(np.maximum(0.5 * (lo + hi), lo), hi)
        r = up(np.maximum(hi - c, c - lo))
        pt = [(c[a], c[a]) for a in range(k)]
        bx = [(lo[a], hi[a]) for a in range(k)]
        B = lo.shape[1]
        g0 = self.f(pt) if k else self.f([(np.zeros(B), np.zeros(B))][:0] or [])
        if not k:
            g0 = (np.broadcast_to(g0[0], (B,)), np.broadcast_to(g0[1], (B,)))
        gB = self.f(bx) if k else g0
        gd = GData(lo, hi, c, r, g0, gB)
        if self.grad is None or not k:
            return gd
        d1 = [f(bx) for f in self.grad]
        gd.d1 = d1
        spread = np.zeros(B)
        for a in range(k):
            spread = up(spread + up(np.maximum(np.abs(d1[a][0]), np.abs(d1[a][1])) * r[a]))
        with np.errstate(invalid="ignore"):
            mv = (dn(g0[0] - spread), up(g0[1] + spread))
            gd.gB = (
                np.fmax(gB[0], np.where(np.isnan(mv[0]), -np.inf, mv[0])),
                np.fmin(gB[1], np.where(np.isnan(mv[1]), np.inf, mv[1])),
            )
        gd.g1 = [f(pt) for f in self.grad]
        if self.hess is None:
            return gd
        assert self.d3 is not None  # set together with hess (__init__)
        g2 = [[None] * k for _ in range(k)]
        for (a, b), f in self.hess.items():
            g2[a][b] = g2[b][a] = f(pt)
        gd.g2 = g2
        rho = np.zeros(B)
        for t, f in self.d3.items():
            v = f(bx)
            mult = 6 // int(math.prod(math.factorial(t.count(i)) for i in set(t)))
            term = up(np.maximum(np.abs(v[0]), np.abs(v[1])) * float(mult))
            for i in t:
                term = up(term * r[i])
            rho = up(rho + term)
        with np.errstate(invalid="ignore"):
            gd.rho = np.where(np.isnan(rho), np.inf, up(rho / 6.0 * (1 + 2 * 2.0**-52)))
        return gd

    def point_hp(self, x: list[Fraction], prec: int = 256):
        """Rigorous enclosure of ``g(x)`` at a rational point in 256-bit mpmath intervals, as Fractions."""
        f = sp.lambdify(self.syms, self.expr, modules=_MP_MODULES, printer=MpmathPrinter)
        with Prec(prec):
            try:
                v = f(*[iv_interval(q, q) for q in x])
                v = v if isinstance(v, iv.mpf) else iv.mpf(v)
                return iv_bounds(v)
            except (NonFinite, ZeroDivisionError, ValueError, TypeError, OverflowError, AttributeError):
                return None

    def values_np(self, pts: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            v = self.f_np(*pts)
        return np.broadcast_to(np.asarray(v, dtype=np.float64), pts.shape[1:])
