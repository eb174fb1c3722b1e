"""ONNX export (numerics.export_onnx): onnxruntime runs the file and agrees with the torch SpecModule.

Two independent float evaluations of the same correctly rounded weights: torch (``SpecModule``) and
onnxruntime on the exported graph, on seeded random inputs in [-1, 1], in float64 and float32, for each way
conv layers are written (``Conv`` in float32, a per-position ``MatMul`` in both dtypes).

Which cases are bitwise, and why:

* routing networks (``select``, ``gather`` and their LCN / FCN counterparts): bit-for-bit equal
  (``torch.equal``). Every weight is +-1 or 0 and every bias 0, so each output is one input plus exact zeros and
  sign changes, whatever the summation order (tolerance ``routing_exact``).
* networks with a head (``approximate_sparse`` with a product head, ``tree_sum`` with a rational two-layer
  head, and their LCN / FCN counterparts): not always bitwise. onnxruntime's kernels sum each dot product in
  their own order, not torch's, so roundings differ. Measured with onnxruntime 1.32 and torch on x86-64 CPU, inputs in
  [-1, 1], d = 16, 256 rows: max |difference| 2.2e-16 = 2^-52 in float64 (1 ulp of 1) and 2.4e-7 = 2^-22 in
  float32 (2 ulps of 1); a few cases (the FCN tree_sum in float32) were bitwise. A two-channel network with all
  four layer kinds (outputs <= 1/3): 6.9e-18 in float64, 3.0e-8 in float32. Asserted within
  ``onnx_reordering_float64`` / ``onnx_reordering_float32`` (2^-48 / 2^-18, absolute: 16x the measured value).
"""

from __future__ import annotations

import math
import os
import random
from fractions import Fraction

import pytest
import torch

import numerics
import theory
from numerics import TOLERANCES, NumericsError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

D = 16
ROUTING = {"select": lambda: theory.select(D, [0, 15]), "gather": lambda: theory.gather(D)}
HEADS = {
    "approximate_sparse": lambda: theory.approximate_sparse(D, [0, 9], "x0*x1", (-1, 1), Fraction(1, 100)),
    "tree_sum": lambda: theory.tree_sum(
        D,
        2,
        theory.TwoLayerHead(
            [[Fraction(1, 3), Fraction(-1, 10)], [Fraction(2, 7), 0]],
            [Fraction(1, 5), Fraction(-1, 3)],
            [[Fraction(3, 11), Fraction(-5, 13)]],
            [Fraction(1, 9)],
        ),
    ),
}
ARCHS = {"cnn": lambda net: net, "lcn": theory.to_lcn, "fcn": theory.to_fcn}
FORMS = [
    (torch.float64, "auto"),
    (torch.float64, "matmul"),
    (torch.float32, "auto"),
    (torch.float32, "conv"),
    (torch.float32, "matmul"),
]
REORDERING = {
    torch.float64: TOLERANCES["onnx_reordering_float64"],
    torch.float32: TOLERANCES["onnx_reordering_float32"],
}


def _run(path, x: torch.Tensor) -> torch.Tensor:
    session = ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(["y"], {"x": x.numpy()})[0])


def _inputs(net: theory.Network, dtype: torch.dtype, seed: int = 0, rows: int = 256) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = 2 * torch.rand(rows, net.c_in, net.d, generator=g, dtype=torch.float64) - 1
    return (x[:, 0] if net.c_in == 1 else x).to(dtype)


def _both(net, dtype, conv, tmp_path):
    path = numerics.export_onnx(net, tmp_path / "net.onnx", dtype=dtype, conv=conv)
    x = _inputs(net, dtype)
    return _run(path, x), numerics.to_module(net, dtype)(x)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("name", ROUTING)
@pytest.mark.parametrize("dtype,conv", FORMS)
def test_routing_is_bitwise(name, arch, dtype, conv, tmp_path):
    net = ARCHS[arch](ROUTING[name]())
    got, want = _both(net, dtype, conv, tmp_path)
    assert got.dtype == want.dtype and got.shape == want.shape == (256, net.n_outputs)
    assert torch.equal(got, want) and TOLERANCES["routing_exact"].ok(got, want)


@pytest.mark.parametrize("architecture", ["lcn", "fcn"])
@pytest.mark.parametrize("dtype,conv", FORMS)
def test_select_built_as_lcn_fcn_is_bitwise(architecture, dtype, conv, tmp_path):
    net = theory.select(D, [0, 15], architecture=architecture)
    got, want = _both(net, dtype, conv, tmp_path)
    assert got.shape == want.shape == (256, 2)
    assert torch.equal(got, want) and TOLERANCES["routing_exact"].ok(got, want)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("name", HEADS)
@pytest.mark.parametrize("dtype,conv", FORMS)
def test_heads_agree_up_to_summation_order(name, arch, dtype, conv, tmp_path):
    net = ARCHS[arch](HEADS[name]())
    got, want = _both(net, dtype, conv, tmp_path)
    assert got.dtype == want.dtype and got.shape == want.shape == (256, net.n_outputs)
    assert REORDERING[dtype].ok(got, want), (got - want).abs().max()  # tolerance "onnx_reordering_<dtype>"


