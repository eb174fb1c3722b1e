"""from_onnx: ONNX files read into exact specs, losslessly; checked by exact evaluation against the original.

* ``export_onnx(spec) -> from_onnx``: for specs whose weights are dyadic (routing, and routing composed with
  Yarotsky heads), every weight is a float32 and a float64 exactly, so the imported spec computes exactly the
  original function: ``theory.evaluate_exact`` agrees in ``Fraction`` arithmetic on random rational inputs. Other
  specs (a rational head) are compared with ``from_torch`` of the same float module, again exactly.
* ``torch.onnx.export`` (the TorchScript exporter, ``dynamo=False``) of small Conv1d / Linear / ReLU / Flatten
  models, a residual block included: ``from_onnx`` equals ``from_torch`` of the same model exactly.
* Bad files: oversized (refused before reading), truncated, corrupted, unsupported nodes, external weights.
"""

from __future__ import annotations

import hashlib
import random
import sys
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch
from torch import nn

import numerics
import theory
from numerics import NumericsError, from_onnx, from_torch, to_module

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402 (after the skip: onnx is an optional extra)

D = 16
DYADIC = {
    "select": lambda: theory.select(D, [0, 15]),
    "gather": lambda: theory.gather(D),
    "compose": lambda: theory.compose(theory.select(D, [3, 12]), theory.product_head(3)),
    "approximate_sparse": lambda: theory.approximate_sparse(D, [0, 9], "x0*x1", (-1, 1), Fraction(1, 100)),
}
FORMS = [(torch.float64, "matmul"), (torch.float64, "conv"), (torch.float32, "conv"), (torch.float32, "matmul")]


def _x(shape, seed):
    rng = random.Random(seed)
    if len(shape) == 1:
        return [Fraction(rng.randint(-1000, 1000), 997) for _ in range(shape[0])]
    return [[Fraction(rng.randint(-1000, 1000), 997) for _ in range(shape[1])] for _ in range(shape[0])]


def _same(a: theory.Network, b: theory.Network, shape, seeds=range(4)) -> bool:
    return all(theory.evaluate_exact(a, _x(shape, s)) == theory.evaluate_exact(b, _x(shape, s)) for s in seeds)


def _dyadic(net: theory.Network) -> bool:
    return all(
        v.denominator & (v.denominator - 1) == 0
        for layer in net.layers
        for a in (layer.weight, layer.bias)
        for v in a.values
    )


@pytest.mark.parametrize("dtype,conv", FORMS, ids=lambda f: str(f))
@pytest.mark.parametrize("name", DYADIC)
def test_export_then_import_is_the_original_function_exactly(name, dtype, conv, tmp_path):
    net = DYADIC[name]()
    assert _dyadic(net)  # so every weight is a float32 and a float64 exactly
    back = from_onnx(numerics.export_onnx(net, tmp_path / "n.onnx", dtype=dtype, conv=conv))
    assert (back.d, back.c_in, back.n_outputs) == (net.d, net.c_in, net.n_outputs)
    assert _same(back, net, (D,))
    assert back.kinds == net.kinds  # one spec layer per exported layer, its tree structure found again


