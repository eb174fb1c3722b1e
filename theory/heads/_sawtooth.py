"""Yarotsky's sawtooth square as a block of ReLU layers: ``w^2`` from an affine form ``w`` in m layers.

The square: ``f_m(t) = t - sum_{s=1..m} g_s(t) / 4^s`` with the tent map
``g(t) = 2 relu(t) - 4 relu(t - 1/2) + 2 relu(t - 1)`` and ``g_s`` its s-fold composition. ``f_m`` is the
piecewise-linear interpolant of ``t^2`` on the grid ``j / 2^m`` of [0, 1], so ``0 <= f_m(t) - t^2 <= 2^(-2m-2)``
(interpolating a convex function from above; the error ``h^2/4`` at the cell midpoints ``t = odd/2^(m+1)``,
``h = 2^-m``). Source: D. Yarotsky, "Error bounds for approximations with deep ReLU networks", Neural
Networks 94 (2017), Proposition 2 (standard).

:data:`DELTA` is the symbol of ``2^(-2m-2)`` in which the error polynomials of
:mod:`theory.heads._polynomial_plan` are written; :data:`M_SYM` the symbol ``m`` of the formulas.
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp

from ._affine import Aff
from ._layer_builder import LayerBuilder

DELTA = sp.Symbol("delta", positive=True)  # 2^(-2m-2), the error of one unit square
M_SYM = sp.Symbol("m", positive=True, integer=True)
_HALF = Fraction(1, 2)


def delta(m: int) -> Fraction:
    """``2^(-2m-2)``: the sup error of the m-step sawtooth square on [0, 1]."""
    return Fraction(1, 4 ** (m + 1))


class SawtoothSquare:
    """m layers computing ``w^2`` approximately from an affine form ``w`` with ``c <= w <= c + R`` on the box.

    ``fold=False``: ``t = (w - c)/R`` and ``w^2 ~ c^2 + 2 c R t + R^2 f_m(t)``. ``fold=True`` (needs
    ``|w| <= R``): ``t = |w|/R = relu(w/R) + relu(-w/R)`` and ``w^2 ~ R^2 f_m(t)``; the first layer uses
    ``relu(|w|/R - c) = relu(w/R - c) + relu(-w/R - c)`` (``c >= 0``), so folding costs no extra layer.
    Either way the approximation lies in ``[w^2, w^2 + R^2 2^(-2m-2)]``.

    Units per layer: 3 (6 folded) in layer 1: ``relu(t)``, ``relu(t - 1/2)``, ``relu(t - 1)``; then 4:
    ``T = relu(t)``, ``S = relu(S + g_{s-1}/4^(s-1))`` (the partial sum, >= 0), ``relu(g_{s-1})``,
    ``relu(g_{s-1} - 1/2)``. (``relu(g - 1)`` is identically 0 once ``g`` is a tent value in [0, 1].)
    """

    def __init__(self, w: Aff, c: Fraction, r: Fraction, fold: bool, m: int) -> None:
        self.w, self.c, self.r, self.fold, self.m = w, c, r, fold, m

    def layer(self, b: LayerBuilder, s: int) -> None:
        """Add this block's units of layer ``s`` (1-based) to the open layer of ``b``."""
        if s == 1:
            if self.fold:
                parts = [
                    (b.relu(u), b.relu(u - _HALF), b.relu(u - 1))
                    for u in (self.w * (1 / self.r), self.w * (-1 / self.r))
                ]
                self.t = parts[0][0] + parts[1][0]
                self.g = sum((2 * a - 4 * h + 2 * c for a, h, c in parts), Aff())
            else:
                u = (self.w - self.c) * (1 / self.r)
                a, h, c = b.relu(u), b.relu(u - _HALF), b.relu(u - 1)
                self.t, self.g = a, 2 * a - 4 * h + 2 * c
            self.sum = Aff()
            return
        self.t, self.sum = b.relu(self.t), b.relu(self.sum + self.g * Fraction(1, 4 ** (s - 1)))
        a, h = b.relu(self.g), b.relu(self.g - _HALF)
        self.g = 2 * a - 4 * h

    def value(self) -> Aff:
        """The approximation of ``w^2`` as a form over the units of layer m."""
        f = self.t - self.sum - self.g * Fraction(1, 4**self.m)
        if self.fold:
            return f * (self.r * self.r)
        return self.t * (2 * self.c * self.r) + f * (self.r * self.r) + self.c * self.c
