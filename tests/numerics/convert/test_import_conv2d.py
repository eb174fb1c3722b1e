"""from_torch / from_onnx of 2-D networks: ``Conv2d`` (any stride, padding, dilation, groups), ``AvgPool2d``,
``Flatten`` + ``Linear`` heads and skips, on inputs ``(c_in, H, W)`` read as a spec of ``d = H W`` positions
``p = h W + w`` with ``c_in`` channels, every 2-D layer dense.

Checked against torch in float64 (within ``float64_affine``: the same products summed in another order), exactly
for dyadic weights whose sums are exact, against ``from_torch`` exactly for ``torch.onnx.export`` files, and a
planted wrong weight is shown to be caught by the same comparison.
"""

from __future__ import annotations

import random
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import theory
from numerics import TOLERANCES, NumericsError, from_onnx, from_torch

TOL = TOLERANCES["float64_affine"]


def _spec_input(x: torch.Tensor):
    """One sample ``(C, H, W)`` as the spec's input, exactly: ``[channel][h W + w]``."""
    return [[Fraction(v) for v in row] for row in x.reshape(x.shape[0], -1).tolist()]


def _flat(y: torch.Tensor) -> torch.Tensor:
    """The module's output in the spec's position-major order."""
    if y.dim() == 4:
        return y.permute(0, 2, 3, 1).reshape(y.shape[0], -1)
    return y if y.dim() == 2 else y.transpose(1, 2).reshape(y.shape[0], -1)


def _close(net: theory.Network, out: torch.Tensor, x: torch.Tensor) -> bool:
    """Whether the exact spec on each sample of ``x`` is within float64_affine of torch's output ``out``."""
    y = _flat(out).tolist()
    for i in range(x.shape[0]):
        exact = theory.evaluate_exact(net, _spec_input(x[i]))
        if len(exact) != len(y[i]) or any(
            abs(float(e) - f) > TOL.atol + TOL.rtol * abs(float(e)) for e, f in zip(exact, y[i])
        ):
            return False
    return True


class _Skip(nn.Module):
    """A stem, a residual block ``relu(x + b(relu(a(x))))`` and a Flatten + Linear head."""

    def __init__(self, c_in, c, h, w, stride, groups):
        super().__init__()
        self.stem = nn.Conv2d(c_in, c, 3, stride, 1)
        self.a = nn.Conv2d(c, c, 3, 1, 1, groups=groups)
        self.b = nn.Conv2d(c, c, 3, 1, padding="same", dilation=2)
        ho, wo = (h - 1) // stride + 1, (w - 1) // stride + 1
        self.head = nn.Linear(c * ho * wo, 3)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = torch.relu(x + self.b(torch.relu(self.a(x))))
        return self.head(torch.flatten(x, 1))


class _Functional(nn.Module):
    """F.conv2d with the module's own weights, F.avg_pool2d, ending on a 2-D output."""

    def __init__(self, c_in, groups):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, c_in // groups, 2, 3))
        self.bias = nn.Parameter(torch.randn(4))
        self.groups = groups
        self.out = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        x = F.relu(F.conv2d(x, self.w, self.bias, stride=(1, 2), padding=1, groups=self.groups))
        x = F.avg_pool2d(x, 2, stride=1, padding=1, count_include_pad=False)
        return self.out(x)


def _model(seed: int):
    """A seeded random 2-D model and its input shape: c_in 1-3, H, W 4-8, stride 1-2, padding 0-1, groups 1-2."""
    rng = random.Random(seed)
    groups = rng.choice([1, 2])
    c_in = 2 if groups == 2 else rng.choice([1, 3])
    h, w, stride = rng.randint(4, 8), rng.randint(4, 8), rng.choice([1, 2])
    torch.manual_seed(seed)
    kind = seed % 3
    if kind == 0:
        conv = nn.Conv2d(c_in, 4, rng.choice([2, 3]), stride, rng.choice([0, 1]), groups=groups)
        feats = nn.Sequential(
            conv, nn.ReLU(), nn.AvgPool2d(2, 1, 1), nn.Conv2d(4, 2, (1, 2), padding=(1, 0)), nn.ReLU(), nn.Flatten()
        )
        m = nn.Sequential(*feats, nn.Linear(feats(torch.zeros(1, c_in, h, w)).numel(), 3), nn.ReLU(), nn.Linear(3, 2))
    elif kind == 1:
        m = _Skip(c_in, 2 * groups, h, w, stride, groups)
    else:
        m = _Functional(c_in, groups)
    return m.double().eval(), (c_in, h, w)


