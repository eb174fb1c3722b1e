"""theory.latex: the formula of a small network, and the layer-by-layer form of a large one."""

from __future__ import annotations

from fractions import Fraction

import theory


def test_latex_formula_and_layers():
    small = theory.latex(theory.square_head(1).net)
    assert r"\sigma\left(x_{0}\right)" in small and "Max" not in small and small.count("\n") == 1
    big = theory.latex(theory.approximate_sparse(1024, [1, 1000], "x0*x1", (-1, 1), Fraction(1, 10)))
    assert r"\begin{aligned}" in big and r"\ast_{2}" in big and "x1*x1000" in big
    assert big.count(r"\\") >= 4 and "linear" in big
    dense = theory.latex(theory.to_fcn(theory.select(8, [1])), mode="layers")
    assert r"\operatorname{vec}" in dense
