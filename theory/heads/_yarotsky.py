"""Yarotsky's sawtooth square, products by polarisation and polynomial heads, as exact ReLU networks.

The square: ``f_m(t) = t - sum_{s=1..m} g_s(t) / 4^s`` with the tent map
``g(t) = 2 relu(t) - 4 relu(t - 1/2) + 2 relu(t - 1)`` and ``g_s`` its s-fold composition. ``f_m`` is the
piecewise-linear interpolant of ``t^2`` on the grid ``j / 2^m`` of [0, 1], so ``0 <= f_m(t) - t^2 <= 2^(-2m-2)``
(interpolating a convex function from above; the error ``h^2/4`` at the cell midpoints ``t = odd/2^(m+1)``,
``h = 2^-m``). Source: D. Yarotsky, "Error bounds for approximations with deep ReLU networks", Neural
Networks 94 (2017), Proposition 2 and Proposition 3 (standard); the polynomial heads are a reconstruction.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import sympy as sp

from .._errors import bad
from ._record import Head, as_box, head_symbols
from ..spec import Network, PointwiseLayer, SparseArray, as_rational
from ..spec._network import check_positive_int
from ..spec._rational import ZERO
from ._target import box_arity, parse_target

DELTA = sp.Symbol("delta", positive=True)  # 2^(-2m-2), the error of one unit square
M_SYM = sp.Symbol("m", positive=True, integer=True)
MAX_M = 1000
MAX_DEGREE = 8
_ONE, _HALF = Fraction(1), Fraction(1, 2)
_DELTA_1 = sp.Rational(1, 16)  # DELTA at m = 1, the largest: ranges widened with it hold for every m >= 1
SOURCE_SQUARE = 'Yarotsky 2017, "Error bounds for approximations with deep ReLU networks", Prop. 2 (standard)'


def _r(q: Fraction) -> sp.Rational:
    return sp.Rational(q.numerator, q.denominator)


def delta(m: int) -> Fraction:
    """``2^(-2m-2)``: the sup error of the m-step sawtooth square on [0, 1]."""
    return Fraction(1, 4 ** (m + 1))


class _Aff:
    """An affine form ``const + sum_u coef[u] h[u]`` over the units of the current layer."""

    __slots__ = ("coef", "const")

    def __init__(self, coef: dict[int, Fraction] | None = None, const: Fraction = ZERO) -> None:
        self.coef = {u: c for u, c in (coef or {}).items() if c != 0}
        self.const = Fraction(const)

    def __add__(self, other: "_Aff | Fraction | int") -> "_Aff":
        if not isinstance(other, _Aff):
            return _Aff(self.coef, self.const + other)
        coef = dict(self.coef)
        for u, c in other.coef.items():
            coef[u] = coef.get(u, ZERO) + c
        return _Aff(coef, self.const + other.const)

    __radd__ = __add__

    def __mul__(self, q: Fraction | int) -> "_Aff":
        return _Aff({u: c * q for u, c in self.coef.items()}, self.const * q)

    __rmul__ = __mul__

    def __neg__(self) -> "_Aff":
        return self * -1

    def __sub__(self, other: "_Aff | Fraction | int") -> "_Aff":
        return self + (-other if isinstance(other, _Aff) else -Fraction(other))


class _Builder:
    """Accumulates 1x1 layers on one position: ``open()``, ``relu(form) -> unit form``, ``close()``."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.width = k
        self.layers: list[PointwiseLayer] = []
        self.rows: list[_Aff] | None = None

    def inputs(self) -> list[_Aff]:
        return [_Aff({j: _ONE}) for j in range(self.k)]

    def open(self) -> None:
        self.rows = []

    def relu(self, form: _Aff) -> _Aff:
        """A new unit ``relu(form)`` (form over the previous layer); returns it as a form over the new layer."""
        self.rows.append(form)
        return _Aff({len(self.rows) - 1: _ONE})

    def close(self) -> None:
        self.layers.append(self._layer(self.rows, relu=True))
        self.width = len(self.rows)
        self.rows = None

    def _layer(self, rows: list[_Aff], relu: bool) -> PointwiseLayer:
        shape = (max(len(rows), 1), self.width)
        w = {(r, u): c for r, f in enumerate(rows) for u, c in f.coef.items()}
        b = {(r,): f.const for r, f in enumerate(rows)}
        return PointwiseLayer(SparseArray.from_dict(shape, w, arg="weight"),
                              SparseArray.from_dict(shape[:1], b, arg="bias"), relu=relu)

    def network(self, out: _Aff, meta: dict[str, Any]) -> Network:
        layers = tuple(self.layers) + (self._layer([out], relu=False),)
        return Network(d=1, c_in=self.k, layers=layers, meta=meta)


