"""numerics.duat on models traced with torch.fx: user blocks with their own forward, functional forms, torchvision's
resnet18 and VisionTransformer, a hand-written resnet18, and the errors for what cannot be decomposed.

Tolerance: TOLERANCES["float64_affine"] (atol = rtol = 1e-12) for ``W == J`` (piecewise-linear models, where
``W`` is the Jacobian off the measure-zero boundaries) and ``W x + b == f(x)``: float64 re-associations of sums of
at most ~1e4 O(1) products, ~1e-14; a wrong index or factor gives O(1e-2..1).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from numerics import NumericsError, duat
from tests.numerics.duat.helpers import TOL, check_reconstruction, prep, randn
from tests.numerics.duat.resnets import Block, Functional, ResNet18
from tests.numerics.duat.zoo import torchvision


def jacobian(model, x):
    return torch.autograd.functional.jacobian(lambda v: model(v[None])[0].reshape(-1), x, vectorize=True).reshape(
        -1, x.numel()
    )


def check_jacobian(model, x):
    W, b = check_reconstruction(model, x)
    assert TOL.ok(W.to_dense(), jacobian(model, x))
    return W, b


@pytest.mark.parametrize("cin,cout,stride", [(4, 4, 1), (3, 6, 2)])
def test_user_block_with_its_own_forward(cin, cout, stride):
    block = prep(Block(cin, cout, stride), 1)
    x = randn((cin, 8, 8), 2)
    check_jacobian(block, x)
    d = duat.decompose_layers(block, x, cumulative=True)
    kinds = [(r.path, r.kind) for r in d.layers]
    assert ("add", "Add") in kinds and kinds[-1] == ("relu", "ReLU")
    assert ("downsample.0", "Conv2d") in kinds if stride == 2 else ("downsample.0", "Conv2d") not in kinds
    add = next(r for r in d.layers if r.kind == "Add")
    assert add.matrix is None and add.prefix_W is not None
    assert TOL.ok(d.layers[-1].prefix_W.to_dense(), d.W.to_dense())


def test_functional_forms_and_data_movement():
    model = prep(Functional(), 3)
    x = randn((2, 6, 6), 4)
    W, b = check_jacobian(model, x)
    d = duat.decompose_layers(model, x)
    kinds = {r.kind for r in d.layers}
    assert {"Conv2d", "ReLU", "BatchNorm2d", "MaxPool2d", "AvgPool2d", "Linear", "cat", "getitem", "mul"} <= kinds
    cat = next(r for r in d.layers if r.kind == "cat")
    assert float(cat.bias.abs().sum()) > 0  # the class token lives in the bias


def test_hand_written_resnet18():
    model = prep(ResNet18(num_classes=5, width=8), 5)
    check_jacobian(model, randn((3, 32, 32), 6))


def test_torchvision_resnet18():
    tv = torchvision()
    torch.manual_seed(0)
    model = prep(tv.models.resnet18(num_classes=10), 7)
    x = randn((3, 32, 32), 8)
    W, _ = check_jacobian(model, x)
    assert W.shape == (10, 3 * 32 * 32)


def test_torchvision_vision_transformer():
    tv = torchvision()
    torch.manual_seed(0)
    model = prep(
        tv.models.VisionTransformer(
            image_size=16, patch_size=8, num_layers=1, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=5
        ),
        9,
    )
    x = randn((3, 16, 16), 10)
    check_reconstruction(model, x)  # GELU: the gating decomposition, not J
    d = duat.decompose_layers(model, x)
    kinds = [r.kind for r in d.layers]
    assert "MultiheadAttention" in kinds and "GELU" in kinds and kinds.count("Add") == 2
    with torch.no_grad():
        y = model(x[None])[0]
    assert TOL.ok(torch.sparse.mm(d.W, x.reshape(-1, 1)).reshape(-1) + d.b, y)


class _Sorting(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x):
        y = self.conv(x)
        return torch.sort(y.flatten(1), dim=1).values


class _Branching(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return F.relu(x)
        return x


class _Product(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


def test_unsupported_op_names_the_node_and_source_line():
    import inspect

    line = inspect.getsourcelines(_Sorting.forward)[1] + 2
    with pytest.raises(
        NumericsError,
        match=rf"node 'sort' at test_trace.py:{line}: return torch.sort\(y.flatten"
        rf"\(1\), dim=1\).values: torch.sort is not supported",
    ):
        duat.decompose(prep(_Sorting()), randn((1, 5, 5), 0))
    with pytest.raises(
        NumericsError,
        match=r"node 'mul' .* operator.mul is not supported here: a product .* of two "
        r"input-dependent tensors",
    ):
        duat.decompose(_Product(), randn((4,), 0))


def test_data_dependent_control_flow_is_a_clear_error():
    with pytest.raises(
        NumericsError,
        match=r"torch.fx cannot trace _Branching.forward\(\) \(data-dependent "
        r"control flow",
    ):
        duat.decompose(_Branching(), randn((4,), 0))
    with pytest.raises(NumericsError, match="torch.fx cannot trace"):
        duat.estimate_memory(_Branching(), (4,))


def test_estimate_covers_traced_models():
    model = prep(ResNet18(num_classes=5, width=8), 5)
    est = duat.estimate_memory(model, (3, 32, 32), records=True)
    d = duat.decompose_layers(model, randn((3, 32, 32), 6))
    assert [s.path for s in est.steps] == [r.path for r in d.layers]
    assert [s.out_shape for s in est.steps] == [r.out_shape for r in d.layers]
    assert d.nnz <= est.nnz and est.complete and est.order == d.order == "reverse"
    est = duat.estimate_memory(prep(Functional()), (2, 6, 6))
    assert est.complete and est.output_shape == (3,)


class _Smooth(nn.Module):
    """Functional smooth activations and LayerNorm on tokens: the gating decomposition (f = W x + b, W != J)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.gamma = nn.Parameter(torch.rand(6) + 0.5)
        self.beta = nn.Parameter(torch.randn(6))

    def forward(self, x):
        h = F.layer_norm(x, (6,), self.gamma, self.beta)
        h = F.gelu(self.fc(h), approximate="tanh") + F.silu(h) - torch.tanh(h).mul(0.5)
        return torch.sigmoid(h.transpose(1, 2)).flatten(1) + F.leaky_relu(x.transpose(1, 2), 0.1).flatten(1)


