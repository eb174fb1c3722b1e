"""Max pooling read exactly as a ReLU max tree: ``max(a, b) = relu(a - b) + relu(b) - relu(-b)``.

The imported spec in exact rationals against the float64 module at random points (float64_affine); the tree's
depth (ceil(log2 k) ReLU layers for a window of k); the maximum exactly at dyadic inputs, including windows cut
by the padding; refusals named.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import theory
from numerics import NumericsError, from_torch
from tests.numerics.helpers import assert_exact_matches_module

MODELS = {
    "conv1d + maxpool1d": (lambda: nn.Sequential(nn.Conv1d(1, 2, 2, stride=2), nn.MaxPool1d(2), nn.Flatten(),
                                                 nn.Linear(8, 1)), (1, 16)),
    "lenet-like 2-D": (lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                             nn.Linear(8, 1)), (1, 4, 4)),
    "3x3 windows, padding": (lambda: nn.Sequential(nn.Conv2d(1, 2, 2), nn.MaxPool2d(3, stride=1, padding=1),
                                                   nn.Flatten(), nn.Linear(18, 1)), (1, 4, 4)),
    "1-D stride 2, padding": (lambda: nn.Sequential(nn.Conv1d(2, 2, 3, padding=1), nn.MaxPool1d(3, stride=2, padding=1),
                                                    nn.Flatten(), nn.Linear(8, 1)), (2, 8)),
}  # fmt: skip


@pytest.mark.parametrize("name", MODELS)
def test_max_pooling_is_exact_against_the_float64_module(name):
    make, shape = MODELS[name]
    torch.manual_seed(0)
    m = make().double().eval()
    net = from_torch(m, shape)
    x = 3 * torch.randn((5, *shape), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert_exact_matches_module(net, m, x, name)


def _identity() -> nn.Module:
    """A 1x1 convolution that passes its one channel through unchanged (the pooling then acts on the input)."""
    conv = nn.Conv1d(1, 1, 1).double()
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.zero_()
    return conv


@pytest.mark.parametrize("k", [2, 3, 4, 5, 8])
def test_a_window_of_k_is_a_tree_of_ceil_log2_k_relu_layers_and_exact(k):
    identity = _identity()
    net = from_torch(nn.Sequential(identity, nn.MaxPool1d(k)), (1, 2 * k))
    assert sum(layer.relu for layer in net.layers) == math.ceil(math.log2(k))
    values = [Fraction((-1) ** i * (i * 7 % 11), 8) for i in range(2 * k)]
    got = theory.evaluate_exact(net, values)
    assert list(got) == [max(values[:k]), max(values[k:])]  # exact, not to rounding


def test_padding_is_minus_infinity_not_zero():
    """Torch pads max pooling with -inf: a window at the edge holds only the signal's own values."""
    identity = _identity()
    net = from_torch(nn.Sequential(identity, nn.MaxPool1d(3, stride=3, padding=1)), (1, 6))
    values = [Fraction(-5), Fraction(-3), Fraction(-4), Fraction(-9), Fraction(-1), Fraction(-2)]
    assert list(theory.evaluate_exact(net, values)) == [Fraction(-3), Fraction(-1)]  # not 0 from the padding


@pytest.mark.parametrize(
    "pool, message",
    [(nn.MaxPool1d(2, return_indices=True), "return_indices"), (nn.MaxPool1d(2, ceil_mode=True), "ceil_mode")],
)
def test_unsupported_max_pooling_settings_are_named(pool, message):
    with pytest.raises(NumericsError, match=message):
        from_torch(nn.Sequential(nn.Conv1d(1, 1, 1), pool), (1, 8))


class _Functional(nn.Module):
    """``F.max_pool2d`` in a forward: traced by torch.fx and read as the same max tree as the module."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.fc = nn.Conv2d(1, 2, 2), nn.Linear(8, 1)

    def forward(self, x):
        return self.fc(torch.flatten(F.max_pool2d(self.conv(x), 2, stride=1), 1))


def test_the_functional_form_is_the_module_form():
    torch.manual_seed(4)
    f = _Functional().double().eval()
    module = nn.Sequential(f.conv, nn.MaxPool2d(2, stride=1), nn.Flatten(), f.fc).eval()
    a, b = from_torch(f, (1, 4, 4)), from_torch(module, (1, 4, 4))
    x = [[Fraction(i * 37 % 17 - 8, 5) for i in range(16)]]
    assert theory.evaluate_exact(a, x) == theory.evaluate_exact(b, x)
