"""from_torch with skips (``x + f(x)``, ``g(x) + f(x)``): the spec carries ``x`` through the branch as
``(relu(x), relu(-x))`` and adds ``relu(x) - relu(-x)`` back at the join.

Checked against two independent computations: the same model's forward written out in exact ``Fraction``
arithmetic (equal exactly), and torch in float64 (equal within ``float64_affine``). A carry with a wrong sign is
planted in an imported spec to show the exact comparison catches it.
"""

from __future__ import annotations

import random
from fractions import Fraction
from types import SimpleNamespace

import pytest
import torch
from torch import nn

import theory
from numerics import TOLERANCES, NumericsError, from_torch
from numerics.convert import _lower_forms


def _q(t: torch.Tensor):
    return [Fraction(float(v)) for v in t.detach().reshape(-1).tolist()]


def _conv_exact(m: nn.Conv1d, x):
    """Exact Conv1d (groups 1, zero padding) on ``x`` given as ``[channels][positions]`` Fractions."""
    w, b = _q(m.weight), _q(m.bias)
    c_out, c_in, k = m.weight.shape
    (stride,), (pad,), (dil,), n = m.stride, m.padding, m.dilation, len(x[0])
    n_out = (n + 2 * pad - dil * (k - 1) - 1) // stride + 1
    return [
        [
            b[o]
            + sum(
                w[(o * c_in + c) * k + t] * x[c][p * stride - pad + t * dil]
                for c in range(c_in)
                for t in range(k)
                if 0 <= p * stride - pad + t * dil < n
            )
            for p in range(n_out)
        ]
        for o in range(c_out)
    ]


def _linear_exact(m: nn.Linear, x):
    """Exact Linear on the last axis (``x`` a list, or a list of lists as torch's ``(C, n)``)."""
    if isinstance(x[0], list):
        return [_linear_exact(m, row) for row in x]
    w, b = _q(m.weight), _q(m.bias)
    return [b[o] + sum(w[o * m.in_features + i] * x[i] for i in range(m.in_features)) for o in range(m.out_features)]


def _map2(f, a, b):
    return [_map2(f, u, v) for u, v in zip(a, b)] if isinstance(a, list) else f(a, b)


def _relu_exact(x):
    return [_relu_exact(v) for v in x] if isinstance(x, list) else max(x, Fraction(0))


TORCH = SimpleNamespace(
    conv=lambda m, x: m(x),
    linear=lambda m, x: m(x),
    relu=torch.relu,
    add=lambda a, b: a + b,
    sub=lambda a, b: a - b,
    flatten=lambda x: x.flatten(1),
)
EXACT = SimpleNamespace(
    conv=_conv_exact,
    linear=_linear_exact,
    relu=_relu_exact,
    add=lambda a, b: _map2(lambda u, v: u + v, a, b),
    sub=lambda a, b: _map2(lambda u, v: u - v, a, b),
    flatten=lambda x: [v for row in x for v in row],
)


class _Model(nn.Module):
    """``forward`` runs ``body`` with torch operations; the tests run the same ``body`` in exact arithmetic."""

    def forward(self, x):
        return self.body(x, TORCH)


class ResidualEnd(_Model):
    """A residual block that ends the network (no ReLU after the join)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv1d(2, 2, 3, 1, padding=1), nn.Conv1d(2, 2, 3, 1, padding=1)

    def body(self, x, F):
        return F.add(F.conv(self.b, F.relu(F.conv(self.a, x))), x)


class ResidualRelu(_Model):
    """``relu(f(x) + x)``, then a tree layer, Flatten and Linear."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv1d(2, 2, 3, 1, padding=1), nn.Conv1d(2, 2, 3, 1, padding=1)
        self.c, self.fc = nn.Conv1d(2, 3, 2, 2), nn.Linear(12, 2)

    def body(self, x, F):
        y = F.relu(F.add(F.conv(self.b, F.relu(F.conv(self.a, x))), x))
        return F.linear(self.fc, F.flatten(F.relu(F.conv(self.c, y))))


