"""numerics.duat.receptive_field: the support of the composed static matrices against the closed form."""

from __future__ import annotations

import pytest
from torch import nn

from numerics import NumericsError, duat


@pytest.mark.parametrize(
    "layers,expected",
    [
        ([(3, 1, 1)], 3),
        ([(3, 1, 1)] * 3, 7),
        ([(3, 2, 1), (3, 1, 1)], 7),
        ([(3, 1, 2), (2, 2, 1), (3, 1, 1)], 10),
    ],
)
def test_receptive_field_matches_closed_form(layers, expected):
    mods = []
    for k, s, d in layers:
        mods += [nn.Conv2d(2, 2, k, s, dilation=d), nn.ReLU()]
    model = nn.Sequential(*mods[:-1], nn.MaxPool2d(1)).double().eval()
    rf = duat.receptive_field(model, (2, 40, 40))
    assert rf.closed_form == (expected, expected)
    centre = rf.central_index()
    assert rf.extent(centre) == (2, expected, expected)
    assert rf.counts[centre] == 2 * expected * expected  # every tap and channel present structurally


def test_receptive_field_through_residual_blocks_and_clipping():
    rf = duat.receptive_field(nn.Sequential(duat.BasicBlock(2, 2), duat.PreActBlock(2, 2)).double().eval(), (2, 20, 20))
    assert rf.closed_form == (9, 9) and rf.extent(rf.central_index()) == (2, 9, 9)
    assert rf.counts[0] == 2 * 5 * 5  # the corner unit is clipped by the zero padding
    assert duat.receptive_field(duat.ViTBlock(8, 2, 2).double().eval(), (4, 8)).counts.min() == 32
    with pytest.raises(NumericsError, match="argument 'input_shape'"):
        duat.receptive_field(nn.ReLU(), (0, 3))