class _Square:
    """m layers computing ``w^2`` approximately from an affine form ``w`` with ``c <= w <= c + R`` on the box.

    ``fold=False``: ``t = (w - c)/R`` and ``w^2 ~ c^2 + 2 c R t + R^2 f_m(t)``. ``fold=True`` (needs
    ``|w| <= R``): ``t = |w|/R = relu(w/R) + relu(-w/R)`` and ``w^2 ~ R^2 f_m(t)``; the first layer uses
    ``relu(|w|/R - c) = relu(w/R - c) + relu(-w/R - c)`` (``c >= 0``), so folding costs no extra layer.
    Either way the approximation lies in ``[w^2, w^2 + R^2 2^(-2m-2)]``.

    Units per layer: 3 (6 folded) in layer 1: ``relu(t)``, ``relu(t - 1/2)``, ``relu(t - 1)``; then 4:
    ``T = relu(t)``, ``S = relu(S + g_{s-1}/4^(s-1))`` (the partial sum, >= 0), ``relu(g_{s-1})``,
    ``relu(g_{s-1} - 1/2)``. (``relu(g - 1)`` is identically 0 once ``g`` is a tent value in [0, 1].)
    """

    def __init__(self, w: _Aff, c: Fraction, r: Fraction, fold: bool, m: int) -> None:
        self.w, self.c, self.r, self.fold, self.m = w, c, r, fold, m

    def layer(self, b: _Builder, s: int) -> None:
        if s == 1:
            if self.fold:
                parts = [(b.relu(u), b.relu(u - _HALF), b.relu(u - 1)) for u in (self.w * (1 / self.r), self.w * (-1 / self.r))]
                self.t = parts[0][0] + parts[1][0]
                self.g = sum((2 * a - 4 * h + 2 * c for a, h, c in parts), _Aff())
            else:
                u = (self.w - self.c) * (1 / self.r)
                a, h, c = b.relu(u), b.relu(u - _HALF), b.relu(u - 1)
                self.t, self.g = a, 2 * a - 4 * h + 2 * c
            self.sum = _Aff()
            return
        self.t, self.sum = b.relu(self.t), b.relu(self.sum + self.g * Fraction(1, 4 ** (s - 1)))
        a, h = b.relu(self.g), b.relu(self.g - _HALF)
        self.g = 2 * a - 4 * h

    def value(self) -> _Aff:
        f = self.t - self.sum - self.g * Fraction(1, 4**self.m)
        if self.fold:
            return f * (self.r * self.r)
        return self.t * (2 * self.c * self.r) + f * (self.r * self.r) + self.c * self.c


class _Val:
    """A quantity carried through the circuit: its form, the exact range ``[lo, hi]`` of the true value on the
    box, and ``err(DELTA)``, a polynomial with nonnegative coefficients bounding ``|approx - true|``."""

    def __init__(self, form: _Aff, lo: Fraction, hi: Fraction, err: sp.Expr = sp.S.Zero) -> None:
        self.form, self.lo, self.hi, self.err = form, lo, hi, sp.expand(err)

    def approx_range(self) -> tuple[Fraction, Fraction]:
        """A range of the approximation valid for every m >= 1 (the error is largest at m = 1)."""
        e = self.err.subs(DELTA, _DELTA_1)
        e = Fraction(int(e.p), int(e.q))
        return self.lo - e, self.hi + e

    def bound(self) -> Fraction:
        return max(abs(self.lo), abs(self.hi))


def _square_plan(form: _Aff, lo: Fraction, hi: Fraction, m: int, fold: bool | None) -> tuple[_Square, Fraction]:
    """A square block for ``w`` in ``[lo, hi]``; folds when 0 is inside (half the radius). Returns (block, R)."""
    if fold is None:
        fold = lo < 0 < hi
    if fold:
        r = max(-lo, hi)
        return _Square(form, ZERO, r, True, m), r
    return _Square(form, lo, hi - lo, False, m), hi - lo


def _carry(b: _Builder, v: _Val) -> _Val:
    """Carry a value through one ReLU layer: one unit when its approximation is >= 0 (or <= 0) on the box,
    else sign-split ``relu(w) - relu(-w)``."""
    lo, hi = v.approx_range()
    if lo >= 0:
        form = b.relu(v.form)
    elif hi <= 0:
        form = -b.relu(-v.form)
    else:
        form = b.relu(v.form) - b.relu(-v.form)
    return _Val(form, v.lo, v.hi, v.err)


