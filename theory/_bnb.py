"""Certified sup-norm error of a network against a target function: interval branch and bound.

:func:`certify_sup_error` proves ``sup_{x in box} |net(x) - g(x)| <= upper`` for a single-output ReLU network
with exact weights and a sympy target ``g``, and finds a point where ``|net - g| >= lower`` rigorously.

Method (reconstruction; standard ingredients): best-first branch and bound over sub-boxes of the variables
the output and the target depend on, processed in vectorised batches. On each box the network is a
perturbed affine-ReLU net (:mod:`theory._interval`) whose dead and active units are substituted away; what
remains are the box's unstable ReLUs. A box's bound is, per side (``net - g`` and ``g - net``), the better of

* the *relaxation bound*: forward affine bounds ``L(x) - E <= net(x) <= U(x) + E`` on the box, and
* the *pattern bound*: every point ``x`` follows some enumerated activation pattern ``p`` of the unstable
  units, and there ``net(x) = A_p(x) + e``, ``|e| <= E_p``, with ``A_p`` affine; so
  ``sup_box (net - g) <= max_p sup_{P_p} (A_p - g) + E_p`` over the polytope ``P_p`` of points following p.
  Patterns enumerated on a box stay valid on its sub-boxes (they are only filtered there).

For an affine ``F`` on a polytope, ``sup (F - g)`` is enclosed by the smallest of (1) the natural extension
``max_box F - min g(B)``; (2) the mean-value form ``(F - g)(c) + max_{P} (f - m).(x - c) + sum_a rad_a r_a``
with ``dg(B) in m +- rad`` and the linear maximum bounded by Lagrangian duality; (3) the second-order Taylor
form ``max_{|y| <= r} [(F - g)(c) + (f - dg(c)).y - y^T H(c) y / 2 + lam.(constraints)] + rho``,
``rho = sum_abc |d3 g(B)_abc| r_a r_b r_c / 6``, the quadratic maximised face by face in interval arithmetic.
``g`` and its derivatives are enclosed by outward-rounded interval arithmetic (numpy, with our own sin, cos,
exp, log; ``mpmath.iv`` for other functions). Boxes are split along the widest scaled axis, at a ReLU kink
of that axis when one lies near the middle. The largest bound over all boxes is valid at any time.
Lower bound: candidate points (centres, random points, maximising vertices and the stationary point of the
quadratic model) are ranked by a float surrogate, and the best is re-evaluated exactly: the network in
rational arithmetic, ``g`` in ``mpmath.iv`` at 256 bits.
"""

from __future__ import annotations

import heapq
import math
import itertools
import re
import time
from dataclasses import dataclass
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import numpy as np
import sympy as sp
from mpmath import iv
from mpmath.libmp import to_float
from sympy.printing.pycode import MpmathPrinter

from ._certificate import Certificate
from ._errors import TheoryError, bad
from ._head import as_box
from ._cone import Rep, breakpoints, extract_cone, root_rep, to_local
from ._duals import dual_lambda, dual_value
from ._ivmath import (TINY, Unsupported, compile_interval, dn, iv_abs, iv_add, iv_div, iv_mul, iv_neg, iv_sub,
                      slack, up)
from ._patterns import enumerate_patterns
from ._propagate import UNSTABLE, exact_output, propagate, simplify
from ._network import Network, thaw

_NAME = re.compile(r"^x\d+(_\d+)?$")
_IV = SimpleNamespace(mpf=iv.mpf, sin=iv.sin, cos=iv.cos, tan=iv.tan, exp=iv.exp, log=iv.log, sqrt=iv.sqrt,
                      pi=iv.pi, e=iv.e, cbrt=lambda v: iv.cbrt(v))


# ------------------------------------------------------------------------------------------------- target
def _parse_target(target: Any) -> sp.Expr:
    if isinstance(target, str):
        try:
            expr = sp.sympify(target, rational=True)
        except (sp.SympifyError, SyntaxError, TypeError) as e:
            raise bad("target", target, f"a sympy expression in x0, x1, ... ({type(e).__name__})") from None
    else:
        try:
            expr = sp.sympify(target)
        except (sp.SympifyError, SyntaxError, TypeError):
            raise bad("target", target, "a sympy expression or a string in x0, x1, ...") from None
    if not isinstance(expr, sp.Expr) or expr.has(sp.I) or expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise bad("target", target, "a finite real-valued sympy expression")
    floats = expr.atoms(sp.Float)
    if floats:  # a sympy Float stands for its exact binary value
        expr = expr.xreplace({f: sp.Rational(f) for f in floats})
    for s in expr.free_symbols:
        if not _NAME.match(str(s)):
            raise bad("target", target, f"variables named x0, x1, ... (global input indices); got {s}")
    return expr.xreplace({s: sp.Symbol(str(s), real=True) for s in expr.free_symbols})


def _mpf_fraction(v) -> Fraction:
    """Exact Fraction of an mpf endpoint tuple (raises ValueError on inf/nan)."""
    sign, man, exp, _ = v
    if not man and exp:
        raise ValueError("non-finite")
    q = Fraction(int(man)) * (Fraction(2) ** int(exp))
    return -q if sign else q


def _mp_compiled(expr, syms):
    """Fallback for functions the numpy interval evaluator lacks: mpmath.iv, one box at a time."""
    f = sp.lambdify(syms, expr, modules=[{"mpmath": _IV}], printer=MpmathPrinter)

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
            raise bad("target", str(expr), f"functions with a rigorous interval extension (sin, cos, exp, log, "
                      f"sqrt, powers, Abs, tan); {type(e).__name__}: {e}") from None


