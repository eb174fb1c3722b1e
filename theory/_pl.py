"""Piecewise-linear interpolation heads on the Freudenthal (Kuhn) triangulation, as exact ReLU networks.

Also home of what every approximation head shares: parsing a target ``g`` in ``x0 .. x{k-1}``
(:func:`parse_target`) and rigorous evaluation of it (exact rationals where ``g`` is rational, mpmath interval
arithmetic otherwise) on grids of points or of boxes, vectorised by broadcasting: a sub-expression in one
variable, such as ``sin(3*x0)``, is evaluated once per grid line, not once per grid point.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any, Callable, Sequence

import numpy as np
import sympy as sp
from mpmath import iv, libmp

from ._errors import TheoryError, bad
from ._head import Head, as_box, head_symbols
from ._layers import PointwiseLayer
from ._network import Network, check_positive_int
from ._rational import ZERO, as_rational
from ._sparse import SparseArray

_XNAME = re.compile(r"x(\d+)\Z")
N_SYM = sp.Symbol("n", positive=True, integer=True)
MAX_VERTICES = 1_000_000  # (n + 1)^k grid vertices a pl_head may have (about 3 units and 10 nonzeros each)
_ONE = Fraction(1)
_MINUS_ONE = Fraction(-1)


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


def parse_target(g: Any, k: int | None = None, name: str = "g") -> tuple[sp.Expr, int]:
    """A target as a sympy expression in the real symbols ``x0 .. x{k-1}``, and ``k``.

    Args:
        g: a sympy expression or a string such as ``"sin(3*x0)*x1"`` (strings go through ``sympy.sympify``,
            which evaluates Python: pass only trusted text). Symbols named ``x<j>`` are replaced by the real
            symbols of :func:`theory.head_symbols`; floats become their exact binary value.
        k: number of inputs; default ``1 + `` the largest index used.
    Returns:
        ``(expr, k)``.
    Raises:
        TheoryError: unparsable text, symbols other than ``x0 .. x{k-1}``, non-finite or complex constants,
            undefined functions.
    """
    if isinstance(g, str):
        local = {nm: sp.Symbol(nm, real=True) for nm in set(re.findall(r"\bx\d+\b", g))}
        try:
            expr = sp.sympify(g, locals=local)
        except Exception:  # sympify raises SympifyError, TokenError, TypeError, ... for bad text
            raise bad(name, g, "a formula in x0, x1, ... such as 'sin(3*x0)*x1'") from None
    elif isinstance(g, sp.Basic):
        expr = g
    elif isinstance(g, (int, float, Fraction, np.integer, np.floating)) and not isinstance(g, bool):
        expr = sp.Rational(as_rational(g, name))
    else:
        raise bad(name, type(g).__name__, "a sympy expression or a string in x0, x1, ...")
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
        raise bad(name, str(expr), f"an explicit expression (undefined functions {sorted(map(str, undefined))}); "
                  "for a Python callable use pl_head with hessian= or lipschitz=")
    return expr, k


# ------------------------------------------------------------------------------ rigorous evaluation
class _NotExact(Exception):
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


def mpf_fraction(raw: tuple) -> Fraction:
    """Exact value of a raw mpf tuple; raises :class:`NonFinite` for inf and nan."""
    sign, man, exp, _ = raw
    if not man:
        if raw == libmp.fzero:
            return ZERO
        raise NonFinite
    v = Fraction(man << exp) if exp >= 0 else Fraction(man, 1 << -exp)
    return -v if sign else v


def iv_bounds(z: Any) -> tuple[Fraction, Fraction]:
    """Exact endpoints of an mpmath interval."""
    a, b = z._mpi_
    return mpf_fraction(a), mpf_fraction(b)


_IV_FUNCS = {sp.sin: iv.sin, sp.cos: iv.cos, sp.tan: iv.tan, sp.exp: iv.exp, sp.log: iv.log, sp.Abs: abs}
_EXACT_FUNCS = {sp.Abs: abs}


def evaluate_on(expr: sp.Expr, env: dict[sp.Symbol, np.ndarray], exact: bool) -> np.ndarray:
    """Evaluate ``expr`` elementwise on broadcastable object arrays.

    Args:
        expr: sympy expression.
        env: symbol -> object array of Fractions (``exact``) or of mpmath intervals (``not exact``), shaped
            to broadcast against each other (e.g. ``(n0, 1)`` and ``(1, n1)``).
        exact: Fraction arithmetic (raises :class:`_NotExact` on anything irrational) or interval arithmetic.
    Returns:
        An object array (broadcast shape of the variables the expression uses).
    Raises:
        _NotExact, NonFinite (division by zero), TheoryError (an unsupported function).
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
                raise _NotExact
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
                raise _NotExact
            elif ex == sp.Rational(1, 2):
                out = _apply(iv.sqrt, b)
            else:
                x = ev(ex)
                out = _wrap(_apply(iv.exp, _wrap(x * _apply(iv.log, b))))
        elif isinstance(e, sp.Function) and e.func in _IV_FUNCS and len(e.args) == 1:
            fn = e.func
            if exact and fn not in _EXACT_FUNCS:
                raise _NotExact
            out = _apply((_EXACT_FUNCS if exact else _IV_FUNCS)[fn], ev(e.args[0]))
        elif exact:
            raise _NotExact
        else:
            raise TheoryError(f"argument 'g': cannot evaluate {type(e).__name__} ({e}) rigorously; supported: "
                              "+, *, integer and rational powers, sin, cos, tan, exp, log, sqrt, Abs, pi, E "
                              "(sinh, cosh, tanh are rewritten through exp)")
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


