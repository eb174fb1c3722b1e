"""from_torch: torch modules read into exact specs, losslessly; checked against torch and exact arithmetic."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from torch import nn

import numerics
import theory
from numerics import TOLERANCES, NumericsError, from_torch, to_module

SPECS = {
    "select": theory.select(64, [0, 63]),
    "gather": theory.gather(16, 2),
    "product head": theory.approximate_sparse(16, [0, 15], "x0*x1", (-1, 1), Fraction(1, 50)),
    "lcn": theory.select(16, [0, 15], 2, architecture="lcn"),
    "fcn": theory.select(16, [0, 15], 2, architecture="fcn"),
}


def _x(shape, seed, dtype=torch.float64):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("name", SPECS)
def test_to_module_round_trip_is_bit_exact(name, dtype):
    """``to_module(from_torch(m))`` has the same layers and weights as ``m``, so it computes the same bits."""
    net = SPECS[name]
    m = to_module(net, dtype)
    back = from_torch(m, (net.d,))
    m2 = to_module(back, dtype)
    assert [type(a) for a in m.layers] == [type(b) for b in m2.layers] and m.relu == m2.relu
    assert all(torch.equal(p, q) for p, q in zip(m.parameters(), m2.parameters()))
    x = _x((8, net.d), 0, dtype)
    assert torch.equal(m(x), m2(x))


def test_float64_weights_of_a_rational_spec_come_back_as_their_binary_values():
    net = SPECS["product head"]
    back = from_torch(to_module(net, torch.float64), (net.d,))
    for a, b in zip(net.layers, back.layers):
        for exact, read in ((a.weight, b.weight), (a.bias, b.bias)):
            assert exact.shape == read.shape and list(exact.keys) == list(read.keys)
            assert all(Fraction(float(v)) == w for v, w in zip(exact.values, read.values))


def _user_net(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(1, 4, 2, 2),
        nn.ReLU(),
        nn.Conv1d(4, 4, 2, 2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(16, 3),
        nn.ReLU(),
        nn.Linear(3, 1),
    )


class _Block(nn.Module):
    """A user's module with its own forward: a padded stride-1 convolution (lowered to a dense layer)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 3, 3, 1, padding=1)
        self.fc = nn.Linear(3 * 8, 2)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))


class _Strided(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 4, 3, 2, padding=2, dilation=2, groups=2)

    def forward(self, x):
        return nn.functional.relu(self.conv(x))


MODELS = {
    "sequential": (lambda: _user_net(0), (1, 16)),
    "custom forward": (lambda: (torch.manual_seed(1), _Block())[1], (2, 8)),
    "strided grouped dilated": (lambda: (torch.manual_seed(2), _Strided())[1], (2, 9)),
    "linear first": (
        lambda: (torch.manual_seed(3), nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 1)))[1],
        (5,),
    ),
}


def _torch_out(m, x):
    y = m(x)
    return y if y.dim() == 2 else y.transpose(1, 2).reshape(y.shape[0], -1)


@pytest.mark.parametrize("name", MODELS)
def test_exact_spec_equals_the_float64_module_to_rounding(name):
    """Independent computations: exact Fraction evaluation of the imported spec vs the torch module in float64;
    they differ only by the module's float64 rounding (float64_affine)."""
    make, shape = MODELS[name]
    m = make().double().eval()
    net = from_torch(m, shape)
    x = _x((3, *shape), 4)
    y = _torch_out(m, x)
    tol = TOLERANCES["float64_affine"]
    for i in range(3):
        exact = theory.evaluate_exact(
            net,
            [[Fraction(v) for v in row] for row in x[i].tolist()]
            if len(shape) == 2
            else [Fraction(v) for v in x[i].tolist()],
        )
        for e, f in zip(exact, y[i].tolist()):
            assert abs(float(e) - f) <= tol.atol + tol.rtol * abs(float(e)), (name, float(e), f)
    assert torch.allclose(_torch_out(to_module(net), x), y, atol=tol.atol, rtol=tol.rtol)


