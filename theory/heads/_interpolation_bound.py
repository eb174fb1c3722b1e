"""A-priori sup-norm bound of the Kuhn (piecewise-linear) interpolant, as a function of the cell count ``n``."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from .._errors import bad
from ..spec import as_rational
from ..spec._network import check_positive_int
from ..spec._rational import ZERO
from ._record import head_symbols
from ._target import NonFinite, Prec, evaluate_on, grid_env, iv_bounds, iv_interval, rewrite_hyperbolic

N_SYM = sp.Symbol("n", positive=True, integer=True)


def _up(q: Fraction) -> float:
    """Smallest float >= q."""
    # not theory.certify._intervals.iv_const(q)[1], which steps one ulp up whenever q is not a float (also sound, but
    # looser: it would change the bounds this module reports)
    try:
        f = float(q)
    except OverflowError:  # beyond the float range: no finite float bounds it
        return math.inf
    return math.nextafter(f, math.inf) if Fraction(f) < q else f


def round_up(q: Fraction, digits: int = 6) -> Fraction:
    """``q`` rounded up to ``digits`` significant decimal digits (a readable, still rigorous, bound)."""
    if q <= 0:
        return q
    e = math.floor(math.log10(q.numerator) - math.log10(q.denominator))
    scale = Fraction(10) ** (digits - 1 - e)
    return Fraction(math.ceil(q * scale)) / scale


# ------------------------------------------------------------------------------------ a-priori bounds
class InterpolationBound:
    """A-priori sup-norm bound of the Kuhn interpolant of ``g`` on a box, as a function of ``n``.

    Formula (C^2 ``g``): for ``x`` in a Kuhn simplex with vertices ``v_i`` and barycentric weights
    ``lambda_i``, Taylor at ``x`` gives ``Ig(x) - g(x) = sum_i lambda_i R_i`` with
    ``|R_i| <= (1/2) sum_ab M_ab |x_a - v_ia| |x_b - v_ib|``; per axis the simplex vertices sit at the two
    ends of the cell, so ``sum_i lambda_i (x_a - v_ia)^2 = h_a^2 s_a (1 - s_a) <= h_a^2 / 4`` and, by
    Cauchy-Schwarz, ``sum_i lambda_i |x_a - v_ia| |x_b - v_ib| <= h_a h_b / 4``. Hence
    ``|g - Ig| <= (1/8) sum_ab M_ab h_a h_b`` (``M h^2 / 8`` for k = 1), ``M_ab >= sup_cell |d2g/dxa dxb|``.
    ``M_ab`` is bounded by interval arithmetic on a grid of ``Q^k`` pieces of the box; a cell uses the
    pieces it touches, and the bound is the maximum over cells. With ``lipschitz=L``:
    ``|g - Ig| <= sum_i lambda_i |g(x) - g(v_i)| <= L diam(cell)`` in the chosen norm.
    Source: standard (Ciarlet, finite element interpolation; Freudenthal 1942 / Kuhn 1960 triangulation).
    """

    def __init__(
        self,
        expr: sp.Expr | None,
        k: int,
        box: tuple[tuple[Fraction, Fraction], ...],
        *,
        hessian: Any = None,
        lipschitz: Any = None,
        norm: str = "inf",
        pieces: int | None = None,
    ) -> None:
        self.k, self.box = k, box
        self.widths = [hi - lo for lo, hi in box]
        self.kind = "hessian"
        if lipschitz is not None:
            self.kind, self.source = "lipschitz", "user Lipschitz constant"
            self.lipschitz = as_rational(lipschitz, "lipschitz")
            if self.lipschitz < 0:
                raise bad("lipschitz", lipschitz, "a nonnegative rational")
            if norm not in ("inf", "1", "2"):
                raise bad("norm", norm, "'inf', '1' or '2' (the norm of the Lipschitz constant)")
            self.norm = norm
        elif hessian is not None:
            self.source = "user Hessian bound"
            self.user_m = self._user_hessian(hessian, k)
        elif expr is None:
            raise bad("g", "a Python callable", "with a callable g, give hessian= (bounds of |d2g|) or lipschitz=")
        else:
            self.source = "interval Hessian"
            syms = head_symbols(k)
            entries = {
                (a, b): rewrite_hyperbolic(sp.diff(expr, syms[a], syms[b])) for a in range(k) for b in range(a, k)
            }
            for d2 in entries.values():
                if d2.has(sp.Derivative, sp.sign, sp.DiracDelta, sp.Piecewise, sp.Heaviside):
                    raise bad(
                        "g",
                        str(expr),
                        "twice differentiable on the box (its second derivatives involve "
                        f"{d2}); give hessian= or lipschitz= instead",
                    )
            self.q = check_positive_int("pieces", pieces) if pieces is not None else _pieces_for(entries.values(), k)
            self.piece_m = self._piece_hessian(expr, entries, k, box, self.q)

    @staticmethod
    def _user_hessian(hessian: Any, k: int) -> list[list[Fraction]]:
        if isinstance(hessian, (list, tuple, np.ndarray)):
            rows = [list(r) if isinstance(r, (list, tuple, np.ndarray)) else None for r in hessian]
            if len(rows) != k or any(r is None or len(r) != k for r in rows):
                raise bad("hessian", hessian, f"a number or a {k} x {k} matrix of bounds on |d2g/dxa dxb|")
            m = [[as_rational(v, "hessian") for v in r] for r in rows if r is not None]  # (none is None: checked)
        else:
            m = [[as_rational(hessian, "hessian")] * k for _ in range(k)]
        if any(v < 0 for r in m for v in r):
            raise bad("hessian", hessian, "nonnegative bounds")
        return m

    @staticmethod
    def _piece_hessian(
        expr: sp.Expr, entries: dict[tuple[int, int], sp.Expr], k: int, box: Any, q: int
    ) -> dict[tuple[int, int], np.ndarray]:
        syms = head_symbols(k)
        axes = []
        with Prec(53):
            for lo, hi in box:
                w = (hi - lo) / q
                axes.append([iv_interval(lo + i * w, lo + (i + 1) * w) for i in range(q)])
            env = grid_env(syms, axes)
            out = {}
            for (a, b), d2 in entries.items():
                try:
                    vals = np.broadcast_to(evaluate_on(d2, env, exact=False), (q,) * k)
                    up = np.empty(vals.shape, dtype=np.float64)
                    up.reshape(-1)[:] = [_up(max(-lo_, hi_)) for lo_, hi_ in map(iv_bounds, vals.reshape(-1))]
                except NonFinite:
                    raise bad(
                        "g",
                        str(expr),
                        f"bounded second derivatives on the box; d2g/dx{a}dx{b} = {d2} "
                        "is unbounded or undefined there (give hessian= or lipschitz=)",
                    ) from None
                if not np.isfinite(up).all():
                    raise bad(
                        "g",
                        str(expr),
                        f"second derivatives within the float64 range on the box; d2g/dx{a}dx{b} = {d2} "
                        "exceeds 1.8e308 there (give hessian= or lipschitz=, or a smaller box)",
                    )
                out[(a, b)] = up
        return out

    def __call__(self, n: int) -> Fraction:
        """The bound for ``n`` cells per axis (exact; rounded up to 6 significant digits when from intervals)."""
        h = [w / n for w in self.widths]
        if self.kind == "lipschitz":
            if self.norm == "inf":
                diam = max(h)
            elif self.norm == "1":
                diam = sum(h, ZERO)
            else:
                diam = _sqrt_up(sum((v * v for v in h), ZERO))
            return self.lipschitz * diam
        if hasattr(self, "user_m"):
            m = self.user_m
            return sum((max(m[a][b], m[b][a]) * h[a] * h[b] for a in range(self.k) for b in range(self.k)), ZERO) / 8
        q, k = self.q, self.k
        j = np.arange(n, dtype=np.int64)
        p0, p1 = (j * q) // n, -((-(j + 1) * q) // n) - 1
        reach = int((p1 - p0).max()) + 1
        total = np.zeros((n,) * k)
        for (a, b), arr in self.piece_m.items():
            for axis in range(k):
                arr = np.max([np.take(arr, np.minimum(p0 + o, p1), axis=axis) for o in range(reach)], axis=0)
            total = total + arr * (_up(h[a] * h[b]) * (1 if a == b else 2))
        worst = float(total.max())
        if worst == 0.0:
            return ZERO
        # a sum of k^2 nonnegative rounded-up terms: relative float error far below 2^-40
        return round_up(Fraction(worst) * (1 + Fraction(1, 2**40)) / 8)

    def formula(self, n: int, value: Fraction) -> sp.Expr:
        """The bound as an expression in the symbol ``n`` (exact at this ``n``: ``C / n^2`` or ``C / n``)."""
        power = 1 if self.kind == "lipschitz" else 2
        return sp.Rational(value * n**power) / N_SYM**power


_PIECE_CAP = {1: 4096, 2: 128, 3: 24}
_PIECE_BUDGET = 40_000  # interval operations for the Hessian bound (about 0.5 s with mpmath.iv)


def _pieces_for(exprs: Any, k: int) -> int:
    """Pieces per axis: the most (up to a cap by k) whose interval evaluation costs at most the budget.

    An operation on a sub-expression in c of the k variables runs on ``Q^c`` pieces (broadcasting), so
    ``sum(separable parts)`` stays cheap and fully coupled expressions get a coarser grid.
    """
    counts: list[int] = []
    for e in exprs:
        seen = set()
        for node in sp.preorder_traversal(e):
            if node.args and node not in seen:
                seen.add(node)
                counts.extend([len(node.free_symbols)] * max(1, len(node.args) - 1))
    cap = _PIECE_CAP.get(k, max(2, int(8000 ** (1 / k))))
    q = cap
    while q > 4 and sum(q**c for c in counts) > _PIECE_BUDGET:
        q = max(4, int(q * 0.85))
    return q


def _sqrt_up(q: Fraction) -> Fraction:
    """A rational upper bound of sqrt(q) within a relative 2^-60."""
    scale = 1 << 64
    r = math.isqrt(q.numerator * scale * scale // q.denominator) + 1
    return Fraction(r, scale)
