"""Eval-mode BatchNorm read exactly: a per-channel affine map whose scale is the float64 value torch computes.

Analytic vs sampled: the imported spec evaluated in exact rationals against the float64 torch module at random
points (they differ by float64 rounding only, the tolerance float64_affine); the shift against its formula; a
module in training mode refused.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from torch import nn

from numerics import NumericsError, from_torch
from tests.numerics.helpers import assert_exact_matches_module


def _trained_statistics(bn: nn.Module, seed: int) -> nn.Module:
    """Give a BatchNorm running statistics and an affine part that are not the defaults, then freeze it."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(bn.num_features, generator=g))
        bn.running_var.copy_(torch.rand(bn.num_features, generator=g) + 0.5)
        if bn.weight is not None:
            bn.weight.copy_(torch.randn(bn.num_features, generator=g))
            bn.bias.copy_(torch.randn(bn.num_features, generator=g))
    return bn


MODELS = {
    "conv1d + bn1d": (lambda: nn.Sequential(nn.Conv1d(2, 3, 2, stride=2), _trained_statistics(nn.BatchNorm1d(3), 1),
                                           nn.ReLU(), nn.Flatten(), nn.Linear(12, 2)), (2, 8)),
    "conv2d + bn2d": (lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), _trained_statistics(nn.BatchNorm2d(2), 2),
                                           nn.ReLU(), nn.Flatten(), nn.Linear(32, 1)), (1, 4, 4)),
    "linear + bn1d": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(8, 4),
                                           _trained_statistics(nn.BatchNorm1d(4, affine=False), 3), nn.ReLU(),
                                           nn.Linear(4, 1)), (1, 8)),
}  # fmt: skip


@pytest.mark.parametrize("name", MODELS)
def test_the_exact_spec_equals_the_float64_module_to_rounding(name):
    make, shape = MODELS[name]
    m = make().double().eval()
    net = from_torch(m, shape)
    x = torch.randn((4, *shape), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert_exact_matches_module(net, m, x, name)


def test_the_scale_is_the_float64_value_torch_computes_and_the_shift_is_exact():
    bn = _trained_statistics(nn.BatchNorm1d(3), 5).double().eval()
    net = from_torch(nn.Sequential(bn), (3, 4))
    (layer,) = net.layers
    assert layer.kind == "pointwise"  # one shared per-channel map, not a dense block
    s = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
    for c in range(3):
        sc = Fraction(float(s[c]))
        assert layer.weight[(c, c)] == sc
        assert layer.bias[(c,)] == Fraction(float(bn.bias.detach()[c])) - sc * Fraction(float(bn.running_mean[c]))


def test_training_mode_is_refused_with_the_reason():
    m = nn.Sequential(nn.Conv1d(1, 2, 2, stride=2), nn.BatchNorm1d(2))  # a new module is in training mode
    with pytest.raises(NumericsError, match="eval mode"):
        from_torch(m, (1, 8))