@pytest.mark.parametrize("seed", range(6))
def test_exact_spec_equals_float64_torch_and_a_planted_weight_is_caught(seed):
    m, shape = _model(seed)
    net = from_torch(m, shape)
    assert (net.d, net.c_in) == (shape[1] * shape[2], shape[0]) and set(net.kinds) == {"dense"}
    x = torch.randn((3, *shape), generator=torch.Generator().manual_seed(100 + seed), dtype=torch.float64)
    assert _close(net, m(x), x)
    # one weight of the last layer, on a unit that is nonzero for x[0], made larger by 1: the comparison fails
    last = net.layers[-1]
    if len(net.layers) > 1:
        prefix = theory.Network(d=net.d, c_in=net.c_in, layers=net.layers[:-1], meta={})
        hidden = theory.evaluate_exact(prefix, _spec_input(x[0]))
    else:
        hidden = [v for p in zip(*_spec_input(x[0])) for v in p]
    _, _, q, c = np.unravel_index(last.weight.keys, last.weight.shape)
    live = [i for i in range(len(q)) if hidden[q[i] * last.weight.shape[3] + c[i]] != 0]
    assert live
    values = np.array(last.weight.values, dtype=object)
    values[live[0]] += 1
    wrong = theory.SparseArray(last.weight.shape, last.weight.keys, values)
    planted = theory.Network(
        d=net.d, c_in=net.c_in, layers=(*net.layers[:-1], type(last)(wrong, last.bias, relu=last.relu)), meta={}
    )
    assert not _close(planted, m(x), x)


def test_dyadic_weights_are_equal_exactly():
    """Weights k/8 and inputs k/16 with |k| <= 8: every float64 product and sum is exact, so torch's output is
    the exact value and the spec must equal it, not just be close."""
    torch.manual_seed(0)
    m = nn.Sequential(
        nn.Conv2d(2, 4, 3, 2, 1, groups=2),
        nn.ReLU(),
        nn.AvgPool2d(2, 1, count_include_pad=True),
        nn.Conv2d(4, 3, 2, dilation=(1, 2), padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(3 * 3 * 2, 2),
    )
    m = m.double().eval()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randint(-8, 9, p.shape, dtype=torch.float64) / 8)
    x = torch.randint(-8, 9, (4, 2, 5, 6), dtype=torch.float64) / 16
    net = from_torch(m, (2, 5, 6))
    y = _flat(m(x))
    for i in range(4):
        assert list(theory.evaluate_exact(net, _spec_input(x[i]))) == [Fraction(v) for v in y[i].tolist()]


def test_padding_modes_and_pool_divisors():
    """``"same"`` with an even kernel (the extra zero at the bottom / right), ``divisor_override``, a 2-D output."""
    torch.manual_seed(3)
    m = (
        nn.Sequential(
            nn.Conv2d(1, 2, (2, 4), padding="same"),
            nn.ReLU(),
            nn.AvgPool2d(3, 2, 1, divisor_override=5),
            nn.Conv2d(2, 2, 2, padding="valid"),
        )
        .double()
        .eval()
    )
    x = torch.randn(2, 1, 7, 5, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's note on even kernels with "same"
        assert _close(from_torch(m, (1, 7, 5)), m(x), x)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_torch_onnx_export_of_conv2d_equals_from_torch_exactly(seed, tmp_path):
    onnx = pytest.importorskip("onnx")
    m, shape = _model(seed)
    m = m.float()
    path = tmp_path / "m.onnx"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(m, (torch.randn(1, *shape),), str(path), dynamo=False, input_names=["x"])
    except (ImportError, ModuleNotFoundError) as e:
        pytest.skip(f"torch.onnx.export cannot run here: {e}")
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert {"Conv", ("AveragePool", "Add", "AveragePool")[seed]} <= ops  # seed 1: a skip, "same" as SAME_UPPER
    a, b = from_onnx(path), from_torch(m, shape)
    rng = random.Random(seed)
    for _ in range(3):
        x = [[Fraction(rng.randint(-1000, 1000), 997) for _ in range(shape[1] * shape[2])] for _ in range(shape[0])]
        assert theory.evaluate_exact(a, x) == theory.evaluate_exact(b, x)


class _FunctionalMax(nn.Module):
    def forward(self, x):
        return F.max_pool2d(x, 2, ceil_mode=True)


@pytest.mark.parametrize(
    "make, shape, message",
    [
        (lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2, ceil_mode=True)), (1, 6, 6), r"'1'.*ceil_mode"),
        (lambda: nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool3d(2)), (1, 6, 6), r"'1': got 'MaxPool3d'"),
        (_FunctionalMax, (1, 6, 6), r"max_pool2d.*ceil_mode=True"),
        (lambda: nn.Sequential(nn.Conv2d(1, 2, 3)), (1, 8), r"'0'.*Conv2d.*\(batch, channels, H, W\)"),
        (lambda: nn.Sequential(nn.Conv2d(2, 2, 3)), (1, 6, 6), "'0'.*c_in = 1"),
        (lambda: nn.Sequential(nn.Conv2d(1, 2, 7)), (1, 6, 6), "'0'.*at least one output position"),
        (lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect")), (1, 6, 6), "padding_mode"),
        (lambda: nn.Sequential(nn.AvgPool2d(2, ceil_mode=True)), (1, 5, 5), "ceil_mode"),
        (lambda: nn.Sequential(nn.Conv1d(1, 2, 3)), (1, 6, 6), "'0'.*Conv1d"),
        (lambda: nn.Sequential(nn.Flatten(), nn.Conv2d(1, 2, 3)), (1, 6, 6), "'1'.*Conv2d.*before any Flatten"),
        (lambda: nn.Sequential(nn.Conv2d(1, 2, 3)), (1, 0, 6), "input_shape.*\\(c_in, H, W\\)"),
        (lambda: nn.Sequential(nn.Conv2d(1, 2, 3)), (1, 2, 6, 6), "input_shape"),
    ],
)
def test_unsupported_2d_layers_and_shapes_are_named(make, shape, message):
    with pytest.raises(NumericsError, match=message):
        from_torch(make(), shape)


