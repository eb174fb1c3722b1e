"""theory.input_unit: the one mapping of names to input units, as a table and as the inverse of input_name."""

from __future__ import annotations

import numpy as np
import pytest

import theory
from theory import (
    DenseLayer,
    Network,
    SparseArray,
    input_name,
    input_symbols,
    input_unit,
)


def _net(d: int, c_in: int) -> Network:
    """One dense layer on ``d`` positions and ``c_in`` channels (the weights do not matter here)."""
    return Network(
        d=d,
        c_in=c_in,
        layers=(
            DenseLayer(
                SparseArray.from_dense(np.ones((1, 1, d, c_in), dtype=int)), SparseArray.zeros((1, 1)), relu=False
            ),
        ),
    )


NAMES = {(1, 3): "x0..x2", (4, 1): "x0..x3", (4, 2): "x{c}_{p}, c < 2, p < 4", (1, 1): "x0..x0"}
ACCEPTED = [  # (d, c_in, name, unit): the network's own names and the two-index aliases x{c}_{p}
    (1, 3, "x2", 2),
    (1, 3, "x2_0", 2),
    (1, 3, "x0_0", 0),
    (4, 1, "x3", 3),
    (4, 1, "x0_3", 3),
    (4, 1, "x0_0", 0),
    (4, 2, "x1_3", 7),
    (4, 2, "x0_2", 4),
    (4, 2, "x1_0", 1),
    (1, 1, "x0", 0),
    (1, 1, "x0_0", 0),
]
REJECTED = [
    (1, 3, "x3"),
    (1, 3, "x0_1"),
    (1, 3, "x3_0"),
    (4, 1, "x4"),
    (4, 1, "x99"),
    (4, 1, "x1_0"),
    (4, 1, "x0_4"),
    (4, 2, "x0"),
    (4, 2, "x7"),
    (4, 2, "x2_0"),
    (4, 2, "x0_4"),
    (1, 1, "x1"),
    (4, 1, "y0"),
    (4, 1, "x"),
    (4, 1, "x-1"),
    (4, 1, "x0_"),
    (4, 1, ""),
    (4, 1, "x0 "),
    (4, 1, "x01"),
    (4, 1, "x0_01"),
]


@pytest.mark.parametrize("d, c_in, name, unit", ACCEPTED)
def test_names_and_aliases(d, c_in, name, unit):
    net = _net(d, c_in)
    assert input_unit(net, name) == unit
    assert input_unit(net, input_name(net, unit)) == unit  # the canonical name maps back


@pytest.mark.parametrize("d, c_in, name", REJECTED)
def test_names_that_are_not_inputs(d, c_in, name):
    with pytest.raises(theory.TheoryError) as err:
        input_unit(_net(d, c_in), name, "box")
    assert str(err.value) == (
        f"argument 'box': {name} is not an input of this network (d={d}, c_in={c_in}: inputs {NAMES[d, c_in]})"
    )


@pytest.mark.parametrize("d, c_in", list(NAMES))
def test_inverse_of_input_name(d, c_in):
    net = _net(d, c_in)
    assert [input_unit(net, s.name) for s in input_symbols(net)] == list(range(d * c_in))