def test_module_input_and_metadata(tmp_path):
    net = theory.select(D, [0, 15])
    module = numerics.to_module(net, torch.float64)
    path = numerics.export_onnx(module, tmp_path / "m.onnx")  # dtype None: the module's own
    model = onnx.load(os.fspath(path))
    props = {p.key: p.value for p in model.metadata_props}
    assert props == {"format": "cnnverify.onnx", "version": "1", "content_hash": net.content_hash, "dtype": "float64"}
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert not any(node.op_type == "Conv" for node in model.graph.node)  # float64 auto: MatMul form
    x = _inputs(net, torch.float64)
    assert torch.equal(_run(path, x), module(x))
    spec_path = numerics.export_onnx(net, tmp_path / "s.onnx")  # a spec defaults to float32, with Conv
    model = onnx.load(os.fspath(spec_path))
    assert {p.key: p.value for p in model.metadata_props}["dtype"] == "float32"
    assert any(node.op_type == "Conv" for node in model.graph.node)


def _mixed_network() -> theory.Network:
    """All four layer kinds, two input channels (input ``(batch, 2, 8)``), non-dyadic weights in [-1/2, 1/2]."""
    rng = random.Random(1)

    def arr(*shape):
        n = math.prod(shape)
        flat = [Fraction(rng.randint(-3, 3), rng.choice((6, 7, 9))) if rng.random() < 0.7 else 0 for _ in range(n)]
        return theory.SparseArray.from_coo(shape, [_unravel(i, shape) for i in range(n)], flat)

    layers = (
        theory.ConvLayer(arr(3, 2, 2), arr(3)),
        theory.LocalLayer(arr(2, 2, 3, 2), arr(2, 2), relu=False),
        theory.PointwiseLayer(arr(2, 2), arr(2)),
        theory.DenseLayer(arr(1, 2, 2, 2), arr(1, 2), relu=False),
    )
    return theory.Network(d=8, c_in=2, layers=layers)


def _unravel(i: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    out = []
    for s in reversed(shape):
        i, r = divmod(i, s)
        out.append(r)
    return tuple(reversed(out))


@pytest.mark.parametrize("dtype,conv", FORMS)
def test_multichannel_all_layer_kinds(dtype, conv, tmp_path):
    """Input ``(batch, c_in, d)`` and every layer kind in one net; not a routing net, so up to summation order."""
    net = _mixed_network()
    assert net.c_in == 2 and {layer.kind for layer in net.layers} == {"conv", "local", "pointwise", "dense"}
    got, want = _both(net, dtype, conv, tmp_path)
    assert got.shape == want.shape == (256, net.n_outputs)
    assert REORDERING[dtype].ok(got, want), (got - want).abs().max()  # tolerance "onnx_reordering_<dtype>"


def test_existing_path_needs_force(tmp_path):
    net = theory.select(D, [0, 15])
    p = tmp_path / "net.onnx"
    p.write_bytes(b"old")
    with pytest.raises(NumericsError, match="exists"):
        numerics.export_onnx(net, p)
    assert p.read_bytes() == b"old"
    numerics.export_onnx(net, p, force=True)
    assert {q.key: q.value for q in onnx.load(os.fspath(p)).metadata_props}["content_hash"] == net.content_hash
    assert sorted(x.name for x in tmp_path.iterdir()) == ["net.onnx"]  # no temporary file left


def test_unwritable_path(tmp_path):
    net = theory.select(D, [0, 15])
    (tmp_path / "afile").write_bytes(b"")
    with pytest.raises(NumericsError, match="is a file"):
        numerics.export_onnx(net, tmp_path / "afile" / "net.onnx")
    with pytest.raises(NumericsError, match="directory is in the way"):
        numerics.export_onnx(net, tmp_path, force=True)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["afile"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(NumericsError, match="'path'"):
            numerics.export_onnx(theory.select(D, [0, 15]), locked / "net.onnx")
    finally:
        locked.chmod(0o700)


BAD = [
    ({"spec_or_module": "not a net"}, "spec_or_module"),
    ({"spec_or_module": torch.nn.Sequential(torch.nn.ReLU())}, "spec_or_module"),
    ({"path": 3}, "path"),
    ({"dtype": torch.float16}, "dtype"),
    ({"dtype": "float128"}, "dtype"),
    ({"opset": 12}, "opset"),
    ({"opset": True}, "opset"),
    ({"opset": 10_000}, "opset"),
    ({"conv": "im2col"}, "conv"),
]


@pytest.mark.parametrize("kwargs,arg", BAD, ids=[f"{a}-{i}" for i, (_, a) in enumerate(BAD)])
def test_bad_arguments(kwargs, arg, tmp_path):
    call = {"spec_or_module": theory.select(D, [0, 15]), "path": tmp_path / "net.onnx", **kwargs}
    with pytest.raises(NumericsError, match=f"'{arg}'"):
        numerics.export_onnx(call.pop("spec_or_module"), call.pop("path"), **call)
    assert not (tmp_path / "net.onnx").exists()


def test_module_dtype_must_match(tmp_path):
    module = numerics.to_module(theory.select(D, [0, 15]), torch.float32)
    with pytest.raises(NumericsError, match="module's own dtype"):
        numerics.export_onnx(module, tmp_path / "net.onnx", dtype=torch.float64)


def test_missing_onnx_names_the_extra(tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    with pytest.raises(NumericsError, match=r"pip install 'cnnverify\[onnx\]'"):
        numerics.export_onnx(theory.select(D, [0, 15]), tmp_path / "net.onnx")