def _sq_range(lo: Fraction, hi: Fraction) -> tuple[Fraction, Fraction]:
    low = ZERO if lo <= 0 <= hi else min(lo * lo, hi * hi)
    return low, max(lo * lo, hi * hi)


def _mul_range(a: tuple[Fraction, Fraction], b: tuple[Fraction, Fraction]) -> tuple[Fraction, Fraction]:
    p = [x * y for x in a for y in b]
    return min(p), max(p)


class _Op:
    """One node of a polynomial circuit: an input, the square of a node, or the product of two nodes."""

    def __init__(self, kind: str, args: tuple, level: int) -> None:
        self.kind, self.args, self.level = kind, args, level


def _plan_monomials(monomials: list[tuple[int, ...]]) -> dict[tuple[int, ...], _Op]:
    """Nodes for every monomial (exponent tuple) by balanced splitting; shared sub-monomials once."""
    ops: dict[tuple[int, ...], _Op] = {}

    def node(e: tuple[int, ...]) -> _Op:
        if e in ops:
            return ops[e]
        deg = sum(e)
        if deg == 1:
            op = _Op("input", (e.index(1),), 0)
        else:
            half, need = [], deg // 2  # take the first deg//2 factors (variables in order) for one side
            for x in e:
                take = min(x, need)
                half.append(take)
                need -= take
            left, right = tuple(half), tuple(x - y for x, y in zip(e, half))
            if left == right:
                child = node(left)
                op = _Op("square", (left,), child.level + 1)
            else:
                op = _Op("product", (left, right), max(node(left).level, node(right).level) + 1)
        ops[e] = op
        return op

    for mono in monomials:
        node(mono)
    return ops


def _build_polynomial(terms: list[tuple[Fraction, tuple[int, ...]]], const: Fraction, box: Any, m: int,
                      force_shift: bool = False, meta: dict[str, Any] | None = None) -> tuple[Network, sp.Expr]:
    """The circuit for ``const + sum coef * x^e`` and its error polynomial ``E(DELTA)``.

    Level L computes every node of level L in m layers (squares: one block; products
    ``p q = ((p + q)^2 - (p - q)^2)/4``: two blocks), carrying the values later levels and the readout need.
    Error propagation (``|p~ - p| <= E_p``, ``|p| <= P`` on the box): square ``|s~ - p^2| <= R^2 delta +
    E_p (2P + E_p)``; product ``|q~ - p p'| <= max(R_+^2, R_-^2) delta/4 + E_p P' + P E_p' + E_p E_p'`` where
    ``R_+``, ``R_-`` are the radii of ``p~ + p'~`` and ``p~ - p'~`` (both squares over-estimate, so their
    errors partly cancel in the difference); sums add ``|coef| E``.
    """
    k = len(box)
    ops = _plan_monomials([e for _, e in terms])
    depth = max((op.level for op in ops.values()), default=0)
    last_use: dict[tuple[int, ...], int] = {e: depth + 1 for _, e in terms}
    for e, op in ops.items():
        if op.kind != "input":
            for a in op.args:
                last_use[a] = max(last_use.get(a, 0), op.level)
    b = _Builder(k)
    vals: dict[tuple[int, ...], _Val] = {}
    inputs = b.inputs()
    for e, op in ops.items():
        if op.kind == "input":
            j = op.args[0]
            vals[e] = _Val(inputs[j], box[j][0], box[j][1])
    for level in range(1, depth + 1):
        blocks = []
        for e, op in ops.items():
            if op.level != level:
                continue
            if op.kind == "square":
                v = vals[op.args[0]]
                lo, hi = v.approx_range()
                blk, r = _square_plan(v.form, lo, hi, m, False if force_shift else None)
                p = v.bound()
                err = _r(r * r) * DELTA + v.err * (2 * _r(p) + v.err)
                blocks.append((e, [(blk, 1)], _sq_range(v.lo, v.hi), err))
            else:
                v, w = vals[op.args[0]], vals[op.args[1]]
                (alo, ahi), (blo, bhi) = v.approx_range(), w.approx_range()
                plus, rp = _square_plan(v.form + w.form, alo + blo, ahi + bhi, m, None)
                minus, rm = _square_plan(v.form - w.form, alo - bhi, ahi - blo, m, None)
                err = (_r(max(rp * rp, rm * rm)) * DELTA / 4 + v.err * _r(w.bound()) + _r(v.bound()) * w.err
                       + v.err * w.err)
                blocks.append((e, [(plus, Fraction(1, 4)), (minus, Fraction(-1, 4))], _mul_range((v.lo, v.hi), (w.lo, w.hi)), err))
        for s in range(1, m + 1):
            b.open()
            for _, parts, _, _ in blocks:
                for blk, _ in parts:
                    blk.layer(b, s)
            vals = {e: _carry(b, v) for e, v in vals.items() if last_use.get(e, 0) > level}
            b.close()
        for e, parts, (lo, hi), err in blocks:
            vals[e] = _Val(sum((blk.value() * c for blk, c in parts), _Aff()), lo, hi, err)
    out = _Aff(const=const)
    total = sp.S.Zero
    for coef, e in terms:
        out = out + vals[e].form * coef
        total += _r(abs(coef)) * vals[e].err
    return b.network(out, meta or {}), sp.expand(total)