def test_conv_only_user_models_round_trip_bit_exact_in_float32():
    """Convolution layers map to the same Conv1d, so the float32 result is the same bits (a Linear after Flatten
    is evaluated position-major by DenseOnSignal, a different summation order: not bitwise, see the module)."""
    torch.manual_seed(5)
    m = nn.Sequential(nn.Conv1d(2, 4, 2, 2), nn.ReLU(), nn.Conv1d(4, 3, 4, 4), nn.ReLU(), nn.Conv1d(3, 1, 1))
    x = _x((6, 2, 32), 6, torch.float32)
    assert torch.equal(to_module(from_torch(m, (2, 32)), torch.float32)(x), _torch_out(m, x))


def test_an_imported_network_is_certified():
    """A user's float network, imported, gets a sound sup-norm certificate against a target."""
    torch.manual_seed(7)
    m = nn.Sequential(nn.Conv1d(1, 2, 2, 2), nn.ReLU(), nn.Conv1d(2, 1, 2, 2))
    net = from_torch(m, (1, 4))
    cert = theory.certify_sup_error(net, target="(x0 + x1 + x2 + x3)/4", box=(-1, 1), time_limit_s=10)
    assert cert.status == "proved" and cert.lower <= cert.upper
    w = dict(cert.witness)
    xw = torch.tensor([[[float(w[f"x{i}"]) for i in range(4)]]], dtype=torch.float64)
    assert (
        abs(float(m.double()(xw).detach()) - float(sum(w[f"x{i}"] for i in range(4)) / 4)) <= float(cert.upper) + 1e-12
    )


@pytest.mark.parametrize(
    "make, shape, message",
    [
        (lambda: nn.Sequential(nn.Conv1d(1, 2, 2, 2), nn.Tanh()), (1, 8), "'1': got 'Tanh'"),
        (lambda: nn.Sequential(nn.Conv2d(1, 2, 2)), (1, 8), "Conv2d"),
        (lambda: nn.Sequential(nn.Flatten(), nn.Conv1d(1, 2, 2, 2)), (1, 8), "after Flatten"),
        (lambda: nn.Sequential(nn.Linear(7, 2)), (8,), "in_features = 8"),
        (lambda: nn.Sequential(nn.Conv1d(3, 2, 2, 2)), (1, 8), "in_channels 1"),
        (lambda: nn.Sequential(nn.Identity()), (1, 8), "at least one Conv1d or Linear"),
        (lambda: nn.Sequential(nn.Conv1d(1, 1, 1)), (1, 2, 8, 8), "input_shape"),  # (1, 2, 8): 2-D now
        (lambda: nn.Sequential(nn.Dropout(0.5)), (1, 8), "Dropout"),
    ],
)
def test_unrepresentable_layers_are_named(make, shape, message):
    with pytest.raises(NumericsError, match=message.replace("(", r"\(")):
        from_torch(make(), shape)


def test_mismatched_skips_and_nonfinite_weights_are_errors():
    """Skips are imported (tests/numerics/convert/test_import_skips.py); a sum of two shapes is not."""

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv1d(1, 1, 2, 2)

        def forward(self, x):
            return x + self.c(x)

    with pytest.raises(NumericsError, match=r"node 'add'.*same shape"):
        from_torch(Residual(), (1, 8))
    m = nn.Sequential(nn.Conv1d(1, 1, 2, 2))
    with torch.no_grad():
        m[0].weight[0, 0, 0] = float("nan")
    with pytest.raises(NumericsError, match="nan or inf"):
        from_torch(m, (1, 8))
    with pytest.raises(NumericsError, match="torch.nn.Module"):
        from_torch("not a module", (1, 8))


def test_exported_numerics_face():
    assert numerics.from_torch is from_torch