@pytest.mark.parametrize("arch", ["lcn", "fcn"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_lcn_and_fcn_exports_come_back_exactly(arch, dtype, tmp_path):
    net = (theory.to_lcn if arch == "lcn" else theory.to_fcn)(theory.select(D, [0, 15]))
    back = from_onnx(numerics.export_onnx(net, tmp_path / "n.onnx", dtype=dtype))
    assert _same(back, net, (D,))


@pytest.mark.parametrize("dtype,conv", [(torch.float64, "matmul"), (torch.float32, "conv")])
def test_untied_and_dense_layers_keep_their_kind(dtype, conv, tmp_path):
    """Weights that differ per position stay a locally connected layer; a dense layer with no tree structure
    stays dense (dyadic random weights, so float32 holds them exactly)."""
    rng = np.random.default_rng(0)

    def arr(*shape):
        return theory.SparseArray.from_dense(rng.integers(-8, 9, size=shape).astype(object) * Fraction(1, 8))

    net = theory.Network(
        d=8,
        c_in=2,
        layers=(
            theory.LocalLayer(arr(4, 3, 2, 2), arr(4, 3), relu=True),
            theory.DenseLayer(arr(2, 3, 4, 3), arr(2, 3), relu=True),
            theory.ConvLayer(arr(1, 3, 2), arr(1), relu=False),
        ),
    )
    back = from_onnx(numerics.export_onnx(net, tmp_path / "n.onnx", dtype=dtype, conv=conv))
    assert back.kinds == ("local", "dense", "conv")
    assert _same(back, net, (2, 8))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_a_rational_head_comes_back_as_its_float_weights(dtype, tmp_path):
    """1/3 is no float: the file holds its rounding, and from_onnx reads exactly that (as from_torch does)."""
    net = theory.tree_sum(
        D,
        2,
        theory.TwoLayerHead(
            [[Fraction(1, 3), Fraction(-1, 10)], [Fraction(2, 7), 0]],
            [Fraction(1, 5), Fraction(-1, 3)],
            [[Fraction(3, 11), Fraction(-5, 13)]],
            [Fraction(1, 9)],
        ),
    )
    m = to_module(net, dtype)
    back = from_onnx(numerics.export_onnx(m, tmp_path / "n.onnx"))
    assert _same(back, from_torch(m, (D,)), (D,))
    assert not _same(back, net, (D,), seeds=[0])


def test_float16_weights_are_read_exactly(tmp_path):
    """Initializers of every float width are dyadic rationals: read as their exact binary values."""
    w = np.array([[0.1, -0.3, 2.0, 0.0], [1 / 3, 0.7, -1e-3, 5.0]], dtype=np.float16)
    b = np.array([0.2, -0.6], dtype=np.float16)
    f = TensorProto.FLOAT16
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc", transB=1)],
        "g",
        [helper.make_tensor_value_info("x", f, ["batch", 4])],
        [helper.make_tensor_value_info("y", f, ["batch", 2])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    path = tmp_path / "h.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    net = from_onnx(path)
    x = _x((4,), 0)
    want = [sum(Fraction(float(w[o, i])) * x[i] for i in range(4)) + Fraction(float(b[o])) for o in range(2)]
    assert list(theory.evaluate_exact(net, x)) == want
    assert Fraction(float(w[0, 0])) != Fraction(1, 10)  # the float16 value, not the decimal it was written as


def test_meta_records_the_file(tmp_path):
    net = theory.select(D, [0, 15])
    path = numerics.export_onnx(net, tmp_path / "sel.onnx")
    back = from_onnx(path)
    assert back.meta["construction"] == "from_onnx" and back.meta["source"] == "sel.onnx"
    assert back.meta["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert back.meta["exported_from"] == net.content_hash and back.meta["producer"] == "cnnverify"


def test_nothing_from_the_file_is_run(tmp_path, monkeypatch):
    """Import needs no runtime: with onnxruntime made unimportable it still works."""
    path = numerics.export_onnx(theory.gather(D), tmp_path / "g.onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert _same(from_onnx(path), theory.gather(D), (D,))


# ---------------------------------------------------------------- torch.onnx.export
class _Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv1d(2, 2, 3, 1, padding=1), nn.Conv1d(2, 2, 3, 1, padding=1)
        self.c, self.fc = nn.Conv1d(2, 3, 2, 2), nn.Linear(12, 2)

    def forward(self, x):
        y = torch.relu(self.b(torch.relu(self.a(x))) + x)
        return self.fc(torch.relu(self.c(y)).flatten(1))


class _PerPosition(nn.Module):
    """A Linear on the last (positions) axis of (batch, channels, positions): exported as MatMul + Add."""

    def __init__(self):
        super().__init__()
        self.c, self.fc = nn.Conv1d(1, 3, 2, 2), nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(torch.relu(self.c(x)))


TORCH_MODELS = {
    "conv chain": (
        lambda: nn.Sequential(
            nn.Conv1d(2, 4, 2, 2),
            nn.ReLU(),
            nn.Conv1d(4, 4, 3, 1, padding=1),
            nn.ReLU(),
            nn.Conv1d(4, 4, 3, 2, padding=2, dilation=2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(8, 3),
            nn.ReLU(),
            nn.Linear(3, 1),
        ),
        (2, 8),
    ),
    "linear": (lambda: nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2)), (5,)),
    "residual": (_Residual, (2, 8)),
    "matmul + add": (_PerPosition, (1, 8)),
}


def _torch_export(m, shape, path, dynamic):
    kwargs = {"dynamic_axes": {"x": {0: "batch"}}} if dynamic else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(m, (torch.randn(1, *shape),), str(path), dynamo=False, input_names=["x"], **kwargs)
    except (ImportError, ModuleNotFoundError) as e:  # the TorchScript exporter needs no extra package today
        pytest.skip(f"torch.onnx.export cannot run here: {e}")
    return path


@pytest.mark.parametrize("dynamic", [False, True], ids=["batch 1", "dynamic batch"])
@pytest.mark.parametrize("name", TORCH_MODELS)
def test_torch_onnx_export_imports_as_from_torch(name, dynamic, tmp_path):
    make, shape = TORCH_MODELS[name]
    torch.manual_seed(5)
    m = make().eval()
    path = _torch_export(m, shape, tmp_path / "m.onnx", dynamic)
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert {"residual": "Add", "matmul + add": "MatMul", "linear": "Gemm", "conv chain": "Conv"}[name] in ops
    assert _same(from_onnx(path), from_torch(m, shape), shape)


# ---------------------------------------------------------------- bad files
def _graph_file(path, nodes, inits=(), out_shape=("batch", 4), in_shape=("batch", 4)):
    f = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", f, list(in_shape))],
        [helper.make_tensor_value_info("y", f, list(out_shape))],
        list(inits),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path.write_bytes(model.SerializeToString())
    return path


def _w(name, rows, cols, value=0.5):
    return numpy_helper.from_array(np.full((rows, cols), value, dtype=np.float32), name)


def test_an_unsupported_node_is_named(tmp_path):
    path = _graph_file(
        tmp_path / "s.onnx",
        [
            helper.make_node("Gemm", ["x", "w"], ["h"], name="fc", transB=1),
            helper.make_node("Sigmoid", ["h"], ["y"], name="squash"),
        ],
        [_w("w", 4, 4)],
    )
    with pytest.raises(NumericsError, match=r"node 'squash' \(Sigmoid\) is not supported; allowed: Conv"):
        from_onnx(path)


def test_a_sum_of_two_shapes_names_the_add_node(tmp_path):
    path = _graph_file(
        tmp_path / "a.onnx",
        [
            helper.make_node("Gemm", ["x", "w"], ["h"], name="fc", transB=1),
            helper.make_node("Add", ["h", "x"], ["y"], name="join"),
        ],
        [_w("w", 2, 4)],
        out_shape=("batch", 2),
    )
    with pytest.raises(NumericsError, match=r"node 'join' \(Add\).*shapes \(2,\) and \(4,\)"):
        from_onnx(path)


def test_nonfinite_weights_are_refused(tmp_path):
    path = _graph_file(
        tmp_path / "n.onnx",
        [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)],
        [_w("w", 4, 4, float("nan"))],
    )
    with pytest.raises(NumericsError, match="nan or inf"):
        from_onnx(path)


def test_an_oversized_file_is_refused_before_reading(tmp_path, monkeypatch):
    from numerics.convert import _onnx_import

    path = numerics.export_onnx(theory.select(D, [0, 15]), tmp_path / "n.onnx")

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was opened")

    monkeypatch.setattr(_onnx_import, "open", no_reading, raising=False)
    with pytest.raises(NumericsError, match=r"at most max_bytes = 100 bytes \(it has \d+\)"):
        from_onnx(path, max_bytes=100)


def test_truncated_and_corrupted_files_are_clear_errors(tmp_path):
    data = numerics.export_onnx(theory.select(D, [0, 15]), tmp_path / "n.onnx").read_bytes()
    (tmp_path / "t.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(NumericsError, match=r"is not an ONNX model|fails onnx.checker"):
        from_onnx(tmp_path / "t.onnx")
    (tmp_path / "c.onnx").write_bytes(bytes(b ^ 0x5A for b in data[:64]) + data[64:])
    with pytest.raises(NumericsError, match=r"is not an ONNX model|fails onnx.checker"):
        from_onnx(tmp_path / "c.onnx")
    (tmp_path / "e.onnx").write_bytes(b"")
    with pytest.raises(NumericsError, match=r"fails onnx.checker|is not an ONNX model"):
        from_onnx(tmp_path / "e.onnx")


def test_external_weights_are_refused(tmp_path):
    model = onnx.load(str(numerics.export_onnx(theory.select(D, [0, 15]), tmp_path / "n.onnx")))
    onnx.save_model(
        model,
        str(tmp_path / "x.onnx"),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="x.data",
        size_threshold=0,
    )
    with pytest.raises(NumericsError, match="external file"):
        from_onnx(tmp_path / "x.onnx")


@pytest.mark.parametrize(
    "path, kwargs, message",
    [
        (42, {}, "argument 'path'"),
        ("no/such/file.onnx", {}, "an existing ONNX file"),
        ("n.onnx", {"max_bytes": 0}, "argument 'max_bytes'"),
        ("n.onnx", {"max_bytes": True}, "argument 'max_bytes'"),
    ],
)
def test_bad_arguments(path, kwargs, message, tmp_path, monkeypatch):
    numerics.export_onnx(theory.select(D, [0, 15]), tmp_path / "n.onnx")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NumericsError, match=message):
        from_onnx(path, **kwargs)


def test_exported_faces():
    assert numerics.from_onnx is from_onnx is numerics.convert.from_onnx
