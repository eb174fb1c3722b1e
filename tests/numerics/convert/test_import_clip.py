"""Hardtanh and ReLU6 read exactly as ``a + relu(x - a) - relu(x - b)``: piecewise linear, one ReLU layer.

The imported spec in exact rationals against the float64 module at points spread far outside the clip interval
(both ends are reached), to float64 rounding (float64_affine).
"""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from torch import nn

import theory
from numerics import NumericsError, from_torch
from tests.numerics.helpers import assert_exact_matches_module

MODELS = {
    "conv1d + relu6": (lambda: nn.Sequential(nn.Conv1d(1, 3, 2, stride=2), nn.ReLU6(), nn.Conv1d(3, 1, 2, stride=2)),
                       (1, 4)),
    "linear + hardtanh": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Hardtanh(-0.5, 0.25),
                                                nn.Linear(3, 1)), (1, 4)),
    "conv2d + hardtanh": (lambda: nn.Sequential(nn.Conv2d(1, 2, 2), nn.Hardtanh(), nn.Flatten(), nn.Linear(8, 1)),
                          (1, 3, 3)),
}  # fmt: skip


@pytest.mark.parametrize("name", MODELS)
def test_a_clip_is_exact_against_the_float64_module(name):
    make, shape = MODELS[name]
    torch.manual_seed(0)
    m = make().double().eval()
    net = from_torch(m, shape)
    x = 8 * torch.randn((6, *shape), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert_exact_matches_module(net, m, x, name)


def test_both_ends_of_the_clip_are_reached_exactly():
    identity = nn.Linear(3, 3).double()
    with torch.no_grad():
        identity.weight.copy_(torch.eye(3))
        identity.bias.zero_()
    net = from_torch(nn.Sequential(identity, nn.Hardtanh(-0.5, 0.25)), (3,))
    got = theory.evaluate_exact(net, [Fraction(-7), Fraction(1, 8), Fraction(9)])
    assert list(got) == [Fraction(-1, 2), Fraction(1, 8), Fraction(1, 4)]


def test_an_empty_clip_interval_is_refused():
    clip = nn.Hardtanh(-1.0, 1.0)
    clip.min_val, clip.max_val = 1.0, -1.0
    with pytest.raises(NumericsError, match="min_val <= max_val"):
        from_torch(nn.Sequential(nn.Flatten(), nn.Linear(2, 2), clip), (2,))


@pytest.mark.parametrize("act", [nn.Sigmoid(), nn.Tanh(), nn.GELU(), nn.SiLU()])
def test_smooth_activations_are_refused_with_the_reason(act):
    with pytest.raises(NumericsError, match="smooth, so no exact ReLU network computes it"):
        from_torch(nn.Sequential(nn.Flatten(), nn.Linear(2, 2), act), (2,))


@pytest.mark.parametrize("clip", [nn.ReLU6(), nn.Hardtanh(-0.5, 0.25)])
def test_an_exported_clip_node_reads_as_the_module(clip, tmp_path):
    """torch.onnx.export writes Hardtanh / ReLU6 as ONNX Clip with constant bounds: from_onnx reads the same exact
    function as from_torch (equal at rational points, both exact)."""
    import random
    import warnings

    pytest.importorskip("onnx")
    import numerics

    torch.manual_seed(5)
    m = nn.Sequential(nn.Conv1d(1, 3, 2, stride=2), clip, nn.Conv1d(3, 1, 2, stride=2)).float().eval()
    path = tmp_path / "c.onnx"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(m, (torch.randn(1, 1, 4),), str(path), dynamo=False, input_names=["x"])
    except (ImportError, ModuleNotFoundError) as e:
        pytest.skip(f"torch.onnx.export cannot run here: {e}")
    a, b = numerics.from_onnx(path), from_torch(m, (1, 4))
    rng = random.Random(0)
    for _ in range(4):
        x = [Fraction(rng.randint(-4000, 4000), 997) for _ in range(4)]
        assert theory.evaluate_exact(a, x) == theory.evaluate_exact(b, x)