def _check_m(m: Any) -> int:
    m = check_positive_int("m", m)
    if m > MAX_M:
        raise bad("m", m, f"an int in [1, {MAX_M}]")
    return m


def _head(net: Network, target: sp.Expr, box: Any, err: sp.Expr, m: int, source: str, params: dict) -> Head:
    bound = err.subs(DELTA, sp.Rational(1, 4 ** (m + 1)))
    formula = err.subs(DELTA, 2 ** (-2 * M_SYM - 2))
    return Head(net=net, target=target, box=box, bound=bound, formula=formula, source=source, params=params)


def square_head(m: int, box: Any = (0, 1)) -> Head:
    """Yarotsky's sawtooth approximation of ``x0^2`` on ``[a, b]`` with ``m`` ReLU layers.

    Formula: ``t = (x - a)/(b - a)``, ``x^2 ~ a^2 + 2a(b - a) t + (b - a)^2 f_m(t)``,
    ``f_m(t) = t - sum_{s<=m} g_s(t)/4^s``. Bound (tight, attained at ``t = odd / 2^(m+1)``; ``f_m = t^2`` at
    ``t = j / 2^m``): ``0 <= net - x^2 <= (b - a)^2 2^(-2m-2)``.

    Network: ``d = 1``, ``c_in = 1``; m 1x1 ReLU layers of width 3, 4, ..., 4, then a linear 1x1 readout.
    Every value carried through a ReLU (``t``, the partial sum, tent values) is >= 0 on the box.

    Args:
        m: number of sawtooth steps, ``1 <= m <= 1000``.
        box: ``(a, b)`` with ``a < b`` exact rationals (default ``(0, 1)``).
    Returns:
        :class:`theory.Head` with ``bound = (b-a)^2 / 4^(m+1)`` and ``formula = 2**(-2m-2) (b-a)^2`` in ``m``.
    Raises:
        TheoryError: ``m`` not an int in [1, 1000]; bad box.
    Source: Yarotsky (2017), Proposition 2 (standard).
    """
    m = _check_m(m)
    box = as_box(box, 1)
    (a, b_), = box
    x = head_symbols(1)[0]
    net, err = _build_polynomial([(_ONE, (2,))], ZERO, box, m, force_shift=True,
                                 meta={"construction": "square_head", "m": m})
    return _head(net, x**2, box, err, m, SOURCE_SQUARE, {"name": "square", "m": m})


def product_head(m: int, B: Any = 1) -> Head:
    """``x0 * x1`` on ``[-B, B]^2`` by polarisation and two folded Yarotsky squares.

    Formula: ``u = (x0 + x1)/(2B)``, ``v = (x0 - x1)/(2B)`` (``|u|, |v| <= 1``), ``x0 x1 = B^2 (u^2 - v^2)``,
    net ``= B^2 (f_m(|u|) - f_m(|v|))`` with ``|u| = relu(u) + relu(-u)`` folded into the first layer.
    Bound: ``f_m(|u|) - u^2`` and ``f_m(|v|) - v^2`` both lie in ``[0, 2^(-2m-2)]`` (the interpolant of the
    convex ``t^2`` lies above it), so their difference lies in ``[-2^(-2m-2), 2^(-2m-2)]`` and
    ``|net - x0 x1| <= B^2 2^(-2m-2)``; attained at ``x0 = x1 = B / 2^(m+1)`` (``v = 0``).

    Network: ``d = 1``, ``c_in = 2``; m ReLU layers (width 12, then 8), linear readout.
    Args:
        m: sawtooth steps in [1, 1000].
        B: positive rational half-width of the box.
    Raises:
        TheoryError: bad ``m`` or ``B``.
    Source: Yarotsky (2017), Proposition 3 (standard).
    """
    m = _check_m(m)
    B = as_rational(B, "B")
    if B <= 0:
        raise bad("B", B, "a positive rational (the box is [-B, B]^2)")
    x0, x1 = head_symbols(2)
    box = ((-B, B), (-B, B))
    net, err = _build_polynomial([(_ONE, (1, 1))], ZERO, box, m, meta={"construction": "product_head", "m": m, "B": str(B)})
    return _head(net, x0 * x1, box, err, m, 'Yarotsky 2017, "Error bounds for approximations with deep ReLU networks", '
                 "Prop. 3 (standard)", {"name": "product", "m": m, "B": str(B)})