class Projection(_Model):
    """``relu(g(x) + f(x))`` with a strided projection ``g`` on the skip (positions 8 -> 4)."""

    def __init__(self):
        super().__init__()
        self.g, self.f1, self.f2 = nn.Conv1d(2, 3, 2, 2), nn.Conv1d(2, 3, 2, 2), nn.Conv1d(3, 3, 1)
        self.fc = nn.Linear(12, 1)

    def body(self, x, F):
        y = F.relu(F.add(F.conv(self.g, x), F.conv(self.f2, F.relu(F.conv(self.f1, x)))))
        return F.linear(self.fc, F.flatten(y))


class TwoBlocks(_Model):
    """Two blocks in a row, the second one subtracting: ``y = x + f(x)``, ``y - h(y)``."""

    def __init__(self):
        super().__init__()
        self.a1, self.b1 = nn.Conv1d(2, 3, 3, 1, padding=1), nn.Conv1d(3, 2, 1)
        self.a2, self.b2 = nn.Conv1d(2, 2, 1), nn.Conv1d(2, 2, 3, 1, padding=1)

    def body(self, x, F):
        y = F.add(x, F.conv(self.b1, F.relu(F.conv(self.a1, x))))
        return F.sub(y, F.conv(self.b2, F.relu(F.conv(self.a2, y))))


