"""numerics.duat: the matrix-vector decomposition of whole models against torch (outputs, autograd Jacobians), the
per-layer records (one layer's form: tests/numerics/duat/layers).

Tolerance: TOLERANCES["float64_affine"] (atol = rtol = 1e-12): W x + b re-associates float64 sums of at most a few
thousand products of O(1) terms, so rounding stays ~1e-14; a wrong index or factor gives O(1) errors.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from numerics import duat
from tests.numerics.duat.helpers import TOL
from tests.numerics.duat.helpers import check_reconstruction as _check
from tests.numerics.duat.helpers import close as _close
from tests.numerics.duat.helpers import prep as _prep
from tests.numerics.duat.helpers import randn as _randn


def _jacobian(model, x):
    return torch.autograd.functional.jacobian(lambda v: model(v[None])[0].reshape(-1), x, vectorize=True).reshape(
        -1, x.numel()
    )


PIECEWISE_LINEAR = [
    (lambda: duat.BasicBlock(2, 4), (2, 6, 6)),
    (lambda: duat.BasicBlock(3, 3), (3, 5, 5)),
    (lambda: duat.PreActBlock(2, 4, stride=2), (2, 6, 6)),
    (lambda: duat.PreActBlock(3, 3), (3, 5, 5)),
    (lambda: duat.vgg_small(2, 3), (2, 8, 8)),
    (
        lambda: nn.Sequential(
            nn.Conv1d(2, 3, 3, 2, 1), nn.LeakyReLU(0.2), nn.AvgPool1d(2), nn.Flatten(), nn.Linear(27, 2)
        ),
        (2, 36),
    ),
]


@pytest.mark.parametrize("make,shape", PIECEWISE_LINEAR)
@pytest.mark.parametrize("seed", [0, 1])
def test_piecewise_linear_W_is_the_autograd_jacobian(make, shape, seed):
    model = _prep(make(), seed)
    x = _randn(shape, 10 + seed)
    W, _ = _check(model, x)
    assert TOL.ok(W.to_dense(), _jacobian(model, x))


def test_vit_and_patch_vit_blocks_reconstruct():
    block = _prep(duat.ViTBlock(16, 4, 2), 3)
    _check(block, _randn((6, 16), 4))
    net = _prep(nn.Sequential(duat.PatchEmbed(3, 16, 4), duat.ViTBlock(16, 2, 2)), 5)
    _check(net, _randn((3, 8, 8), 6))


def test_layer_records_static_and_dynamic_parts():
    block = _prep(duat.ViTBlock(8, 2, 2), 1)
    d = duat.decompose_layers(block, _randn((5, 8), 2), cumulative=True)
    kinds = {r.path: r for r in d.layers}
    attn = kinds["attn"].factors["attention"]
    assert attn.shape == (2, 5, 5) and TOL.ok(attn.sum(-1), torch.ones(2, 5, dtype=torch.float64))
    assert kinds["attn"].weight_dynamic and not kinds["mlp.0"].weight_dynamic and kinds["mlp.0"].static is not None
    assert kinds["ln1"].weight_dynamic and kinds["ln1"].factors["inv_std"].shape == (5,)
    last = d.layers[-1]
    assert last.kind == "Add" and TOL.ok(last.prefix_W.to_dense(), d.W.to_dense())
    # every step's local map reproduces its own output from its input (independent of the composition)
    x = _randn((5, 8), 2)
    h = block.ln1(x[None])[0].detach()
    r = kinds["ln1"]
    assert _close(r.matrix.to_dense() @ x.reshape(-1) + r.bias, h)


def test_float32_model_is_decomposed_as_its_float64_copy():
    model = duat.init_(nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU()), 0).float().eval()
    d = duat.decompose_layers(model, _randn((2, 5, 5), 1))
    assert d.W.dtype == torch.float64 and d.error <= 1e-12
    assert next(model.parameters()).dtype == torch.float32  # the caller's model is untouched
