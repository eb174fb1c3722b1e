"""Targets of a property, exactly: linear ones and piecewise-linear ones as Max / Min trees over linear pieces.

A piecewise-linear target (``Min``, ``Max``, ``Abs`` of linear formulas, sums and rational multiples of them) is
normalised to a :class:`PiecewiseTarget`, a tree whose nodes are ``max`` or ``min`` and whose leaves are
:class:`LinearTarget` s, by the exact rules ``Abs(a) = Max(a, -a)``, ``c Max(a, b) = Max(c a, c b)`` for ``c > 0``
(``Min`` for ``c < 0``) and ``f + Max(a, b) = Max(f + a, f + b)``. The two halves of the negated claim then become
disjunctions of conjunctions of linear atoms (:func:`conjunctions`): with ``m = eps + tol``,

* above, ``Y - t >= m``: ``Y - Max(a, b) >= m`` iff ``Y - a >= m`` and ``Y - b >= m``; ``Min`` gives "or";
* below, ``t - Y >= m``: ``Max(a, b) - Y >= m`` iff ``a - Y >= m`` or ``b - Y >= m``; ``Min`` gives "and";

expanded into disjunctive normal form. Within one half every atom has the same sense, so a conjunction is a tuple
of leaves. Sizes are capped (:data:`MAX_PIECES`, :data:`MAX_CONJUNCTIONS`) and a target past a cap is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import prod

import sympy as sp

from .._errors import bad

MAX_PIECES = 256
"""The most linear pieces (leaves of the Max / Min normal form) one target may have."""
MAX_CONJUNCTIONS = 1024
"""The most conjunctions the negated claim may have for one output (its two halves together; a linear target has 2)."""
KINDS = ("max", "min")
_PL = (sp.Max, sp.Min, sp.Abs)


@dataclass(frozen=True)
class LinearTarget:
    """One output's target ``t(x) = constant + sum_i coeff_i x_i``: ``terms`` are ``(input index, coefficient)``
    pairs with distinct indices and nonzero exact coefficients, sorted by index."""

    terms: tuple[tuple[int, Fraction], ...]
    constant: Fraction = Fraction(0)

    def __post_init__(self) -> None:
        idx = [i for i, _ in self.terms]
        if idx != sorted(set(idx)) or any(type(c) is not Fraction or c == 0 for _, c in self.terms):
            raise bad("terms", self.terms, "(index, nonzero Fraction) pairs with distinct indices, sorted")
        if type(self.constant) is not Fraction:
            raise bad("constant", self.constant, "a Fraction")

    def value(self, x: Sequence[Fraction]) -> Fraction:
        """``t(x)`` exactly."""
        return self.constant + sum((c * x[i] for i, c in self.terms), Fraction(0))

    def leaves(self) -> tuple[LinearTarget, ...]:
        return (self,)


@dataclass(frozen=True)
class PiecewiseTarget:
    """A piecewise-linear target: ``kind`` (``"max"`` or ``"min"``) of ``parts``, each a :class:`LinearTarget` or a
    :class:`PiecewiseTarget` (at least two)."""

    kind: str
    parts: tuple[Target, ...]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise bad("kind", self.kind, " | ".join(KINDS))
        if len(self.parts) < 2 or not all(isinstance(p, (LinearTarget, PiecewiseTarget)) for p in self.parts):
            raise bad("parts", self.parts, "two or more LinearTarget / PiecewiseTarget parts")

    def value(self, x: Sequence[Fraction]) -> Fraction:
        """``t(x)`` exactly (the max or min of the parts' exact values)."""
        return (max if self.kind == "max" else min)(p.value(x) for p in self.parts)

    def leaves(self) -> tuple[LinearTarget, ...]:
        """The linear pieces, left to right (repeats included)."""
        return tuple(leaf for p in self.parts for leaf in p.leaves())


Target = LinearTarget | PiecewiseTarget


def _node(kind: str, parts: Sequence[Target]) -> Target:
    """``kind`` of ``parts``, nested nodes of the same kind flattened and repeated parts dropped."""
    flat: list[Target] = []
    for p in parts:
        for q in p.parts if isinstance(p, PiecewiseTarget) and p.kind == kind else (p,):
            if q not in flat:
                flat.append(q)
    return flat[0] if len(flat) == 1 else PiecewiseTarget(kind, tuple(flat))


def _linear(terms: dict[int, Fraction], constant: Fraction) -> LinearTarget:
    return LinearTarget(tuple(sorted((i, c) for i, c in terms.items() if c != 0)), constant)


def scaled(t: Target, c: Fraction) -> Target:
    """``c t`` exactly: a negative ``c`` swaps ``max`` and ``min``."""
    if isinstance(t, LinearTarget):
        return _linear({i: c * a for i, a in t.terms}, c * t.constant)
    kind = t.kind if c > 0 else KINDS[1 - KINDS.index(t.kind)]
    return _node(kind, [scaled(p, c) for p in t.parts]) if c != 0 else _linear({}, Fraction(0))


def added(a: Target, b: Target) -> Target:
    """``a + b`` exactly, pushed into the nodes (``f + Max(p, q) = Max(f + p, f + q)``)."""
    if isinstance(a, PiecewiseTarget):
        return _node(a.kind, [added(p, b) for p in a.parts])
    if isinstance(b, PiecewiseTarget):
        return _node(b.kind, [added(a, p) for p in b.parts])
    terms = dict(a.terms)
    for i, c in b.terms:
        terms[i] = terms.get(i, Fraction(0)) + c
    return _linear(terms, a.constant + b.constant)


def _count(t: Target) -> int:
    return len(t.leaves())


def _capped(n: int, expr: sp.Expr) -> None:
    if n > MAX_PIECES:
        raise bad(
            "target",
            str(expr),
            f"at most MAX_PIECES = {MAX_PIECES} linear pieces per target (this one "
            f"has {n} in its Max / Min normal form: every Abs doubles them, every sum multiplies them)",
        )


def refuse_nonlinear(expr: sp.Expr, why: str) -> Exception:
    """The error for a target outside the piecewise-linear formulas (``why`` says what is wrong)."""
    return bad(
        "target",
        str(expr),
        f"a piecewise-linear formula of the inputs (+, -, * by rational constants, "
        f"Min, Max, Abs): VNN-LIB constraints are linear, so nonlinear targets are not encoded ({why})",
    )


def normalise(expr: sp.Expr, leaf: Callable[[sp.Expr], LinearTarget]) -> Target:
    """The Max / Min normal form of ``expr``; ``leaf`` turns a part without ``Min``, ``Max``, ``Abs`` into a
    :class:`LinearTarget` (and refuses a nonlinear one).

    Raises:
        NumericsError: a product or power of piecewise parts, a piecewise part inside another function, an
            irrational coefficient, or more than :data:`MAX_PIECES` pieces.
    """
    if not expr.has(*_PL):
        return leaf(expr)
    if isinstance(expr, (sp.Max, sp.Min)):
        parts = [normalise(a, leaf) for a in expr.args]
        _capped(sum(_count(p) for p in parts), expr)
        return _node("max" if isinstance(expr, sp.Max) else "min", parts)
    if isinstance(expr, sp.Abs):
        inner = normalise(expr.args[0], leaf)
        _capped(2 * _count(inner), expr)
        return _node("max", [inner, scaled(inner, Fraction(-1))])
    if isinstance(expr, sp.Add):
        out = normalise(expr.args[0], leaf)
        for a in expr.args[1:]:
            t = normalise(a, leaf)
            _capped(_count(out) * _count(t), expr)
            out = added(out, t)
        return out
    if isinstance(expr, sp.Mul):
        pl = [a for a in expr.args if a.has(*_PL)]
        rest = sp.Mul(*(a for a in expr.args if not a.has(*_PL)))
        if len(pl) > 1 or rest.free_symbols:
            raise refuse_nonlinear(expr, "a product of two non-constant parts")
        if not getattr(rest, "is_Rational", False):
            raise bad("target", str(expr), "rational coefficients (pi, E and the like have no exact decimal)")
        return scaled(normalise(pl[0], leaf), Fraction(int(rest.p), int(rest.q)))
    raise refuse_nonlinear(expr, f"{type(expr).__name__} of a piecewise-linear part")


def conjunctions(t: Target, above: bool) -> tuple[tuple[LinearTarget, ...], ...]:
    """The disjunctive normal form of ``Y - t >= m`` (``above``) or ``t - Y >= m``: a tuple of conjunctions, each
    a tuple of distinct leaves ``l`` whose atom is ``Y - l >= m`` (above) or ``l - Y >= m`` (below)."""
    if isinstance(t, LinearTarget):
        return ((t,),)
    sides = [conjunctions(p, above) for p in t.parts]
    if (t.kind == "min") == above:  # "or": the conjunctions of every part
        out = [c for s in sides for c in s]
    else:  # "and": one conjunction from each part, every combination
        out = [()]
        for s in sides:
            out = [a + tuple(leaf for leaf in c if leaf not in a) for a in out for c in s]
    return tuple(dict.fromkeys(out))


def count(t: Target, above: bool) -> int:
    """How many conjunctions :func:`conjunctions` gives at most (before repeats are dropped), without expanding."""
    if isinstance(t, LinearTarget):
        return 1
    sides = [count(p, above) for p in t.parts]
    return sum(sides) if (t.kind == "min") == above else prod(sides)