class AfterRelu(_Model):
    """A skip from a ReLU output: ``h = relu(a(x))``, ``h + b(h)``."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv1d(2, 2, 2, 2), nn.Conv1d(2, 2, 1)

    def body(self, x, F):
        h = F.relu(F.conv(self.a, x))
        return F.add(h, F.conv(self.b, h))


class FlatSkip(_Model):
    """A skip around a Linear on the flattened signal."""

    def __init__(self):
        super().__init__()
        self.a, self.fc = nn.Conv1d(2, 2, 2, 2), nn.Linear(8, 8)

    def body(self, x, F):
        z = F.flatten(F.relu(F.conv(self.a, x)))
        return F.relu(F.add(z, F.linear(self.fc, z)))


class LinearInBranch(_Model):
    """A Linear on the positions axis inside the branch, before any Flatten (torch applies it to the last axis)."""

    def __init__(self):
        super().__init__()
        self.a, self.fc = nn.Conv1d(2, 2, 1), nn.Linear(8, 8)

    def body(self, x, F):
        return F.relu(F.add(x, F.linear(self.fc, F.relu(F.conv(self.a, x)))))


MODELS = [ResidualEnd, ResidualRelu, Projection, TwoBlocks, AfterRelu, FlatSkip, LinearInBranch]
SHAPE = (2, 8)


def _make(cls, seed=0):
    torch.manual_seed(seed)
    return cls().double().eval()


def _inputs(seed):
    rng = random.Random(seed)
    return [[Fraction(rng.randint(-1000, 1000), 499) for _ in range(SHAPE[1])] for _ in range(SHAPE[0])]


def _exact_out(m, x):
    """The model's output in exact arithmetic, in the spec's order (position-major for (C, n) outputs)."""
    y = m.body(x, EXACT)
    return [y[c][p] for p in range(len(y[0])) for c in range(len(y))] if isinstance(y[0], list) else y


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_skip_spec_equals_the_exact_forward_exactly(cls):
    m = _make(cls)
    net = from_torch(m, SHAPE)
    for seed in range(3):
        x = _inputs(seed)
        assert list(theory.evaluate_exact(net, x)) == _exact_out(m, x)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_skip_spec_equals_float64_torch_to_rounding(cls):
    m = _make(cls, seed=1)
    net = from_torch(m, SHAPE)
    x = torch.randn(4, *SHAPE, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    with torch.no_grad():
        y = m(x)
    y = y if y.dim() == 2 else y.transpose(1, 2).reshape(4, -1)
    tol = TOLERANCES["float64_affine"]
    for i in range(4):
        exact = theory.evaluate_exact(net, [[Fraction(v) for v in row] for row in x[i].tolist()])
        got = torch.tensor([float(e) for e in exact], dtype=torch.float64)
        assert tol.ok(got, y[i]), (cls.__name__, got, y[i])


def test_a_pointwise_skip_equals_the_folded_layer_exactly():
    """``x + c(x)`` for a 1x1 convolution is one pointwise layer with weight ``I + W``: an explicit spec."""
    torch.manual_seed(3)
    c = nn.Conv1d(2, 2, 1).double()

    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = c

        def forward(self, x):
            return x + self.c(x)

    w, b = _q(c.weight), _q(c.bias)
    folded = theory.Network(
        d=8,
        c_in=2,
        layers=(
            theory.PointwiseLayer(
                theory.SparseArray.from_dense([[w[0] + 1, w[1]], [w[2], w[3] + 1]]),
                theory.SparseArray.from_dense(b),
                relu=False,
            ),
        ),
    )
    net = from_torch(Skip(), SHAPE)
    for seed in range(3):
        x = _inputs(seed)
        assert theory.evaluate_exact(net, x) == theory.evaluate_exact(folded, x)


def _flip_carry_sign(net: theory.Network) -> theory.Network:
    """The spec with the second channel of every carried pair read with the wrong sign at the join (layer 1).

    Layer 0 of ``ResidualEnd`` writes the branch's 8 x 2 = 16 units first, then ``x`` as pairs
    ``(relu(x), relu(-x))``; layer 1 reads ``x = relu(x) - relu(-x)``: this makes it ``relu(x) + relu(-x)``."""
    join = net.layers[1]
    cols = join.weight.keys % (join.weight.shape[2] * join.weight.shape[3])
    vals = [-v if c >= 16 and (c - 16) % 2 else v for v, c in zip(join.weight.values, cols)]
    bad_join = theory.DenseLayer(
        theory.SparseArray(join.weight.shape, join.weight.keys, vals), join.bias, relu=join.relu
    )
    return theory.Network(d=net.d, c_in=net.c_in, layers=(net.layers[0], bad_join))


def test_a_planted_carry_error_is_caught():
    m = _make(ResidualEnd)
    net = from_torch(m, SHAPE)
    assert net.kinds == ("dense", "dense") and net.channels == (2, 16 + 32, 2)
    broken = _flip_carry_sign(net)
    assert list(theory.evaluate_exact(net, _inputs(0))) == _exact_out(m, _inputs(0))
    assert any(list(theory.evaluate_exact(broken, _inputs(s))) != _exact_out(m, _inputs(s)) for s in range(3))


class _Mismatch(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv1d(2, 2, 2, 2)

    def forward(self, x):
        return self.c(x) + x


class _Constant(nn.Module):
    def forward(self, x):
        return torch.relu(x) + 1


class _Product(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv1d(2, 2, 1)

    def forward(self, x):
        return x * self.c(x)


@pytest.mark.parametrize(
    "make, message",
    [
        (_Mismatch, r"node 'add'.*shapes \(2, 4\) and \(2, 8\).*same shape"),
        (_Constant, r"node 'add'.*two traced tensors"),
        (_Product, r"node 'mul'.*sums x \+ f\(x\)"),
    ],
)
def test_skips_that_cannot_be_expressed_name_the_node(make, message):
    with pytest.raises(NumericsError, match=message):
        from_torch(make(), SHAPE)


def test_the_size_of_a_lowered_skip_is_capped(monkeypatch):
    """Carried skips are dense layers; past MAX_TERMS coefficients the import stops with a clear error."""
    monkeypatch.setattr(_lower_forms, "MAX_TERMS", 50)
    with pytest.raises(NumericsError, match="exceed 50 coefficients"):
        from_torch(_make(ResidualEnd), SHAPE)
