"""Imports sized before they allocate, and malformed-but-legal ONNX read into clear errors.

Every refusal is a NumericsError naming what was estimated or which attribute is wrong, in milliseconds; no
MemoryError, ZeroDivisionError, OverflowError or unpacking error escapes.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numerics


@pytest.mark.parametrize(
    "module, shape, match",
    [
        (torch.nn.Sequential(torch.nn.Linear(4, 2)), (10**12,), "memory_budget"),
        (torch.nn.Sequential(torch.nn.Conv2d(32, 32, 3, padding=1)), (32, 128, 128), "memory_budget"),
        (torch.nn.Sequential(torch.nn.Conv1d(1, 2, 2, stride=2)), (True, 4), "positive int sizes"),
        (torch.nn.Sequential(torch.nn.Conv1d(1, 2, 2, stride=2)), (1, 0), "positive int sizes"),
    ],
)
def test_from_torch_refuses_before_allocating(module, shape, match):
    t0 = time.perf_counter()
    with pytest.raises(numerics.NumericsError, match=match):
        numerics.from_torch(module, shape)
    assert time.perf_counter() - t0 < 5  # a refusal from the shapes, not after filling memory (generous bound)


def test_a_padded_conv1d_is_built_by_its_nonzeros():
    """Once built through a dense (n, c, n, c) float array: 429 GiB at 60,000 positions. Now by its nonzeros."""
    conv = torch.nn.Conv1d(2, 3, 3, padding=1).double()
    net = numerics.from_torch(torch.nn.Sequential(conv), (2, 2000))
    assert net.nonzeros <= 2000 * 3 * 2 * 3 + 2000 * 3
    x = torch.linspace(-1, 1, 4000, dtype=torch.float64).reshape(1, 2, 2000)
    got = numerics.to_module(net, torch.float64)(x)
    assert torch.allclose(got.reshape(-1), conv(x).transpose(1, 2).reshape(-1), atol=1e-12)  # float64 rounding


def test_the_budget_is_an_argument():
    with pytest.raises(numerics.NumericsError, match="memory_budget 1 KiB"):
        numerics.from_torch(torch.nn.Sequential(torch.nn.Linear(64, 64)), (64,), memory_budget=1024)


# ------------------------------------------------------------------------------------------------ ONNX
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _write(tmp_path, nodes, inits, shape, name="m.onnx", sparse=()):
    out = [1, 2, "n"] if len(shape) == 3 else [1, 2]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out)],
        inits,
        sparse_initializer=list(sparse),
    )
    path = tmp_path / name
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    return path


def _conv1d(tmp_path, **attrs):
    w = numpy_helper.from_array(np.ones((2, 1, 3), np.float32), "w")
    return _write(tmp_path, [helper.make_node("Conv", ["x", "w"], ["y"], name="c", **attrs)], [w], [1, 1, 16])


@pytest.mark.parametrize(
    "attrs, match",
    [({"strides": [0]}, "strides"), ({"pads": [1, 1, 1]}, "pads"), ({"dilations": [-1]}, "dilations")],
)
def test_malformed_conv_attributes_are_clear_errors(tmp_path, attrs, match):
    with pytest.raises(numerics.NumericsError, match=match):
        numerics.from_onnx(_conv1d(tmp_path, **attrs))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.integers(-2, 4), min_size=1, max_size=4),
    st.lists(st.integers(-2, 4), min_size=1, max_size=4),
    st.lists(st.integers(-2, 4), min_size=1, max_size=4),
)
def test_any_conv_attributes_give_a_network_or_a_clear_error(tmp_path, strides, pads, dilations):
    path = _conv1d(tmp_path, strides=strides, pads=pads, dilations=dilations)
    try:
        net = numerics.from_onnx(path)
    except numerics.NumericsError:
        return
    assert net.n_outputs >= 1


@pytest.mark.parametrize("alpha", [float("inf"), float("nan")])
def test_a_gemm_scale_without_an_exact_value_is_refused(tmp_path, alpha):
    w = numpy_helper.from_array(np.ones((2, 4), np.float32), "w")
    node = helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1, alpha=alpha)
    with pytest.raises(numerics.NumericsError, match="alpha"):
        numerics.from_onnx(_write(tmp_path, [node], [w], [1, 4]))


def test_sparse_initializers_and_huge_declared_inputs_are_refused(tmp_path):
    values = numpy_helper.from_array(np.ones(2, np.float32), "w")
    sparse = helper.make_sparse_tensor(values, numpy_helper.from_array(np.array([0, 5], np.int64), "i"), [2, 4])
    node = helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)
    with pytest.raises(numerics.NumericsError, match="sparse initializers"):
        numerics.from_onnx(_write(tmp_path, [node], [], [1, 4], sparse=[sparse]))
    w = numpy_helper.from_array(np.ones((2, 4), np.float32), "w")
    with pytest.raises(numerics.NumericsError, match="memory_budget"):
        numerics.from_onnx(_write(tmp_path, [node], [w], [1, 2**30], name="big.onnx"))


def test_a_large_onnx_constant_is_sized_before_it_becomes_exact(tmp_path):
    """A Gemm of 2048 x 2048 floats: 16 MB in the file, about 670 MB as exact rationals; under a 64 MiB budget
    it is refused before any of them is built."""
    w = numpy_helper.from_array(np.full((2048, 2048), 0.5, np.float32), "w")
    node = helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)
    path = _write(tmp_path, [node], [w], [1, 2048])
    t0 = time.perf_counter()
    with pytest.raises(numerics.NumericsError, match="constant 'w'"):
        numerics.from_onnx(path, memory_budget=64 << 20)
    assert time.perf_counter() - t0 < 5


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(st.integers(-2, 2**70), st.booleans(), st.floats(allow_nan=True), st.just(np.int64(8))),
        min_size=0,
        max_size=4,
    )
)
def test_any_declared_shape_gives_a_network_or_a_clear_error(shape):
    module = torch.nn.Sequential(torch.nn.Conv1d(1, 2, 2, stride=2))
    t0 = time.perf_counter()
    try:
        net = numerics.from_torch(module, tuple(shape))
    except numerics.NumericsError:
        pass
    else:
        assert net.d >= 1
    assert time.perf_counter() - t0 < 5  # refused from the shape, never by filling memory first
