"""The polynomial planner: a polynomial as a tree of Yarotsky squares and products, with its error polynomial.

:func:`plan_monomials` splits every monomial into a balanced tree of squares and products (shared
sub-monomials once); :func:`build_polynomial` lays the tree out level by level as :class:`SawtoothSquare`
blocks (:mod:`theory.heads._sawtooth`), carries every value later levels need through the ReLU layers, and
propagates interval ranges and error bounds: the result is the exact network and ``E(DELTA)``, a polynomial
in ``DELTA = 2^(-2m-2)`` with nonnegative coefficients bounding ``|net - p|`` on the box.
Source: Yarotsky (2017), Propositions 2-3 (squares, products by polarisation; standard); the error
propagation through the product tree is a reconstruction.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import sympy as sp

from ..spec import Network
from ..spec._rational import ZERO
from ._affine import Aff
from ._layer_builder import LayerBuilder
from ._sawtooth import DELTA, SawtoothSquare

_DELTA_1 = sp.Rational(1, 16)  # DELTA at m = 1, the largest: ranges widened with it hold for every m >= 1

Exponents = tuple[int, ...]
"""A monomial ``x0^e0 ... x{k-1}^e{k-1}`` as its exponent tuple ``(e0, ..., e{k-1})``."""

Block = tuple[Exponents, list[tuple[SawtoothSquare, int | Fraction]], tuple[Fraction, Fraction], sp.Expr]
"""One node of a level: its monomial, its square blocks with their weights, the exact range, the error."""


def to_sympy(q: Fraction) -> sp.Rational:
    """The rational ``q`` as a sympy Rational."""
    return sp.Rational(q.numerator, q.denominator)


class Val:
    """A quantity carried through the circuit: its form, the exact range ``[lo, hi]`` of the true value on the
    box, and ``err(DELTA)``, a polynomial with nonnegative coefficients bounding ``|approx - true|``."""

    def __init__(self, form: Aff, lo: Fraction, hi: Fraction, err: sp.Expr = sp.S.Zero) -> None:
        self.form, self.lo, self.hi, self.err = form, lo, hi, sp.expand(err)

    def approx_range(self) -> tuple[Fraction, Fraction]:
        """A range of the approximation valid for every m >= 1 (the error is largest at m = 1)."""
        e = self.err.subs(DELTA, _DELTA_1)
        e = Fraction(int(e.p), int(e.q))
        return self.lo - e, self.hi + e

    def bound(self) -> Fraction:
        return max(abs(self.lo), abs(self.hi))


def square_plan(form: Aff, lo: Fraction, hi: Fraction, m: int, fold: bool | None) -> tuple[SawtoothSquare, Fraction]:
    """A square block for ``w`` in ``[lo, hi]``; folds when 0 is inside (half the radius). Returns (block, R)."""
    if fold is None:
        fold = lo < 0 < hi
    if fold:
        r = max(-lo, hi)
        return SawtoothSquare(form, ZERO, r, True, m), r
    return SawtoothSquare(form, lo, hi - lo, False, m), hi - lo


def _carry(b: LayerBuilder, v: Val) -> Val:
    """Carry a value through one ReLU layer: one unit when its approximation is >= 0 (or <= 0) on the box,
    else sign-split ``relu(w) - relu(-w)``."""
    lo, hi = v.approx_range()
    if lo >= 0:
        form = b.relu(v.form)
    elif hi <= 0:
        form = -b.relu(-v.form)
    else:
        form = b.relu(v.form) - b.relu(-v.form)
    return Val(form, v.lo, v.hi, v.err)


def _sq_range(lo: Fraction, hi: Fraction) -> tuple[Fraction, Fraction]:
    low = ZERO if lo <= 0 <= hi else min(lo * lo, hi * hi)
    return low, max(lo * lo, hi * hi)


def _mul_range(a: tuple[Fraction, Fraction], b: tuple[Fraction, Fraction]) -> tuple[Fraction, Fraction]:
    p = [x * y for x in a for y in b]
    return min(p), max(p)


class Op:
    """One node of a polynomial circuit: an input, the square of a node, or the product of two nodes."""

    def __init__(self, kind: str, args: tuple, level: int) -> None:
        self.kind, self.args, self.level = kind, args, level


def plan_monomials(monomials: list[Exponents]) -> dict[Exponents, Op]:
    """Nodes for every monomial (exponent tuple) by balanced splitting; shared sub-monomials once."""
    ops: dict[Exponents, Op] = {}

    def node(e: Exponents) -> Op:
        if e in ops:
            return ops[e]
        deg = sum(e)
        if deg == 1:
            op = Op("input", (e.index(1),), 0)
        else:
            half, need = [], deg // 2  # take the first deg//2 factors (variables in order) for one side
            for x in e:
                take = min(x, need)
                half.append(take)
                need -= take
            left, right = tuple(half), tuple(x - y for x, y in zip(e, half))
            if left == right:
                child = node(left)
                op = Op("square", (left,), child.level + 1)
            else:
                op = Op("product", (left, right), max(node(left).level, node(right).level) + 1)
        ops[e] = op
        return op

    for mono in monomials:
        node(mono)
    return ops


def build_polynomial(
    terms: list[tuple[Fraction, Exponents]],
    const: Fraction,
    box: Any,
    m: int,
    force_shift: bool = False,
    meta: dict[str, Any] | None = None,
) -> tuple[Network, sp.Expr]:
    """The circuit for ``const + sum coef * x^e`` and its error polynomial ``E(DELTA)``.

    Level L computes every node of level L in m layers (squares: one block; products
    ``p q = ((p + q)^2 - (p - q)^2)/4``: two blocks), carrying the values later levels and the readout need.
    Error propagation (``|p~ - p| <= E_p``, ``|p| <= P`` on the box): square ``|s~ - p^2| <= R^2 delta +
    E_p (2P + E_p)``; product ``|q~ - p p'| <= max(R_+^2, R_-^2) delta/4 + E_p P' + P E_p' + E_p E_p'`` where
    ``R_+``, ``R_-`` are the radii of ``p~ + p'~`` and ``p~ - p'~`` (both squares over-estimate, so their
    errors partly cancel in the difference); sums add ``|coef| E``.
    """
    k = len(box)
    ops = plan_monomials([e for _, e in terms])
    depth = max((op.level for op in ops.values()), default=0)
    last_use: dict[Exponents, int] = {e: depth + 1 for _, e in terms}
    for op in ops.values():
        if op.kind != "input":
            for a in op.args:
                last_use[a] = max(last_use.get(a, 0), op.level)
    b = LayerBuilder(k)
    vals: dict[Exponents, Val] = {}
    inputs = b.inputs()
    for e, op in ops.items():
        if op.kind == "input":
            j = op.args[0]
            vals[e] = Val(inputs[j], box[j][0], box[j][1])
    for level in range(1, depth + 1):
        blocks: list[Block] = []
        for e, op in ops.items():
            if op.level != level:
                continue
            if op.kind == "square":
                v = vals[op.args[0]]
                lo, hi = v.approx_range()
                blk, r = square_plan(v.form, lo, hi, m, False if force_shift else None)
                p = v.bound()
                err = to_sympy(r * r) * DELTA + v.err * (2 * to_sympy(p) + v.err)
                blocks.append((e, [(blk, 1)], _sq_range(v.lo, v.hi), err))
            else:
                v, w = vals[op.args[0]], vals[op.args[1]]
                (alo, ahi), (blo, bhi) = v.approx_range(), w.approx_range()
                plus, rp = square_plan(v.form + w.form, alo + blo, ahi + bhi, m, None)
                minus, rm = square_plan(v.form - w.form, alo - bhi, ahi - blo, m, None)
                err = (
                    to_sympy(max(rp * rp, rm * rm)) * DELTA / 4
                    + v.err * to_sympy(w.bound())
                    + to_sympy(v.bound()) * w.err
                    + v.err * w.err
                )
                blocks.append(
                    (e, [(plus, Fraction(1, 4)), (minus, Fraction(-1, 4))], _mul_range((v.lo, v.hi), (w.lo, w.hi)), err)
                )
        for s in range(1, m + 1):
            b.open()
            for _, parts, _, _ in blocks:
                for blk, _ in parts:
                    blk.layer(b, s)
            vals = {e: _carry(b, v) for e, v in vals.items() if last_use.get(e, 0) > level}
            b.close()
        for e, parts, (lo, hi), err in blocks:
            vals[e] = Val(sum((blk.value() * c for blk, c in parts), Aff()), lo, hi, err)
    out = Aff(const=const)
    total = sp.S.Zero
    for coef, e in terms:
        out = out + vals[e].form * coef
        total += to_sympy(abs(coef)) * vals[e].err
    return b.network(out, meta or {}), sp.expand(total)