def polynomial_terms(expr: sp.Expr, k: int, name: str = "expr") -> tuple[Fraction, list[tuple[Fraction, tuple[int, ...]]]]:
    """``(const, [(coef, exponents)])`` of a polynomial with rational coefficients in ``x0 .. x{k-1}``."""
    syms = head_symbols(k)
    try:
        poly = sp.Poly(sp.expand(expr), *syms)
    except sp.PolynomialError:
        raise bad(name, str(expr), "a polynomial in x0 .. x{k-1}") from None
    if not poly.domain.is_QQ and not poly.domain.is_ZZ:
        raise bad(name, str(expr), "a polynomial with rational coefficients (the weights must be exact)")
    if poly.total_degree() > MAX_DEGREE:
        raise bad(name, str(expr), f"total degree <= {MAX_DEGREE}")
    const, terms = ZERO, []
    for e, c in poly.terms():
        q = Fraction(int(sp.Rational(c).p), int(sp.Rational(c).q))
        if sum(e) == 0:
            const = q
        else:
            terms.append((q, tuple(int(v) for v in e)))
    return const, terms


def polynomial_head(expr: Any, box: Any, m: int, *, k: int | None = None) -> Head:
    """A polynomial (rational coefficients, total degree <= 8) on a box, from Yarotsky squares and products.

    Every monomial of degree >= 2 is a node of a balanced tree: ``x^2`` a square, ``x^a y^b`` a product of
    two halves (shared sub-monomials once). Level L of the tree runs as m ReLU layers, so the depth is
    ``m ceil(log2 deg) + 1``; linear terms are exact. A square of a value in ``[lo, hi]`` folds (``|w|``)
    when ``lo < 0 < hi``, else shifts. The bound is derived by error propagation with interval ranges of
    every factor (see :func:`_build_polynomial`): a polynomial ``E(delta)``, ``delta = 2^(-2m-2)``, with
    nonnegative coefficients; ``formula = E(2**(-2m-2))`` and ``bound = formula(m)``. Degree <= 1: exact
    (a single linear layer, bound 0).

    Args:
        expr: sympy expression or string in ``x0 .. x{k-1}``.
        box: ``(lo, hi)`` or ``k`` pairs.
        m: sawtooth steps in [1, 1000].
        k: number of inputs (default: from box pairs, else from the symbols).
    Returns:
        :class:`theory.Head` (params: name "polynomial", m, degree).
    Raises:
        TheoryError: not a polynomial with rational coefficients, degree > 8, bad box or m.
    Source: Yarotsky (2017), Propositions 2-3 (squares, products; standard); the error propagation through
    the product tree is a reconstruction.
    """
    m = _check_m(m)
    target, k = parse_target(expr, k if k is not None else box_arity(box), name="expr")
    box = as_box(box, k)
    const, terms = polynomial_terms(target, k)
    degree = max((sum(e) for _, e in terms), default=0)
    net, err = _build_polynomial(terms, const, box, m, meta={"construction": "polynomial_head", "m": m, "degree": degree})
    return _head(net, target, box, err, m, "Yarotsky 2017 squares and products (standard); error propagation through "
                 "the product tree: reconstruction", {"name": "polynomial", "m": m, "degree": degree})


def polynomial_error(expr: Any, box: Any, k: int | None = None) -> sp.Expr:
    """``E(delta)`` of :func:`polynomial_head` for ``expr`` on ``box`` (independent of m; for choosing m)."""
    target, k = parse_target(expr, k if k is not None else box_arity(box), name="expr")
    box = as_box(box, k)
    const, terms = polynomial_terms(target, k)
    return _build_polynomial(terms, const, box, 1)[1]

