"""numerics.duat.layers: each leaf module's matrix-vector form against torch, the conv matrix (M1) against
F.conv2d, and the errors for unsupported modules and bad input.

Tolerance: TOLERANCES["float64_affine"] (see tests/numerics/duat/helpers.py).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from numerics import NumericsError, duat
from tests.numerics.duat.helpers import check_reconstruction as _check
from tests.numerics.duat.helpers import close as _close
from tests.numerics.duat.helpers import prep as _prep
from tests.numerics.duat.helpers import randn as _randn


@settings(max_examples=25)
@given(
    cin_g=st.integers(1, 3),
    cout_g=st.integers(1, 3),
    groups=st.integers(1, 2),
    kh=st.integers(1, 3),
    kw=st.integers(1, 3),
    sh=st.integers(1, 3),
    sw=st.integers(1, 2),
    ph=st.integers(0, 2),
    pw=st.integers(0, 2),
    dh=st.integers(1, 2),
    dw=st.integers(1, 2),
    h=st.integers(4, 9),
    w=st.integers(4, 9),
    seed=st.integers(0, 99),
)
def test_conv2d_matrix_matches_torch(cin_g, cout_g, groups, kh, kw, sh, sw, ph, pw, dh, dw, h, w, seed):
    cin, cout = cin_g * groups, cout_g * groups
    k = _randn((cout, cin_g, kh, kw), seed)
    x = _randn((cin, h, w), seed + 1)
    if (h + 2 * ph - dh * (kh - 1) - 1) < 0 or (w + 2 * pw - dw * (kw - 1) - 1) < 0:
        with pytest.raises(NumericsError):
            duat.conv_matrix(k, (cin, h, w), (sh, sw), (ph, pw), (dh, dw), groups)
        return
    M = duat.conv_matrix(k, (cin, h, w), (sh, sw), (ph, pw), (dh, dw), groups)
    y = F.conv2d(x[None], k, None, (sh, sw), (ph, pw), (dh, dw), groups)
    assert M.shape == (y.numel(), x.numel())
    assert _close(torch.sparse.mm(M, x.reshape(-1, 1)), y)


@settings(max_examples=20)
@given(
    cin=st.integers(1, 4),
    cout=st.integers(1, 4),
    k=st.integers(1, 4),
    s=st.integers(1, 3),
    p=st.integers(0, 3),
    d=st.integers(1, 3),
    length=st.integers(8, 16),
    seed=st.integers(0, 99),
    bias=st.booleans(),
)
def test_conv1d_module_matches_torch(cin, cout, k, s, p, d, length, seed, bias):
    conv = _prep(nn.Conv1d(cin, cout, k, s, p, d, bias=bias), seed)
    x = _randn((cin, length), seed + 1)
    if d * (k - 1) + 1 > length + 2 * p:
        with pytest.raises(NumericsError, match="Conv1d rejected a per-sample input"):
            duat.decompose(conv, x)
        return
    _check(conv, x)


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on asymmetric 'same' padding
@pytest.mark.parametrize("padding", ["same", "valid", (2, 1)])
def test_conv_string_and_tuple_padding(padding):
    conv = _prep(nn.Conv2d(2, 3, (4, 3), padding=padding, dilation=(1, 2)))
    _check(conv, _randn((2, 7, 8), 3))


LAYERS = [
    (lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=True), (2, 7, 6)),
    (lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 7, 6)),
    (lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=True), (2, 8, 7)),
    (lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 8, 7)),
    (lambda: nn.AvgPool2d((2, 3), (1, 2), divisor_override=5), (2, 6, 7)),
    (lambda: nn.AvgPool1d(3, 2, 1, ceil_mode=True, count_include_pad=False), (3, 10)),
    (lambda: nn.AdaptiveAvgPool2d(1), (3, 5, 6)),
    (lambda: nn.AdaptiveAvgPool2d((2, 4)), (3, 5, 7)),
    (lambda: nn.AdaptiveAvgPool1d(3), (2, 8)),
    (lambda: nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True), (2, 9, 8)),
    (lambda: nn.MaxPool1d(2), (3, 9)),
    (nn.ReLU, (3, 4, 4)),
    (lambda: nn.LeakyReLU(0.1), (3, 4, 4)),
    (nn.GELU, (5, 6)),
    (lambda: nn.GELU("tanh"), (5, 6)),
    (nn.SiLU, (5, 6)),
    (nn.Sigmoid, (5, 6)),
    (nn.Tanh, (5, 6)),
    (lambda: nn.BatchNorm2d(3), (3, 4, 5)),
    (lambda: nn.BatchNorm1d(4), (4, 6)),
    (lambda: nn.BatchNorm1d(4), (4,)),
    (lambda: nn.LayerNorm(6), (5, 6)),
    (lambda: nn.LayerNorm(6, elementwise_affine=False), (2, 3, 6)),
    (lambda: nn.Linear(6, 4), (5, 6)),
    (lambda: nn.Linear(6, 4, bias=False), (6,)),
    (nn.Flatten, (2, 3, 4)),
    (nn.Identity, (3, 4)),
    (lambda: nn.Dropout(0.5), (3, 4)),
    (lambda: duat.PatchEmbed(3, 8, 4), (3, 8, 12)),
    (lambda: nn.MultiheadAttention(8, 2, batch_first=True), (5, 8)),
    (lambda: nn.MultiheadAttention(8, 4, bias=False), (5, 8)),
]


@pytest.mark.parametrize("make,shape", LAYERS, ids=lambda v: repr(v) if isinstance(v, tuple) else "")
def test_each_layer_matches_torch(make, shape):
    model = _prep(make(), 7)
    x = _randn(shape, 8)
    if isinstance(model, nn.MultiheadAttention):
        W, b = duat.decompose(model, x)
        xb = x[None] if model.batch_first else x[:, None]
        y = model(xb, xb, xb, need_weights=False)[0].detach()
        assert _close(torch.sparse.mm(W, x.reshape(-1, 1)).reshape(-1) + b, y)
    else:
        _check(model, x)


def test_sigmoid_tanh_gate_takes_the_limit_at_zero():
    x = torch.tensor([[0.0, 1.0, -2.0, 0.0]], dtype=torch.float64)
    for act, slope, const in ((nn.Sigmoid(), 0.25, 0.5), (nn.Tanh(), 1.0, 0.0)):
        d = duat.decompose_layers(act, x)
        gate = d.layers[0].factors["gate"].reshape(-1)
        assert gate[0] == slope and gate[3] == slope  # exact limit sigma'(0), no 0/0
        assert torch.all(d.b == const)
        assert _close(d.W.to_dense() @ x.reshape(-1) + d.b, act(x).reshape(-1))


def test_maxpool_selection_is_one_hot_and_locally_constant():
    pool = nn.MaxPool2d(2)
    x = _randn((2, 6, 6), 5)
    W1, _ = duat.decompose(pool, x)
    dense = W1.to_dense()
    assert torch.all(dense.sum(1) == 1) and torch.all((dense == 0) | (dense == 1))
    W2, _ = duat.decompose(pool, x + 1e-9 * _randn((2, 6, 6), 6))
    assert torch.equal(W2.to_dense(), dense)


class _SortingConv(nn.Conv2d):
    """A subclass is traced through its own forward (here: an unsupported op after the conv)."""

    def forward(self, x):
        return torch.sort(super().forward(x), dim=-1).values


@pytest.mark.parametrize(
    "model,x,match",
    [
        (
            nn.Sequential(nn.Conv2d(1, 1, 1), nn.Sequential(nn.ReLU(), nn.Conv3d(1, 1, 1))),
            (1, 3, 3),
            r"1\.1: nn\.Conv3d is not supported; supported: .*nn\.Conv2d",
        ),
        (
            nn.Sequential(_SortingConv(1, 1, 1)),
            (1, 3, 3),
            r"node 'sort' in '0' at test_layers.py:\d+: .*torch.sort.* "
            r"is not supported",
        ),
        (nn.Sequential(nn.BatchNorm2d(1).train()), (1, 3, 3), r"0: BatchNorm2d in train mode"),
        (nn.Sequential(nn.Dropout(0.3).train()), (4,), r"Dropout\(p=0.3\) in train mode"),
        (nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect"), (1, 4, 4), r"padding_mode='reflect'"),
        (nn.GELU(approximate="none"), (float("nan"),), r"argument 'x'.*finite"),
        (nn.LayerNorm((2, 3)), (2, 3), r"normalisation over the last dimension only"),
        (nn.MultiheadAttention(4, 2, add_bias_kv=True), (3, 4), r"add_bias_kv"),
        (nn.MultiheadAttention(4, 2, kdim=3, vdim=3), (3, 4), r"kdim/vdim"),
        (nn.Linear(3, 2), (4,), r"Linear\(3, \.\.\.\) got input of shape \(4,\)"),
    ],
)
def test_unsupported_and_bad_input_raise_clear_errors(model, x, match):
    model = model.double()
    if not isinstance(model, nn.BatchNorm2d) and not any(
        m.training and isinstance(m, (nn.BatchNorm2d, nn.Dropout)) for m in model.modules()
    ):
        model.eval()
    sample = torch.tensor(x, dtype=torch.float64) if isinstance(x[0], float) else _randn(x, 0)
    with pytest.raises(NumericsError, match=match):
        duat.decompose(model, sample)


@pytest.mark.parametrize(
    "kwargs,arg",
    [
        (dict(weight=torch.zeros(2, 3, 3), input_shape=(2, 8)), "groups"),
        (dict(weight=torch.zeros(2, 1, 3), input_shape=(2, 8), groups=2, stride=0), "stride"),
        (dict(weight=torch.zeros(2, 1, 3, 3), input_shape=(1, 8)), "input_shape"),
        (dict(weight=torch.zeros(2, 1, 5, 5), input_shape=(1, 3, 3)), "input_shape"),
        (dict(weight=torch.zeros(2, 1, 3, 3), input_shape=(1, 5, 5), padding=-1), "padding"),
        (dict(weight=torch.zeros(2, 1, 3, 3), input_shape=(1, 5, 5), dilation=(1, 0)), "dilation"),
        (dict(weight=torch.zeros(2), input_shape=(1, 5)), "weight"),
    ],
)
def test_conv_matrix_argument_table(kwargs, arg):
    with pytest.raises(NumericsError, match=f"argument '{arg}'"):
        duat.conv_matrix(**kwargs)
