"""make_target reads names through theory.input_unit, the same mapping as the certifier: an alias is the
network's own input (renamed), a name that is not an input is a NumericsError, a coordinate named twice too."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp
import torch

import numerics
import theory
from numerics.scale._target import make_target


@pytest.fixture(scope="module")
def net4() -> theory.Network:
    return theory.approximate_sparse(4, [0, 1], "x0*x1", (-1, 1), Fraction(1, 100))


def test_alias_is_the_canonical_input(net4):
    plain, alias = make_target(net4, "x0*x1 + x3", (-1, 1)), make_target(net4, "x0_0*x0_1 + x0_3", (-1, 1))
    assert alias.units == plain.units == (0, 1, 3) and alias.names == plain.names == ("x0", "x1", "x3")
    assert alias.exprs == plain.exprs
    assert {s.name for s in alias.exprs[0].free_symbols} == {"x0", "x1", "x3"}
    cols = torch.tensor([[0.5, -0.25, 2.0]], dtype=torch.float64)
    assert alias.torch_fn()(cols).tolist() == [[0.5 * -0.25 + 2.0]]
    assert alias.enclose([Fraction(1, 2), Fraction(-1, 4), Fraction(2)]) == [(Fraction(15, 8),) * 2]
    box = make_target(net4, "x0*x1", {"x0_0": (-1, 1), "x1": (0, 1)})
    assert box.box == ((-1, 1), (0, 1))


@pytest.mark.parametrize(
    "target, box, fragment",
    [
        ("x99*x0", (-1, 1), "argument 'target': x99 is not an input of this network \\(d=4, c_in=1: inputs x0..x3\\)"),
        ("x1_0*x0", (-1, 1), "argument 'target': x1_0 is not an input"),
        ("x0*x1", {"x0": (-1, 1), "x1": (-1, 1), "x9": (0, 1)}, "argument 'box': x9 is not an input"),
        ("x0*x1", {"x0": (-1, 1), "x0_0": (0, 1), "x1": (-1, 1)}, "each coordinate once \\(x0_0 names x0 again\\)"),
    ],
)
def test_names_that_are_not_inputs(net4, target, box, fragment):
    with pytest.raises(numerics.NumericsError, match=fragment):
        make_target(net4, target, box)


def test_sympy_target_with_alias_symbols(net4):
    y = sp.Symbol("x0_1")
    tg = make_target(net4, sp.Symbol("x0") * y, (-1, 1))
    assert tg.names == ("x0", "x1") and tg.exprs[0] == sp.Symbol("x0", real=True) * sp.Symbol("x1", real=True)
