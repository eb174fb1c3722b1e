"""Exact affine forms over the units of one layer: the algebra the Yarotsky circuits are written in.

A form is ``const + sum_u coef[u] h[u]`` with rational (:class:`~fractions.Fraction`) coefficients over the unit
indices ``u`` of the current layer; zero coefficients are dropped. Forms add, subtract, negate and scale by
rationals, so a block of the circuit states its next layer as plain formulas (``2 a - 4 h + 2 c``) and
:class:`theory.heads._layer_builder.LayerBuilder` turns the forms into the rows of an exact
:class:`theory.spec.PointwiseLayer`. Nothing is rounded: the weights of the network are these coefficients.
Source: bookkeeping only (reconstruction).
"""

from __future__ import annotations

from fractions import Fraction

from ..spec._rational import ZERO


class Aff:
    """An affine form ``const + sum_u coef[u] h[u]`` over the units of the current layer.

    Attributes:
        coef: unit index -> nonzero rational coefficient (a sparse row of a weight matrix).
        const: the rational constant (the row's bias).
    """

    __slots__ = ("coef", "const")

    def __init__(self, coef: dict[int, Fraction] | None = None, const: Fraction = ZERO) -> None:
        self.coef = {u: c for u, c in (coef or {}).items() if c != 0}
        self.const = Fraction(const)

    def __add__(self, other: "Aff | Fraction | int") -> "Aff":
        if not isinstance(other, Aff):
            return Aff(self.coef, self.const + other)
        coef = dict(self.coef)
        for u, c in other.coef.items():
            coef[u] = coef.get(u, ZERO) + c
        return Aff(coef, self.const + other.const)

    __radd__ = __add__

    def __mul__(self, q: Fraction | int) -> "Aff":
        return Aff({u: c * q for u, c in self.coef.items()}, self.const * q)

    __rmul__ = __mul__

    def __neg__(self) -> "Aff":
        return self * -1

    def __sub__(self, other: "Aff | Fraction | int") -> "Aff":
        return self + (-other if isinstance(other, Aff) else -Fraction(other))