def test_onnx_max_pool_is_the_exact_max_tree_of_from_torch(tmp_path):
    """A torch.onnx.export of conv + MaxPool2d reads as exactly the same function as from_torch of the module
    (both are exact: equal at rational points, not to rounding); unsupported MaxPool settings are named."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    torch.manual_seed(3)
    m = nn.Sequential(nn.Conv2d(1, 2, 2), nn.MaxPool2d(3, stride=1, padding=1)).float().eval()
    path = tmp_path / "m.onnx"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(m, (torch.randn(1, 1, 5, 5),), str(path), dynamo=False, input_names=["x"])
    except (ImportError, ModuleNotFoundError) as e:
        pytest.skip(f"torch.onnx.export cannot run here: {e}")
    assert "MaxPool" in {n.op_type for n in onnx.load(str(path)).graph.node}
    a, b = from_onnx(path), from_torch(m, (1, 5, 5))
    rng = random.Random(0)
    for _ in range(3):
        x = [[Fraction(rng.randint(-1000, 1000), 997) for _ in range(25)]]
        assert theory.evaluate_exact(a, x) == theory.evaluate_exact(b, x)

    w = numpy_helper.from_array(np.ones((1, 1, 2, 2), np.float32), "w")
    for attrs, message in [({"ceil_mode": 1}, "floor mode"), ({"pads": [1, 0, 0, 0]}, "both ends")]:
        nodes = [
            helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
            helper.make_node("MaxPool", ["c"], ["y"], name="pool", kernel_shape=[2, 2], **attrs),
        ]
        graph = helper.make_graph(
            nodes,
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 5, 5])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, "h", "w"])],
            [w],
        )
        bad_path = tmp_path / "bad.onnx"
        onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(bad_path))
        with pytest.raises(NumericsError, match=rf"node 'pool' \(MaxPool\).*{message}"):
            from_onnx(bad_path)


@pytest.mark.parametrize("auto", ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"])
def test_onnx_conv2d_auto_pad_and_average_pool_against_torch(auto, tmp_path):
    """A hand-written graph: a strided 2-D Conv with each ``auto_pad`` (odd total padding: SAME_UPPER puts the
    extra zero at the end, SAME_LOWER at the start), then an AveragePool that does not count the padding; checked
    against torch in float64 with the padding written out by ``F.pad``."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    w, b = rng.standard_normal((3, 2, 2, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    conv = {"auto_pad": auto} if auto != "NOTSET" else {"pads": [1, 0, 0, 2]}
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", strides=[2, 2], **conv),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node(
            "AveragePool", ["r"], ["y"], name="pool", kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=0
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, None, None])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    path = tmp_path / "m.onnx"
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    net = from_onnx(path)
    # (left, right, top, bottom) for F.pad; SAME: ceil(5 / 2) = ceil(6 / 2) = 3 outputs, a total of 1 zero per axis
    pads = {"NOTSET": (0, 2, 1, 0), "SAME_UPPER": (0, 1, 0, 1), "SAME_LOWER": (1, 0, 1, 0), "VALID": (0, 0, 0, 0)}[auto]
    x = torch.randn(3, 2, 5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    wt, bt = torch.from_numpy(w).double(), torch.from_numpy(b).double()
    y = F.avg_pool2d(torch.relu(F.conv2d(F.pad(x, pads), wt, bt, stride=2)), 3, 1, 1, count_include_pad=False)
    assert _close(net, y, x)