def test_functional_smooth_activations_reconstruct():
    model = prep(_Smooth(), 2)
    d = duat.decompose_layers(model, randn((4, 6), 3))
    assert {"LayerNorm", "GELU", "SiLU", "Tanh", "Sigmoid", "LeakyReLU"} <= {r.kind for r in d.layers}
    check_reconstruction(model, randn((4, 6), 3))


def test_receptive_field_of_a_traced_block_covers_W():
    block = prep(Block(2, 4, 2), 1)
    x = randn((2, 10, 10), 2)
    W, _ = duat.decompose(block, x)
    rf = duat.receptive_field(block, (2, 10, 10))
    support = W.to_dense() != 0
    assert rf.closed_form is None and rf.pattern.shape == tuple(W.shape)
    assert torch.all(torch.from_numpy(rf.pattern.toarray() != 0) | ~support)


class _Tokens(nn.Module):
    """Sequence-first attention inside a block, view/size, stack, pad, chunk-free slicing, a position embedding."""

    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(4, 2)  # batch_first=False: (N, B, D)
        self.pos = nn.Parameter(torch.randn(1, 5, 4))

    def forward(self, x):
        x = x + self.pos
        t = x.transpose(0, 1)
        a = self.attn(t, t, t, need_weights=False)[0].transpose(0, 1)
        y = torch.stack([a, x], dim=1).view(x.size(0), -1)
        return F.pad(y, (1, 2), value=0.5)[:, 2:]


def test_sequence_first_attention_views_stack_and_pad():
    model = prep(_Tokens(), 4)
    W, b = check_reconstruction(model, randn((5, 4), 5))
    assert W.shape == (41, 20) and float(b[-1]) == 0.5  # the padding value lives in b


class _ConstBranch(nn.Module):
    """A leaf applied to a parameter (a constant branch) added to the input: it all lands in b."""

    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.randn(1, 4))
        self.lin, self.fc = nn.Linear(4, 4), nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x + self.lin(self.p))


def test_constant_branches_land_in_b():
    model = prep(_ConstBranch(), 6)
    W, b = check_jacobian(model, randn((4,), 7))
    assert TOL.ok(W.to_dense(), model.fc.weight)
    est = duat.estimate_memory(model, (4,))
    assert est.complete and [s.path for s in est.steps] == ["add", "fc"]