def _rewrite(expr: sp.Expr) -> sp.Expr:
    """Hyperbolic functions through exp (interval evaluation knows exp)."""
    if expr.has(sp.sinh, sp.cosh, sp.tanh):
        expr = expr.rewrite(sp.exp)
    return expr


class _Prec:
    """Temporarily set mpmath's interval precision (bits)."""

    def __init__(self, bits: int) -> None:
        self.bits = bits

    def __enter__(self) -> None:
        self.old = iv.prec
        iv.prec = self.bits

    def __exit__(self, *exc: Any) -> None:
        iv.prec = self.old


def _grid_env(syms: Sequence[sp.Symbol], axes: Sequence[Sequence[Any]]) -> dict[sp.Symbol, np.ndarray]:
    k = len(syms)
    env = {}
    for a, (s, vals) in enumerate(zip(syms, axes)):
        arr = np.empty(len(vals), dtype=object)
        arr[:] = list(vals)
        env[s] = arr.reshape([-1 if b == a else 1 for b in range(k)])
    return env


def _up(q: Fraction) -> float:
    """Smallest float >= q."""
    f = float(q)
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

    def __init__(self, expr: sp.Expr | None, k: int, box: tuple[tuple[Fraction, Fraction], ...], *,
                 hessian: Any = None, lipschitz: Any = None, norm: str = "inf", pieces: int | None = None) -> None:
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
            entries = {(a, b): _rewrite(sp.diff(expr, syms[a], syms[b])) for a in range(k) for b in range(a, k)}
            for (a, b), d2 in entries.items():
                if d2.has(sp.Derivative, sp.sign, sp.DiracDelta, sp.Piecewise, sp.Heaviside):
                    raise bad("g", str(expr), "twice differentiable on the box (its second derivatives involve "
                              f"{d2}); give hessian= or lipschitz= instead")
            self.q = check_positive_int("pieces", pieces) if pieces is not None else _pieces_for(entries.values(), k)
            self.piece_m = self._piece_hessian(expr, entries, k, box, self.q)

    @staticmethod
    def _user_hessian(hessian: Any, k: int) -> list[list[Fraction]]:
        if isinstance(hessian, (list, tuple, np.ndarray)):
            rows = [list(r) if isinstance(r, (list, tuple, np.ndarray)) else None for r in hessian]
            if len(rows) != k or any(r is None or len(r) != k for r in rows):
                raise bad("hessian", hessian, f"a number or a {k} x {k} matrix of bounds on |d2g/dxa dxb|")
            m = [[as_rational(v, "hessian") for v in r] for r in rows]
        else:
            m = [[as_rational(hessian, "hessian")] * k for _ in range(k)]
        if any(v < 0 for r in m for v in r):
            raise bad("hessian", hessian, "nonnegative bounds")
        return m

    @staticmethod
    def _piece_hessian(expr: sp.Expr, entries: dict[tuple[int, int], sp.Expr], k: int, box: Any,
                       q: int) -> dict[tuple[int, int], np.ndarray]:
        syms = head_symbols(k)
        axes = []
        with _Prec(53):
            for lo, hi in box:
                w = (hi - lo) / q
                axes.append([iv_interval(lo + i * w, lo + (i + 1) * w) for i in range(q)])
            env = _grid_env(syms, axes)
            out = {}
            for (a, b), d2 in entries.items():
                try:
                    vals = np.broadcast_to(evaluate_on(d2, env, exact=False), (q,) * k)
                    up = np.empty(vals.shape, dtype=np.float64)
                    up.reshape(-1)[:] = [_up(max(-lo_, hi_)) for lo_, hi_ in map(iv_bounds, vals.reshape(-1))]
                except NonFinite:
                    raise bad("g", str(expr), f"bounded second derivatives on the box; d2g/dx{a}dx{b} = {d2} "
                              "is unbounded or undefined there (give hessian= or lipschitz=)") from None
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