@dataclass
class _GData:
    """Rigorous enclosures of the target on a batch of boxes (intervals as ``(lo, hi)`` arrays, last axis B)."""

    lo: np.ndarray
    hi: np.ndarray
    c: np.ndarray
    r: np.ndarray
    g0: tuple
    gB: tuple
    g1: list | None = None        # gradient at c
    d1: list | None = None        # gradient over the box
    g2: list | None = None        # Hessian at c (k x k)
    rho: np.ndarray | None = None  # third-order Taylor remainder bound


class _Target:
    """``g`` and its derivatives up to order 3 as vectorised rigorous interval functions.

    The numpy interval evaluator (:func:`theory._interval.compile_interval`) is used where it applies, mpmath
    interval arithmetic otherwise; a numpy float version gives the (non-rigorous) estimates of the search.
    """

    def __init__(self, expr: sp.Expr, names: list[str]):
        self.expr = expr
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
            d3 = {t: _compile(sp.diff(expr, *[syms[i] for i in t]), syms)[0]
                  for t in itertools.combinations_with_replacement(range(k), 3)}
            self.hess, self.d3 = hess, d3
        except Exception:  # noqa: BLE001 - any failure to differentiate/compile only removes a bound
            pass

    def data(self, lo: np.ndarray, hi: np.ndarray) -> _GData:
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
        gd = _GData(lo, hi, c, r, g0, gB)
        if self.grad is None or not k:
            return gd
        d1 = [f(bx) for f in self.grad]
        gd.d1 = d1
        spread = np.zeros(B)
        for a in range(k):
            spread = up(spread + up(np.maximum(np.abs(d1[a][0]), np.abs(d1[a][1])) * r[a]))
        with np.errstate(invalid="ignore"):
            mv = (dn(g0[0] - spread), up(g0[1] + spread))
            gd.gB = (np.fmax(gB[0], np.where(np.isnan(mv[0]), -np.inf, mv[0])),
                     np.fmin(gB[1], np.where(np.isnan(mv[1]), np.inf, mv[1])))
        gd.g1 = [f(pt) for f in self.grad]
        if self.hess is None:
            return gd
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
        f = sp.lambdify(self.syms, self.expr, modules=[{"mpmath": _IV}], printer=MpmathPrinter)
        old = iv.prec
        try:
            iv.prec = prec
            args = [iv.mpf(q.numerator) / q.denominator for q in x]
            v = f(*args)
            v = v if isinstance(v, iv.mpf) else iv.mpf(v)
            return _mpf_fraction(v._mpi_[0]), _mpf_fraction(v._mpi_[1])
        except (ZeroDivisionError, ValueError, TypeError, OverflowError, AttributeError):
            return None
        finally:
            iv.prec = old

    def values_np(self, pts: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            v = self.f_np(*pts)
        return np.broadcast_to(np.asarray(v, dtype=np.float64), pts.shape[1:])


# ------------------------------------------------------------------------------------------------- bounds
def _usum(*terms):
    """Sum rounded upward after every addition (elementwise)."""
    acc = terms[0]
    for t in terms[1:]:
        acc = up(acc + t)
    return acc


def _pt(x):
    return (x, x)


def _quad_max(alpha: np.ndarray, beta: list, Q: list, r: np.ndarray) -> np.ndarray:
    """Rigorous upper bound of ``max_{|y_a| <= r_a} alpha + beta.y + y^T Q y / 2`` (k <= 3; N rows).

    The maximum lies in the relative interior of some face of the box (coordinates outside the face at
    ``+-r_a``). On a face with free coordinates F, an interior maximum needs ``M = -Q_FF`` positive definite;
    then its value is ``alpha_F + b^T M^-1 b / 2`` (adjugate formula in interval arithmetic). Faces where
    ``M`` is proved not positive definite (a leading minor ``<= 0``), or whose stationary point ``M^-1 b``
    is proved outside the face, have their maximum on smaller faces and are skipped; undecided faces get the
    interval bound ``alpha_F + sum |b_i| r_i + sum |Q_ij| r_i r_j / 2``.
    Args: ``alpha (N,)`` (an upper value), ``beta`` k intervals, ``Q`` k x k intervals, ``r (N, k)``.
    """
    N, k = r.shape
    best = np.full(N, -np.inf)
    half = (np.full(N, 0.5), np.full(N, 0.5))
    for m in range(k + 1):
        for F in itertools.combinations(range(k), m):
            fixed = [a for a in range(k) if a not in F]
            for signs in itertools.product((-1.0, 1.0), repeat=len(fixed)):
                y = {a: _pt(s * r[:, a]) for a, s in zip(fixed, signs)}
                aF = _pt(alpha)
                for a in fixed:
                    aF = iv_add(aF, iv_mul(beta[a], y[a]))
                    for b in fixed:
                        aF = iv_add(aF, iv_mul(half, iv_mul(Q[a][b], iv_mul(y[a], y[b]))))
                b = []
                for i in F:
                    bi = beta[i]
                    for a in fixed:
                        bi = iv_add(bi, iv_mul(Q[i][a], y[a]))
                    b.append(bi)
                best = np.maximum(best, _face_max(aF, b, [[Q[i][j] for j in F] for i in F], r[:, list(F)]))
    return best


def _face_max(aF, b, QF, rF) -> np.ndarray:
    m = len(b)
    if m == 0:
        return aF[1]
    M = [[iv_neg(q) for q in row] for row in QF]
    # fallback interval bound of the face
    nat = aF
    for i in range(m):
        nat = iv_add(nat, iv_mul(iv_abs(b[i]), _pt(rF[:, i])))
        for j in range(m):
            qm = np.maximum(np.abs(QF[i][j][0]), np.abs(QF[i][j][1]))
            nat = iv_add(nat, iv_mul(_pt(0.5 * qm), iv_mul(_pt(rF[:, i]), _pt(rF[:, j]))))
    if m == 1:
        minors = [M[0][0]]
        adj = [[(np.ones_like(aF[0]), np.ones_like(aF[0]))]]
        det = M[0][0]
    elif m == 2:
        minors = [M[0][0]]
        det = iv_sub(iv_mul(M[0][0], M[1][1]), iv_mul(M[0][1], M[1][0]))
        minors.append(det)
        adj = [[M[1][1], iv_neg(M[0][1])], [iv_neg(M[1][0]), M[0][0]]]
    else:
        A00 = iv_sub(iv_mul(M[1][1], M[2][2]), iv_mul(M[1][2], M[2][1]))
        A01 = iv_sub(iv_mul(M[0][2], M[2][1]), iv_mul(M[0][1], M[2][2]))
        A02 = iv_sub(iv_mul(M[0][1], M[1][2]), iv_mul(M[0][2], M[1][1]))
        A11 = iv_sub(iv_mul(M[0][0], M[2][2]), iv_mul(M[0][2], M[2][0]))
        A12 = iv_sub(iv_mul(M[0][2], M[1][0]), iv_mul(M[0][0], M[1][2]))
        A22 = iv_sub(iv_mul(M[0][0], M[1][1]), iv_mul(M[0][1], M[1][0]))
        det = iv_add(iv_add(iv_mul(M[0][0], A00), iv_mul(M[0][1], A01)), iv_mul(M[0][2], A02))
        minors = [M[0][0], A22, det]
        adj = [[A00, A01, A02], [A01, A11, A12], [A02, A12, A22]]
    pd = np.ones_like(aF[0], dtype=bool)
    not_pd = np.zeros_like(pd)
    for mn in minors:
        pd &= mn[0] > 0
        not_pd |= mn[1] <= 0
    # stationary point y* = adj b / det, and b^T adj b
    Ab = []
    for i in range(m):
        acc = iv_mul(adj[i][0], b[0])
        for j in range(1, m):
            acc = iv_add(acc, iv_mul(adj[i][j], b[j]))
        Ab.append(acc)
    outside = np.zeros_like(pd)
    quad = iv_mul(b[0], Ab[0])
    for i in range(m):
        ys = iv_div(Ab[i], det)
        outside |= (ys[0] > rF[:, i]) | (ys[1] < -rF[:, i])
        if i:
            quad = iv_add(quad, iv_mul(b[i], Ab[i]))
    val = iv_add(aF, iv_div(quad, iv_mul(_pt(np.full_like(aF[0], 2.0)), det)))[1]
    out = np.where(pd, np.where(outside, -np.inf, val), np.where(not_pd, -np.inf, nat[1]))
    return np.where(np.isnan(out), np.inf, out)


def _form_bounds(F, E, CF, CE, CS, use_up, use_lo, bi, gd: _GData, O):
    """Rigorous ``sup (F - g) + E`` (side "up") and ``sup (g - F) + E`` (side "lo") per row.

    Row ``n`` is an affine form in ``x - O[n]`` on box ``bi[n]`` restricted to the polytope of its constraints
    (constraints in the same coordinates). Each side is the
    smallest of three sound bounds: the natural extension ``max_box F - min g(B)``; the mean-value form
    ``(F - g)(c) + max_{polytope} (f - m).(x - c) + sum_a rad_a r_a`` (``dg(B) in m +- rad``, the linear maximum
    by Lagrangian duality, :func:`theory._interval.dual_value`); and the second-order Taylor form
    ``max_{|y| <= r} [(F - g)(c) + (f - dg(c)).y - y^T H(c) y / 2 + lam.(constraints)] + rho`` with
    ``rho = sum |d3 g(B)| r^3 / 6`` and the quadratic maximised rigorously (:func:`_quad_max`).
    Shapes: ``F (N, k+1)``; ``E, bi, use_up, use_lo (N,)``; ``CF (N, J, k+1)``; ``CE, CS (N, J)``; ``O (N, k)``.
    Returns ``(s_up, s_lo, direction)``; sides not in use are ``-inf``; ``direction (N, k)`` points to a
    maximising vertex (for lower-bound candidates).
    """
    N, K1 = F.shape
    k = K1 - 1
    c, r = gd.c[:, bi].T, gd.r[:, bi].T
    lo, hi = gd.lo[:, bi].T, gd.hi[:, bi].T
    a, f0 = F[:, :k], F[:, k]
    g0 = (gd.g0[0][bi], gd.g0[1][bi])
    with np.errstate(invalid="ignore", over="ignore"):
        cu = c - O                                                             # centre in the forms' coordinates
        cerr = np.maximum(np.abs(up(c - O) - cu), np.abs(cu - dn(c - O)))     # >= |fl(c - O) - (c - O)|
        ulo, uhi = dn(lo - O), up(hi - O)
        Fc = f0 + (a * cu).sum(axis=1)
        errc = up(slack(k + 1) * (np.abs(f0) + (np.abs(a) * np.abs(cu)).sum(axis=1)) + (np.abs(a) * cerr).sum(axis=1)
                  + TINY)
        erru = up(slack(k + 1) * (np.abs(f0) + (np.abs(a) * np.maximum(np.abs(ulo), np.abs(uhi))).sum(axis=1)) + TINY)
        Fmax = _usum(f0 + np.maximum(a * ulo, a * uhi).sum(axis=1), erru)
        Fmin = dn(f0 + np.minimum(a * ulo, a * uhi).sum(axis=1) - erru)
        s_up = up(Fmax - gd.gB[0][bi])
        s_lo = up(gd.gB[1][bi] - Fmin)
        direction = np.zeros((N, k))
        if gd.d1 is not None:
            J = CS.shape[1]
            v = CS[:, :, None] * CF[:, :, :k]
            beta = CS * (np.einsum("nja,na->nj", CF[:, :, :k], cu) + CF[:, :, k]) + CE
            beta = up(beta + slack(k + 2) * (np.einsum("nja,na->nj", np.abs(CF[:, :, :k]), np.abs(cu))
                                             + np.abs(CF[:, :, k]) + CE)
                      + np.einsum("nja,na->nj", np.abs(CF[:, :, :k]), cerr) + TINY)
            beta = np.where(CS != 0, beta, 0.0)
            d1l = np.stack([gd.d1[i][0][bi] for i in range(k)], axis=1)
            d1h = np.stack([gd.d1[i][1][bi] for i in range(k)], axis=1)
            m = 0.5 * (d1l + d1h)
            rad = up(np.maximum(up(d1h - m), up(m - d1l)) + slack(2) * (np.abs(a) + np.abs(m)) + TINY)
            base = np.zeros(N)
            for i in range(k):
                base = up(base + up(rad[:, i] * r[:, i]))
            Dm = a - m
            lam_up = dual_lambda(Dm, v, beta, r, CS) if J else np.zeros((N, 0))
            lam_lo = dual_lambda(-Dm, v, beta, r, CS) if J else np.zeros((N, 0))
            phi_up, q_up = dual_value(Dm, lam_up, v, beta, r)
            phi_lo, q_lo = dual_value(-Dm, lam_lo, v, beta, r)
            s_up = np.fmin(s_up, _usum(Fc, errc, -g0[0], phi_up, base))
            s_lo = np.fmin(s_lo, _usum(g0[1], -Fc, errc, phi_lo, base))
            direction = np.where((s_up >= s_lo)[:, None], q_up, q_lo)
            if gd.g2 is not None:
                g1 = [(gd.g1[i][0][bi], gd.g1[i][1][bi]) for i in range(k)]
                H = [[(gd.g2[i][j][0][bi], gd.g2[i][j][1][bi]) for j in range(k)] for i in range(k)]
                rho = gd.rho[bi]
                for side in (0, 1):
                    lam = lam_up if side == 0 else lam_lo
                    if side == 0:   # F - g
                        alpha = _usum(Fc, errc, -g0[0])
                        bet = [iv_sub(_pt(a[:, i]), g1[i]) for i in range(k)]
                        Q = [[iv_neg(H[i][j]) for j in range(k)] for i in range(k)]
                    else:           # g - F
                        alpha = _usum(g0[1], -Fc, errc)
                        bet = [iv_sub(g1[i], _pt(a[:, i])) for i in range(k)]
                        Q = H
                    for j in range(J):
                        alpha = up(alpha + up(lam[:, j] * beta[:, j]))
                        for i in range(k):
                            bet[i] = iv_add(bet[i], iv_mul(_pt(lam[:, j]), _pt(v[:, j, i])))
                    t = _usum(_quad_max(alpha, bet, Q, r), rho)
                    if side == 0:
                        s_up = np.fmin(s_up, t)
                    else:
                        s_lo = np.fmin(s_lo, t)
        s_up = up(s_up + E)
        s_lo = up(s_lo + E)
    s_up = np.where(np.isnan(s_up), np.inf, s_up)
    s_lo = np.where(np.isnan(s_lo), np.inf, s_lo)
    return np.where(use_up, s_up, -np.inf), np.where(use_lo, s_lo, -np.inf), direction


# ------------------------------------------------------------------------------------------------- states
@dataclass(eq=False)
class _PatState:
    """A rep small enough to enumerate: its affine pieces on the box where they were enumerated (valid on
    every sub-box), with the constraints describing where each applies."""

    rep: Rep
    F: np.ndarray
    E: np.ndarray
    CF: np.ndarray
    CE: np.ndarray
    CS: np.ndarray

    @property
    def P(self) -> int:
        return self.F.shape[0]

    def subset(self, keep: np.ndarray) -> "_PatState":
        return _PatState(self.rep, self.F[keep], self.E[keep], self.CF[keep], self.CE[keep], self.CS[keep])

    def feasible(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """``(B, P)``: False where a constraint proves that no point of box b follows pattern p."""
        B = lo.shape[1]
        if not self.CS.shape[1]:
            return np.ones((B, self.P), dtype=bool)
        k = self.rep.k
        lo, hi = to_local(self.rep, lo, hi)
        sf = self.CS[:, :, None] * self.CF                                       # (P, J, K1)
        a = sf[None, :, :, :k]
        l, h = lo.T[:, None, None, :], hi.T[:, None, None, :]
        mx = sf[None, :, :, k] + np.maximum(a * l, a * h).sum(axis=3)
        X = np.maximum(np.abs(l), np.abs(h))
        err = slack(k + 1) * (np.abs(sf[None, :, :, k]) + (np.abs(a) * X).sum(axis=3)) + TINY
        ok = up(up(mx + err) + self.CE[None]) >= 0
        ok |= (self.CS == 0)[None]
        return ok.all(axis=2)


@dataclass(eq=False)
class _RepState:
    rep: Rep
    failed: int = 1 << 30        # unstable count at which pattern enumeration last failed (skip until it shrinks)


@dataclass(eq=False)
class _Node:
    lo: np.ndarray
    hi: np.ndarray
    upper: float
    state: Any
    depth: int


def _rep_eval(rep: Rep, pts: np.ndarray) -> np.ndarray:
    """Float forward pass of a rep at points ``(k, N)`` (estimates only; perturbations ignored)."""
    h = np.empty((rep.n, pts.shape[1]))
    pts = pts - rep.o[:, None]
    for l in range(len(rep.src)):
        s, e = int(rep.starts[l]), int(rep.starts[l + 1])
        z = rep.a[s:e] @ pts + rep.c[s:e, None]
        if rep.src[l].size:
            z[rep.own[l]] += np.add.reduceat(rep.w[l][:, None] * h[rep.src[l]], rep.seg[l], axis=0)
        h[s:e] = np.where(rep.relu[s:e, None], np.maximum(z, 0.0), z)
    return h[-1]


# ------------------------------------------------------------------------------------------------- the search
class _Search:
    def __init__(self, cone, expr, names, var_index, box, eps, time_limit_s, rel_gap, max_patterns, seed=0):
        self.t0 = time.perf_counter()
        self.cone = cone
        self.target = _Target(expr, names)
        self.names = names
        self.k = len(names)
        self.var_index = var_index
        lo = np.array([float(a) for a, _ in box])
        hi = np.array([float(b) for _, b in box])
        self.lo0 = np.where([Fraction(v) > q for v, (q, _) in zip(lo, box)], dn(lo), lo)  # outer float box
        self.hi0 = np.where([Fraction(v) < q for v, (_, q) in zip(hi, box)], up(hi), hi)
        self.lo_in = np.where([Fraction(v) < q for v, (q, _) in zip(lo, box)], up(lo), lo)  # inner float box
        self.hi_in = np.where([Fraction(v) > q for v, (_, q) in zip(hi, box)], dn(hi), hi)
        self.width0 = np.where(self.hi0 > self.lo0, self.hi0 - self.lo0, 1.0)
        self.eps = eps
        self.deadline = self.t0 + time_limit_s
        self.rel_gap = rel_gap
        self.max_patterns = max_patterns
        self.max_units = 96      # enumeration is attempted on reps with at most this many unstable units
        self.lower: Fraction | None = None
        self.lower_f = 0.0
        self.witness: np.ndarray | None = None
        self.settled = 0.0
        self.heap: list = []
        self.count = itertools.count()
        self.boxes = 0
        self.max_unstable = 0
        self.max_pat = 0
        self.exact_evals = 0
        self.min_width_hit = False
        self.root = root_rep(cone, var_index, self.k, self.lo0, self.hi0)
        self._bp: dict[int, tuple] = {}
        self._rows_F = None
        self.rng = np.random.default_rng(seed)

    # -- thresholds and status
    def threshold(self) -> float:
        """Boxes whose bound is at most this are settled: ``eps`` when deciding, else ``(1 + gap) lower``."""
        if self.eps is not None:
            return self.eps
        return (1.0 + self.rel_gap) * self.lower_f if self.lower_f > 0 else 0.0

    def upper(self) -> float:
        return max(self.settled, -self.heap[0][0] if self.heap else 0.0)

    def done(self) -> bool:
        if not self.heap:
            return True
        if self.eps is not None and self.lower is not None and self.lower_f > self.eps:
            return True
        return -self.heap[0][0] <= self.threshold()

    # -- one batch of boxes
    def process(self, items: list) -> list[_Node]:
        """Bound a batch of boxes; ``items`` are ``(state, lo, hi, depth, parent bound)``.

        A child's bound is never above its parent's (which covers it). Past the deadline, boxes still get a
        bound, only the cheap one (no simplification or pattern enumeration)."""
        B = len(items)
        k = self.k
        lo = np.stack([it[1] for it in items], axis=1) if k else np.zeros((0, B))
        hi = np.stack([it[2] for it in items], axis=1) if k else np.zeros((0, B))
        gd = self.target.data(lo, hi)
        rows = []                                 # (F, E, CF, CE, CS, use_up, use_lo, box index)
        new_states = [None] * B
        groups: dict[int, list[int]] = {}
        for b, it in enumerate(items):
            groups.setdefault(id(it[0]), []).append(b)
        for idx in groups.values():
            state = items[idx[0]][0]
            if isinstance(state, _PatState):
                feas = state.feasible(lo[:, idx], hi[:, idx])
                for t, b in enumerate(idx):
                    keep = feas[t]
                    st = state
                    if keep.sum() <= state.P // 2 and state.P >= 4:
                        st = state.subset(keep)
                        keep = np.ones(st.P, dtype=bool)
                    new_states[b] = st
                    rows.append((st.F[keep], st.E[keep], st.CF[keep], st.CE[keep], st.CS[keep], True, True, b,
                                 st.rep.o))
            else:
                self._process_reps(state, idx, lo, hi, rows, new_states)
        ub = np.minimum(self._bounds(rows, gd, B), [it[4] for it in items])
        nodes = [_Node(lo[:, b].copy(), hi[:, b].copy(), float(ub[b]), new_states[b], items[b][3]) for b in range(B)]
        self.boxes += B
        self._candidates(nodes, gd)
        return nodes

    def _process_reps(self, state: "_RepState", idx: list, lo, hi, rows, new_states) -> None:
        rep = state.rep
        l, h = lo[:, idx], hi[:, idx]
        prop = propagate(rep, l, h) if rep.n > 1 else None       # a lone output unit is already affine
        K1 = self.k + 1
        for t, b in enumerate(idx):
            X = np.maximum(np.abs(l[:, t]), np.abs(h[:, t]))
            r2 = rep
            late = time.perf_counter() > self.deadline
            if prop is not None:
                cls = prop.cls[:, t]
                # minimal already when every unit but the output is an unstable ReLU
                if not late and not (cls[:-1] == UNSTABLE).all():
                    r2 = simplify(rep, cls, prop.zlo[:, t], prop.zhi[:, t], prop.hmag[:, t], l[:, t], h[:, t])
                z = np.zeros((1, 0, K1)), np.zeros((1, 0))
                rows.append((prop.out_U[:, t][None], prop.out_E[t:t + 1], z[0], z[1], z[1], True, False, b, rep.o))
                rows.append((prop.out_L[:, t][None], prop.out_E[t:t + 1], z[0], z[1], z[1], False, True, b, rep.o))
            nu = r2.n_relu
            self.max_unstable = max(self.max_unstable, nu)
            pat = None
            failed = state.failed
            if nu == 0 and r2.n == 1:
                pat = (np.concatenate([r2.a[-1], [r2.c[-1]]])[None], r2.E[-1:].copy(),
                       np.zeros((1, 0, K1)), np.zeros((1, 0)), np.zeros((1, 0)))
            elif 0 < nu <= min(self.max_units, (3 * failed) // 4) and not late:
                hm = prop.hmag[:, t] if (prop is not None and r2 is rep) else None
                pat = enumerate_patterns(r2, l[:, t], h[:, t], hm, self.max_patterns)
                if pat is None:
                    failed = nu
            if pat is None:
                new_states[b] = _RepState(r2, failed)
                if prop is None:
                    raise TheoryError("internal: a single-unit rep is affine and always has its pattern")
            else:
                st = _PatState(r2, *pat)
                self.max_pat = max(self.max_pat, st.P)
                new_states[b] = st
                rows.append((st.F, st.E, st.CF, st.CE, st.CS, True, True, b, r2.o))

    def _bounds(self, rows, gd, B) -> np.ndarray:
        K1 = self.k + 1
        J = max((r[2].shape[1] for r in rows), default=0)
        cnt = [r[0].shape[0] for r in rows]
        N = sum(cnt)
        F = np.concatenate([r[0] for r in rows]) if rows else np.zeros((0, K1))
        E = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0)
        CF = np.zeros((N, J, K1))
        CE = np.zeros((N, J))
        CS = np.zeros((N, J))
        o = 0
        for r, n in zip(rows, cnt):
            j = r[2].shape[1]
            CF[o:o + n, :j], CE[o:o + n, :j], CS[o:o + n, :j] = r[2], r[3], r[4]
            o += n
        use_up = np.repeat([r[5] for r in rows], cnt).astype(bool)
        use_lo = np.repeat([r[6] for r in rows], cnt).astype(bool)
        bi = np.repeat([r[7] for r in rows], cnt).astype(np.int64)
        O = np.repeat(np.stack([r[8] for r in rows]), cnt, axis=0) if rows else np.zeros((0, self.k))
        s_up, s_lo, direction = _form_bounds(F, E, CF, CE, CS, use_up, use_lo, bi, gd, O)
        up_b = np.full(B, -np.inf)
        lo_b = np.full(B, -np.inf)
        np.maximum.at(up_b, bi, s_up)
        np.maximum.at(lo_b, bi, s_lo)
        # a side with no row at all (cannot happen for a sound state) is unbounded
        seen_up = np.zeros(B, bool)
        seen_lo = np.zeros(B, bool)
        seen_up[bi[use_up]] = True
        seen_lo[bi[use_lo]] = True
        up_b = np.where(seen_up, up_b, np.inf)
        lo_b = np.where(seen_lo, lo_b, np.inf)
        # side "up" uses min(relaxation U, max over patterns); rows of one box are combined per kind
        self._dirs = (bi, np.maximum(s_up, s_lo), direction)
        self._rows_F = F
        if any(not (r[5] and r[6]) for r in rows):   # boxes with relaxation rows: min(relax, patterns) per side
            up_b, lo_b = self._combine(rows, cnt, s_up, s_lo, B)
        ub = np.maximum(np.maximum(up_b, lo_b), 0.0)
        return np.where(np.isnan(ub), np.inf, ub)

    @staticmethod
    def _combine(rows, cnt, s_up, s_lo, B):
        rel_up = np.full(B, np.inf)
        rel_lo = np.full(B, np.inf)
        pat_up = np.full(B, np.inf)
        pat_lo = np.full(B, np.inf)
        has_pat = np.zeros(B, bool)
        o = 0
        for r, n in zip(rows, cnt):
            b = r[7]
            if r[5] and not r[6]:
                rel_up[b] = min(rel_up[b], s_up[o:o + n].max())
            elif r[6] and not r[5]:
                rel_lo[b] = min(rel_lo[b], s_lo[o:o + n].max())
            else:
                m_up = s_up[o:o + n].max() if n else -np.inf
                m_lo = s_lo[o:o + n].max() if n else -np.inf
                pat_up[b] = m_up if not has_pat[b] else max(pat_up[b], m_up)
                pat_lo[b] = m_lo if not has_pat[b] else max(pat_lo[b], m_lo)
                has_pat[b] = True
            o += n
        return np.minimum(rel_up, pat_up), np.minimum(rel_lo, pat_lo)

    # -- lower bounds
    def _candidates(self, nodes: list[_Node], gd: _GData) -> None:
        bi, val, direction = self._dirs
        B = len(nodes)
        k = self.k
        best_row = np.full(B, -1)
        best_val = np.full(B, -np.inf)
        for n in range(bi.size):
            if val[n] > best_val[bi[n]]:
                best_val[bi[n]], best_row[bi[n]] = val[n], n
        by_rep: dict[int, tuple] = {}
        for b, node in enumerate(nodes):
            if node.upper <= self.lower_f:
                continue
            c = gd.c[:, b]
            half = 0.5 * (node.hi - node.lo)
            pts = [c, node.lo + (node.hi - node.lo) * self.rng.random(k)]
            if best_row[b] >= 0 and k:
                pts.append(np.clip(c + np.sign(direction[best_row[b]]) * half, node.lo, node.hi))
                st = self._stationary(best_row[b], b, gd)
                if st is not None:
                    pts.append(np.clip(st, node.lo, node.hi))
            rep = node.state.rep
            entry = by_rep.setdefault(id(rep), (rep, []))
            entry[1].extend(pts)
        best_x, best = None, self.lower_f * (1 + 1e-12)
        for rep, pts in by_rep.values():
            P = np.clip(np.stack(pts, axis=1), self.lo_in[:, None], self.hi_in[:, None])
            with np.errstate(all="ignore"):
                err = np.abs(_rep_eval(rep, P) - self.target.values_np(P))
            err = np.where(np.isfinite(err), err, -1.0)
            i = int(np.argmax(err))
            if err[i] > best:
                best, best_x = float(err[i]), P[:, i].copy()
        if best_x is not None:
            self._exact_candidate(best_x)

    def _stationary(self, row: int, b: int, gd: _GData):
        """Stationary point of the quadratic model ``F(x) - g(c) - dg(c).(x - c) - (x - c)^T H (x - c) / 2``."""
        if gd.g2 is None or self._rows_F is None:
            return None
        k = self.k
        a = self._rows_F[row, :k]
        g1 = np.array([0.5 * (gd.g1[i][0][b] + gd.g1[i][1][b]) for i in range(k)])
        H = np.array([[0.5 * (gd.g2[i][j][0][b] + gd.g2[i][j][1][b]) for j in range(k)] for i in range(k)])
        try:
            y = np.linalg.solve(H, a - g1)
        except np.linalg.LinAlgError:
            return None
        return gd.c[:, b] + y if np.all(np.isfinite(y)) else None

    def _exact_candidate(self, x: np.ndarray) -> None:
        self.exact_evals += 1
        val = exact_output(self.cone, self.root, x, self.var_index)
        g = self.target.point_hp([Fraction(float(v)) for v in x])
        if g is None:
            return
        lo_e = max(val - g[1], g[0] - val, Fraction(0))
        if self.lower is None or lo_e > self.lower:
            self.lower, self.lower_f, self.witness = lo_e, float(lo_e), x.copy()

    # -- splitting
    def split(self, node: _Node):
        if not self.k:
            return None
        w = (node.hi - node.lo) / self.width0
        ax = int(np.argmax(w))
        a, b = node.lo[ax], node.hi[ax]
        mid = 0.5 * (a + b)
        rep = node.state.rep
        bp = self._bp.get(id(rep))
        if bp is None or bp[0] is not rep:
            bp = self._bp[id(rep)] = (rep, *breakpoints(rep))
        bax, bpos = bp[1], bp[2]
        if bax.size:
            cand = bpos[(bax == ax) & (bpos > a + 0.25 * (b - a)) & (bpos < b - 0.25 * (b - a))]
            if cand.size:
                mid = float(cand[np.argmin(np.abs(cand - mid))])
        if not a < mid < b:
            return None
        hi1 = node.hi.copy()
        hi1[ax] = mid
        lo2 = node.lo.copy()
        lo2[ax] = mid
        return (node.lo, hi1), (lo2, node.hi)

    def push(self, node: _Node) -> None:
        if node.upper <= self.threshold():
            self.settled = max(self.settled, node.upper)
        else:
            heapq.heappush(self.heap, (-node.upper, next(self.count), node))

    def run(self) -> None:
        for node in self.process([(_RepState(self.root), self.lo0, self.hi0, 0, np.inf)]):
            self.push(node)
        while not self.done() and time.perf_counter() < self.deadline:
            thr = self.threshold()
            batch = min(256, max(8, len(self.heap) // 2))
            items = []
            while self.heap and len(items) < 2 * batch and -self.heap[0][0] > thr:
                node = heapq.heappop(self.heap)[2]
                kids = self.split(node)
                if kids is None:
                    self.min_width_hit = True
                    self.settled = max(self.settled, node.upper)
                    continue
                for lo, hi in kids:
                    items.append((node.state, lo, hi, node.depth + 1, node.upper))
            if not items:
                break
            for node in self.process(items):
                self.push(node)


# ------------------------------------------------------------------------------------------------- public
def _variables(net: Network, expr: sp.Expr, cone_names: tuple[str, ...]) -> tuple[list[str], list[int]]:
    def key(name: str):
        m = re.match(r"^x(\d+)(?:_(\d+))?$", name)
        return (int(m.group(2) or 0), int(m.group(1))) if m and m.group(2) else (0, int(m.group(1)))

    names = sorted(set(cone_names) | {str(s) for s in expr.free_symbols}, key=key)
    pos = {n: i for i, n in enumerate(names)}
    return names, [pos[n] for n in cone_names]


def _box_for(box: Any, names: list[str]):
    if isinstance(box, dict):
        missing = [n for n in names if n not in box]
        if missing:
            raise bad("box", box, f"an interval for every variable; missing {missing}")
        return as_box([box[n] for n in names], len(names))
    return as_box(box, len(names))


def _a_priori(meta) -> float | None:
    v = meta.get("a_priori_bound") if hasattr(meta, "get") else None
    if v is None:
        return None
    try:
        return float(sp.sympify(v))
    except (sp.SympifyError, TypeError, ValueError):
        return None


def certify_sup_error(net: Network, target: Any = None, box: Any = None, *, eps: Any = None,
                      time_limit_s: float = 30.0, rel_gap: float = 0.01, seed: int = 0,
                      max_patterns: int = 64) -> Certificate:
    """Certified ``sup_{x in box} |net(x) - target(x)|``: a sound upper bound and a rigorous lower bound.

    Args:
        net: a single-output :class:`Network` with exact weights (e.g. ``compose(select(d, S), head)``).
        target: sympy expression or string in the global input names ``x{i}`` (``x{c}`` for one-position
            nets, ``x{c}_{p}`` for several channels and positions); default ``net.meta["target"]``. Floats in
            a string are read as decimals (``"0.1"`` is 1/10); sympy Floats count at their binary value.
        box: ``(lo, hi)`` for every variable, ``k`` pairs in variable order (sorted by index), or a dict
            name -> ``(lo, hi)``; default ``net.meta["box"]``. Variables: the inputs the output depends on
            through nonzero weights (no other input can change it) and the target's symbols.
        eps: optional tolerance to decide: ``"proved"`` if ``upper <= eps``, ``"refuted"`` if
            ``lower > eps`` (the witness violates, rigorously), else ``"unknown"``.
        time_limit_s: wall-clock budget; the bound found when it runs out is still sound.
        rel_gap: stop once ``upper <= (1 + rel_gap) lower``.
        seed: seed of the random candidate points of the lower-bound search (the result is deterministic
            for a given seed).
        max_patterns: largest number of activation patterns enumerated per box.
    Returns:
        A :class:`Certificate` (method ``"interval-bnb"``): ``upper`` (exact rational), ``lower`` with its
        ``witness`` (global names -> rationals); without ``eps`` the status is ``"proved"`` (claim
        ``sup_box |net - target| <= upper``) whenever the bound is finite.
    Raises:
        TheoryError: more than one output, a bad target/box, or unsupported weights.

    Formula: ``upper = max over the final boxes B of min(relaxation, max_p pattern bound)`` (module docstring);
    ``lower = |net(w) - g(w)|`` at the witness ``w``, exactly for the network and from a 256-bit interval
    enclosure of ``g(w)``. The certificate's ``details`` record boxes, the largest unstable-unit count, open
    boxes, time, ``upper / lower``, whether the gap was reached and the a-priori bound of ``net.meta``.

    Soundness: see :mod:`theory._interval` (float rounding, relaxations, substitutions, interval functions)
    and :func:`theory._interval.enumerate_patterns` (patterns, Farkas-checked pruning); ``g`` is only ever
    enclosed by outward-rounded interval arithmetic; a computed lower bound above the upper bound raises
    (self-check). Source: interval branch and bound (e.g. Hansen & Walster, *Global Optimization Using
    Interval Analysis*, 2004) with symbolic-interval / CROWN-style ReLU relaxations and Taylor forms
    (Neumaier, *Interval Methods for Systems of Equations*, 1990); the combination is our reconstruction.
    """
    t0 = time.perf_counter()
    if not isinstance(net, Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    if net.n_outputs != 1:
        raise bad("net", f"{net.n_outputs} outputs", "a network with exactly one output")
    meta = thaw(net.meta)
    if target is None:
        if "target" not in meta:
            raise bad("target", None, "a target expression (the network's meta has no 'target')")
        target = meta["target"]
    expr = _parse_target(target)
    if box is None:
        if "box" not in meta:
            raise bad("box", None, "a box (the network's meta has no 'box')")
        box = meta["box"]
    for name, v in (("time_limit_s", time_limit_s), ("rel_gap", rel_gap)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0 or v != v or v == float("inf") and name == "rel_gap":
            raise bad(name, v, "a finite number >= 0")
    if isinstance(max_patterns, bool) or not isinstance(max_patterns, int) or max_patterns < 1:
        raise bad("max_patterns", max_patterns, "an int >= 1")
    eps_q = None
    if eps is not None:
        from ._rational import as_rational
        eps_q = as_rational(eps, "eps")
        if eps_q < 0:
            raise bad("eps", eps, "a nonnegative number")
    cone = extract_cone(net)
    names, var_index = _variables(net, expr, cone.names)
    boxq = _box_for(box, names) if names else ()
    s = _Search(cone, expr, names, var_index, boxq, None if eps_q is None else float(eps_q), float(time_limit_s),
                float(rel_gap), max_patterns, seed)
    s.run()
    upper_f = s.upper()
    finite = np.isfinite(upper_f)
    upper = Fraction(float(upper_f)) if finite else None
    lower = s.lower
    if upper is not None and lower is not None and lower > upper:
        raise TheoryError(f"internal: lower bound {float(lower)} exceeds the certified upper bound {upper_f}")
    if eps_q is None:
        status = "proved" if finite else "unknown"
    elif upper is not None and upper <= eps_q:
        status = "proved"
    elif lower is not None and lower > eps_q:
        status = "refuted"
    else:
        status = "unknown"
    witness = None if s.witness is None else {n: Fraction(float(v)) for n, v in zip(names, s.witness)}
    dom = ", ".join(f"{n} in [{a}, {b}]" for n, (a, b) in zip(names, boxq))
    tgt = str(expr)
    if eps_q is None:
        claim = f"sup over {{{dom}}} of |net(x) - ({tgt})| <= {upper_f:.6g}" if finite else \
            f"sup over {{{dom}}} of |net(x) - ({tgt})| is bounded (no finite bound found in time)"
    else:
        claim = f"sup over {{{dom}}} of |net(x) - ({tgt})| <= {float(eps_q):.6g}"
        if status == "refuted":
            claim = f"sup over {{{dom}}} of |net(x) - ({tgt})| <= {float(eps_q):.6g} (refuted: see witness)"
    apriori = _a_priori(meta)
    elapsed = time.perf_counter() - t0
    ratio = (upper_f / float(lower)) if (lower and finite) else None
    details = {
        "boxes": s.boxes, "max_unstable_units": s.max_unstable, "open_boxes": len(s.heap),
        "exact_evaluations": s.exact_evals, "seconds": elapsed, "ratio_upper_lower": ratio,
        "rel_gap": rel_gap, "gap_reached": bool(ratio is not None and ratio <= 1 + rel_gap),
        "time_limit_s": time_limit_s, "timed_out": bool(time.perf_counter() >= s.deadline and not s.done()),
        "min_width_reached": s.min_width_hit, "cone_units": cone.n_units, "variables": names,
        "a_priori_bound": apriori,
        "upper_le_a_priori": None if (apriori is None or not finite) else bool(upper_f <= apriori),
        "max_patterns": max_patterns,
    }
    assumptions = {
        "domain": [[n, str(a), str(b)] for n, (a, b) in zip(names, boxq)],
        "target": tgt,
        "semantics": "exact rational weights, real ReLU arithmetic; every float step outward-rounded; target "
                     "enclosed by interval arithmetic (numpy with own sin/cos/exp/log, mpmath.iv otherwise)",
        "independent_inputs": "inputs outside the output's cone (nonzero weights) cannot change the output",
    }
    return Certificate(claim=claim, status=status, method="interval-bnb", spec_hash=net.content_hash,
                       assumptions=assumptions, upper=upper, lower=lower, eps=eps_q, witness=witness,
                       seconds=elapsed, details=details)