# ------------------------------------------------------------------------------------ vertex values
def vertex_values(g: Any, expr: sp.Expr | None, k: int, box: Any, n: int, p: int) -> tuple[np.ndarray, Fraction]:
    """``g`` at every grid vertex, exact or rounded to a multiple of ``2^-p``; and the largest rounding error.

    Returns:
        ``(values, rounding)``: object array of Fractions, shape ``(n + 1,) * k`` (vertex ``v`` at index ``v``),
        and ``max_v |g(v) - values[v]|`` (exact upper bound; 0 when every value is exact).
    Raises:
        TheoryError: ``g`` not finite or not real at a vertex.
    """
    axes = [[lo + (hi - lo) * Fraction(i, n) for i in range(n + 1)] for lo, hi in box]
    shape = (n + 1,) * k
    if expr is None:  # Python callable: exact rationals by contract
        out = np.empty(shape, dtype=object)
        for idx in np.ndindex(*shape):
            try:
                value = g(*[axes[a][i] for a, i in enumerate(idx)])
            except Exception as err:
                raise bad("g", f"g{tuple(str(axes[a][i]) for a, i in enumerate(idx))} raised {type(err).__name__}: {err}",
                          "a callable returning an exact rational at every grid vertex") from None
            out[idx] = as_rational(value, "g")
        return out, ZERO
    syms = head_symbols(k)
    expr = _rewrite(expr)
    try:
        exact = evaluate_on(expr, _grid_env(syms, axes), exact=True)
        return np.broadcast_to(exact, shape).copy(), ZERO
    except _NotExact:
        pass
    except NonFinite:
        raise bad("g", str(expr), "finite at every grid vertex of the box (division by zero)") from None
    budget = Fraction(1, 2 ** (p + 1))
    for extra in (40, 120, 400):
        with _Prec(p + extra):
            try:
                vals = np.broadcast_to(evaluate_on(expr, _grid_env(syms, [[iv_interval(v, v) for v in ax] for ax in axes]),
                                                   exact=False), shape)
                bounds = [iv_bounds(z) for z in vals.reshape(-1)]
            except NonFinite:
                raise bad("g", str(expr), "finite and real at every grid vertex of the box") from None
        if max(hi - lo for lo, hi in bounds) <= budget / 16:
            break
    scale = 1 << p
    out = np.empty(len(bounds), dtype=object)
    worst = ZERO
    for i, (lo, hi) in enumerate(bounds):
        q = Fraction(round((lo + hi) * scale / 2), scale)
        out[i] = q
        worst = max(worst, hi - q, q - lo)
    return out.reshape(shape), worst


# ------------------------------------------------------------------------------------------ network
def _frac_table(lo: int, hi: int) -> np.ndarray:
    """Object array of the Fractions lo .. hi (shared objects, indexed by ``value - lo``)."""
    out = np.empty(hi - lo + 1, dtype=object)
    out[:] = [Fraction(v) for v in range(lo, hi + 1)]
    return out


def _pointwise(c_out: int, c_in: int, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray,
               b_rows: np.ndarray, b_vals: np.ndarray, relu: bool = True) -> PointwiseLayer:
    """A 1x1 layer from coordinates (distinct (row, col) pairs; zero values dropped)."""

    def sparse(shape: tuple[int, ...], keys: np.ndarray, values: np.ndarray) -> SparseArray:
        order = np.argsort(keys, kind="stable")
        keys, values = keys[order], values[order]
        keep = np.fromiter((v != 0 for v in values), dtype=bool, count=values.size)
        return SparseArray(shape, keys[keep], values[keep])

    weight = sparse((c_out, c_in), rows.astype(np.int64) * c_in + cols, vals)
    return PointwiseLayer(weight, sparse((c_out,), b_rows.astype(np.int64), b_vals), relu=relu)


def _concat(*parts: Any) -> np.ndarray:
    out = [np.asarray(p, dtype=object) if not isinstance(p, np.ndarray) else p for p in parts]
    return np.concatenate(out) if out else np.zeros(0, dtype=object)


def _objs(values: Sequence[Fraction]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _network_1d(values: np.ndarray, box: Any, n: int) -> Network:
    """``I(x) = g_0 + sum_j c_j relu(x - x_j)``: slope ``c_0`` from ``x_0 = a``, then slope changes."""
    (lo, hi), = box
    h = (hi - lo) / n
    g = list(values)
    slopes = [(g[j + 1] - g[j]) / h for j in range(n)]
    coef = [slopes[0]] + [slopes[j] - slopes[j - 1] for j in range(1, n)]
    units = [0] + [j for j in range(1, n) if coef[j] != 0]
    u = len(units)
    layer1 = _pointwise(u, 1, np.arange(u), np.zeros(u, np.int64), _objs([_ONE] * u),
                        np.arange(u), _objs([-(lo + j * h) for j in units]))
    out = _pointwise(1, u, np.zeros(u, np.int64), np.arange(u), _objs([coef[j] for j in units]),
                     np.zeros(1, np.int64), _objs([g[0]]), relu=False)
    return Network(d=1, c_in=1, layers=(layer1, out), meta={"construction": "pl_head", "k": 1, "n": n})


def _network_kd(values: np.ndarray, box: Any, n: int) -> Network:
    """``I(x) = sum_v g(v) phi_v(y)``, ``y = (x - lo)/h``, Kuhn hats ``phi_v = relu(1 - max(0, z) + min(0, z))``.

    ``z = y - v``. With ``delta_j = v_j - v_{j+1}`` the chains ``R_j = relu(z_{j-1} - z_j + R_{j-1})`` and
    ``S_j = relu(z_j - z_{j-1} + S_{j-1})`` (layer j) give ``max(z_0..z_j) = z_j + R_j`` and
    ``-min(z_0..z_j) = -z_j + S_j``; they depend on ``(delta_0 .. delta_{j-1})`` only, so they are shared by
    all vertices with those differences. Layer k: ``P_v = relu(z_{k-1} + R_{k-1})``,
    ``Q_v = relu(-z_{k-1} + S_{k-1})``; layer k+1: ``phi_v = relu(1 - P_v - Q_v)``; linear readout.
    ``Y_a = relu(y_a) = y_a`` (nonnegative on the box) carries the coordinates the chains still need.
    """
    k = values.ndim
    flat = values.reshape(-1)
    keep = np.flatnonzero(np.fromiter((v != 0 for v in flat), dtype=bool, count=flat.size))
    if keep.size == 0:
        zero = PointwiseLayer(SparseArray.zeros((1, k)), SparseArray.zeros((1,)), relu=False)
        return Network(d=1, c_in=k, layers=(zero,), meta={"construction": "pl_head", "k": k, "n": n})
    verts = np.stack(np.unravel_index(keep, values.shape), axis=1).astype(np.int64)  # (N, k)
    nv = verts.shape[0]
    inv_h = [n / (hi - lo) for lo, hi in box]
    off = [-lo * s for (lo, _), s in zip(box, inv_h)]  # y_a = inv_h[a] x_a + off[a]
    ints = _frac_table(-n - 1, n + 1)
    base = 2 * n + 1
    diffs = verts[:, :-1] - verts[:, 1:] + n  # (N, k-1), in [0, 2n]
    codes, uniq, inverse = [], [], []
    code = np.zeros(nv, dtype=object if (k - 1) * math.log2(base) > 62 else np.int64)
    for j in range(k - 1):
        code = code * base + diffs[:, j]
        u, inv = np.unique(code, return_inverse=True)
        codes.append(code)
        uniq.append(u)
        inverse.append(inv.reshape(-1))
    layers = []
    prev_y: dict[int, int] = {}  # axis -> unit of Y_a in the previous layer
    prev_r = prev_s = 0  # first unit of R_{j-1}, S_{j-1} in the previous layer
    for j in range(1, k):  # layer j: Y_a (a >= j), R_j, S_j over the unique difference prefixes of length j
        ys = list(range(j, k))
        nu = uniq[j - 1].size
        r0 = len(ys)
        s0 = r0 + nu
        width = s0 + nu
        rows, cols, vals, brows, bvals = [], [], [], [], []
        for i, a in enumerate(ys):
            rows.append([i])
            cols.append([a if j == 1 else prev_y[a]])
            vals.append([inv_h[a] if j == 1 else _ONE])
            if j == 1:
                brows.append([i])
                bvals.append([off[a]])
        last = (uniq[j - 1] % base).astype(np.int64) - n  # delta_{j-1} of each unique prefix
        ru, su = r0 + np.arange(nu), s0 + np.arange(nu)
        if j == 1:  # z_0 - z_1 = y_0 - y_1 - delta_0, from the inputs
            for units, sign in ((ru, 1), (su, -1)):
                rows += [units, units]
                cols += [np.zeros(nu, np.int64), np.ones(nu, np.int64)]
                vals += [_objs([inv_h[0] * sign] * nu), _objs([-inv_h[1] * sign] * nu)]
                brows.append(units)
                bvals.append(_objs([(off[0] - off[1]) * sign]) [np.zeros(nu, np.int64)] + ints[-sign * last + n + 1])
        else:
            parent = np.searchsorted(uniq[j - 2], uniq[j - 1] // base)
            for units, sign, chain in ((ru, 1, prev_r), (su, -1, prev_s)):
                rows += [units, units, units]
                cols += [np.full(nu, prev_y[j - 1]), np.full(nu, prev_y[j]), chain + parent]
                vals += [_objs([Fraction(sign)] * nu), _objs([Fraction(-sign)] * nu), _objs([_ONE] * nu)]
                brows.append(units)
                bvals.append(ints[-sign * last + n + 1])
        c_in = k if j == 1 else layers[-1].c_out
        layers.append(_pointwise(width, c_in, _cat_int(rows), _cat_int(cols), _concat(*vals), _cat_int(brows), _concat(*bvals)))
        prev_y = {a: i for i, a in enumerate(ys)}
        prev_r, prev_s = r0, s0
    # layer k: P_v, Q_v
    chain = inverse[k - 2]
    vlast = verts[:, k - 1]
    pu, qu = np.arange(nv), nv + np.arange(nv)
    yk = prev_y[k - 1]
    rows = [pu, pu, qu, qu]
    cols = [np.full(nv, yk), prev_r + chain, np.full(nv, yk), prev_s + chain]
    vals = [_objs([_ONE] * nv), _objs([_ONE] * nv), _objs([_MINUS_ONE] * nv), _objs([_ONE] * nv)]
    layers.append(_pointwise(2 * nv, layers[-1].c_out, _cat_int(rows), _cat_int(cols), _concat(*vals),
                             np.concatenate([pu, qu]), _concat(ints[-vlast + n + 1], ints[vlast + n + 1])))
    # layer k+1: phi_v = relu(1 - P_v - Q_v); readout sum_v g(v) phi_v
    layers.append(_pointwise(nv, 2 * nv, np.concatenate([pu, pu]), np.concatenate([pu, qu]),
                             _objs([_MINUS_ONE] * (2 * nv)), pu, _objs([_ONE] * nv)))
    layers.append(_pointwise(1, nv, np.zeros(nv, np.int64), pu, flat[keep], np.zeros(0, np.int64),
                             np.zeros(0, dtype=object), relu=False))
    return Network(d=1, c_in=k, layers=tuple(layers), meta={"construction": "pl_head", "k": k, "n": n})


def _cat_int(parts: list) -> np.ndarray:
    return np.concatenate([np.asarray(p, dtype=np.int64) for p in parts]) if parts else np.zeros(0, np.int64)


# ------------------------------------------------------------------------------------------- pl_head
def pl_head(g: Any, box: Any, n: int, *, k: int | None = None, hessian: Any = None, lipschitz: Any = None,
            norm: str = "inf", precision: int | None = None, pieces: int | None = None,
            _bound: InterpolationBound | None = None) -> Head:
    """Continuous piecewise-linear interpolant of ``g`` on the Freudenthal (Kuhn) triangulation, as an exact ReLU net.

    The box is cut into ``n`` cells per axis (widths ``h_a = (hi_a - lo_a)/n``), each cell into ``k!`` Kuhn
    simplices ``{0 <= s_pi(1) <= ... <= s_pi(k) <= 1}``; the interpolant is linear on each and equals ``g`` at
    the ``(n + 1)^k`` vertices (exactly when ``g(v)`` is rational, else rounded to a multiple of ``2^-p``).

    Network (one position; all layers 1x1): for ``k = 1`` depth 2,
    ``I(x) = g(a) + c_0 relu(x - a) + sum_j c_j relu(x - x_j)`` (``c_j`` the slope changes); for ``k >= 2``
    depth ``k + 2``, ``I = sum_v g(v) phi_v`` with the Kuhn hat ``phi_v(y) = relu(1 - max(0, z) + min(0, z))``,
    ``z = (x - v)/h`` (see :func:`_network_kd`): about 3 units and 10 nonzeros per vertex with ``g(v) != 0``.

    Bound: ``interp + rounding`` with ``interp`` from :class:`InterpolationBound` (the C^2 estimate
    ``(1/8) sum_ab M_ab h_a h_b`` with interval bounds of the Hessian, a given ``hessian``, or
    ``L diam(cell)`` for a given ``lipschitz``) and ``rounding = max_v |g(v) - value_v|`` (the hats are
    nonnegative and sum to 1 on the box, so value errors add at most their maximum). ``p`` is chosen so the
    rounding is at most 1% of ``interp``.

    Args:
        g: sympy expression or string in ``x0 .. x{k-1}``, or a Python callable ``g(x0, .., x{k-1})`` of
            Fractions returning exact rationals (then ``hessian`` or ``lipschitz`` is required).
        box: ``(lo, hi)`` for every axis or ``k`` pairs; exact rationals, ``lo < hi``.
        n: cells per axis, ``>= 1``; ``(n + 1)^k <= MAX_VERTICES``.
        k: number of inputs (default: from ``box`` pairs, else from the symbols of ``g``).
        hessian: a number or ``k x k`` matrix bounding ``|d2g/dxa dxb|`` on the box (trusted, replaces the
            interval computation).
        lipschitz, norm: a Lipschitz constant of ``g`` in the norm ``"inf"``, ``"1"`` or ``"2"`` (trusted).
        precision: ``p`` of the vertex rounding (default: automatic).
        pieces: interval pieces per axis for the Hessian bound (default by k: 2048, 96, 20, ...).
    Returns:
        A :class:`theory.Head` (params: name "pl", n, k, p, bound parts and their source).
    Raises:
        TheoryError: bad ``n``/box/``g``/options, ``g`` not finite on the box, unbounded second derivatives.
    Source: standard (Freudenthal/Kuhn triangulation, piecewise-linear finite element interpolation); the
    ReLU realisation of the Kuhn hat and the shared max/min chains are a reconstruction.
    """
    n = check_positive_int("n", n)
    if callable(g) and not isinstance(g, (sp.Basic, str)):
        k = k if k is not None else box_arity(box)
        if k is None:
            raise bad("k", k, "the number of inputs of the callable g (or give box as k pairs)")
        k = check_positive_int("k", k)
        expr, target = None, sp.Function(getattr(g, "__name__", "g") if str(getattr(g, "__name__", "")).isidentifier() else "g")(*head_symbols(k))
    else:
        expr, k = parse_target(g, k if k is not None else box_arity(box))
        target = expr
    box = as_box(box, k)
    if (n + 1) ** k > MAX_VERTICES:
        raise bad("n", n, f"(n + 1)^k <= {MAX_VERTICES} grid vertices (k = {k})")
    bound_fn = _bound or InterpolationBound(expr, k, box, hessian=hessian, lipschitz=lipschitz, norm=norm, pieces=pieces)
    interp = bound_fn(n)
    if precision is None:
        p = 52 if interp == 0 else max(8, math.ceil(math.log2(1.04 * 100 / 2 / float(interp))) + 1)
    else:
        p = check_positive_int("precision", precision)
    values, rounding = vertex_values(g, expr, k, box, n, p)
    rounding = round_up(rounding, 3)  # a readable upper bound (3 significant digits)
    net = _network_1d(values.reshape(-1), box, n) if k == 1 else _network_kd(values, box, n)
    total = interp + rounding
    params = {"name": "pl", "n": n, "k": k, "p": p if rounding else None, "bound_from": bound_fn.source,
              "interpolation_bound": str(interp), "rounding_bound": str(rounding)}
    if bound_fn.source == "interval Hessian":
        params["pieces"] = bound_fn.q
    return Head(net=net, target=target, box=box, bound=sp.Rational(total), formula=bound_fn.formula(n, interp) + sp.Rational(rounding),
                source="Freudenthal/Kuhn triangulation interpolation (standard); ReLU realisation of the hats: reconstruction",
                params=params)
