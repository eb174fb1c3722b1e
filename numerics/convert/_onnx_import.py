"""ONNX files in: a feed-forward ReLU network stored as ONNX becomes an exact spec, losslessly.

The file is checked before anything else: its size against ``max_bytes`` (before reading), then protobuf parsing
and ``onnx.checker.check_model``; its sha256 is recorded in the spec's ``meta``. Nothing from the file is run:
the graph is read node by node and each node is lowered by :mod:`numerics.convert._lower`, the code
:func:`numerics.from_torch` uses (no onnxruntime). Initializers are read exactly (float16 / float32 / float64
are dyadic rationals).

Accepted nodes (default ONNX domain): ``Conv`` (1-D: kernel = stride without padding is a tree layer; other
strides, pads, dilations and groups are lowered to a dense layer; 2-D: always a dense layer on the signal of
``H W`` positions ``h W + w``), ``AveragePool`` (2-D, floor mode: exact means), ``MaxPool`` (1-D, 2-D, floor
mode, symmetric pads, no indices: an exact ReLU max tree), ``Gemm`` (``transA = 0``), ``MatMul`` with a
constant right factor, ``Add`` / ``Sub`` with a constant or of two tensors of one shape (skips), ``Relu``, ``Clip`` (constant min and
max, as ``a + relu(x - a) - relu(x - b)``),
``Reshape``, ``Transpose``, ``Flatten`` (axis 1), ``Identity``, ``Dropout`` (inference), ``Constant``: what
:func:`numerics.export_onnx` writes and what ``torch.onnx.export`` writes for ``Conv1d`` / ``Linear`` / ``ReLU``
/ ``Flatten`` networks. Anything else is an error naming the node (name and op type).

Shapes: the graph's one input is ``(batch, d)``, ``(batch, c_in, d)`` or ``(batch, c_in, H, W)`` (a spec of
``d = H W`` positions); its one output is ``(batch, features)``, ``(batch, channels, positions)`` or
``(batch, channels, H, W)``, compared position-major (as :func:`numerics.from_torch` does). Layers built
from matrix products are dense on the signal; :func:`recover` writes them as pointwise, conv or locally connected
layers wherever their weights have that structure, so an exported tree network comes back as tree layers.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

import theory
from theory.cli import MEMORY_BUDGET

from .._errors import NumericsError, bad
from ._import_layers import _clip
from ._lower import Lowering
from ._lower_2d import conv2d
from ._lower_forms import Sym
from ._lower_layers import conv_layer, exact_dense
from ._onnx_attributes import attributes, exact_scale, int_list
from ._onnx_pools import pool

DEFAULT_MAX_BYTES = 1 << 30
"""Largest ONNX file read by default (1 GiB; one protobuf holds < 2 GiB): checked before reading."""

_SUPPORTED = (
    "Conv (1-D, 2-D), AveragePool (2-D), MaxPool (1-D, 2-D), Gemm, MatMul with a constant right factor, Add / Sub with a "
    "constant or of two tensors of one shape, Relu, Clip (both bounds), Reshape, Transpose, Flatten (axis 1), Identity, "
    "Dropout, Constant"
)
_AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")
_FLOAT_TYPES = {1: "float32", 10: "float16", 11: "float64"}


def _onnx() -> Any:
    try:
        import onnx
        import onnx.checker
        import onnx.helper
        import onnx.numpy_helper
    except ImportError:
        raise NumericsError("from_onnx needs the optional extra: pip install 'cnnverify[onnx]'") from None
    return onnx


def _read(path: Any, max_bytes: int) -> tuple[bytes, Path]:
    if not isinstance(path, (str, os.PathLike)):
        raise bad("path", path, "a path (str or os.PathLike) to an .onnx file")
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 1:
        raise bad("max_bytes", max_bytes, "a positive int")
    p = Path(path)
    if not p.is_file():
        raise bad("path", os.fspath(path), "an existing ONNX file")
    size = p.stat().st_size
    if size > max_bytes:
        raise bad("path", os.fspath(path), f"a file of at most max_bytes = {max_bytes} bytes (it has {size})")
    with open(p, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise bad("path", os.fspath(path), f"a file of at most max_bytes = {max_bytes} bytes (it grew while read)")
    theory.io.note_read(p, data)
    return data, p


def _model(onnx: Any, data: bytes, path: Path) -> Any:
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as e:  # noqa: BLE001 (protobuf raises DecodeError and RuntimeWarning-like errors)
        raise NumericsError(f"from_onnx: {path} is not an ONNX model (protobuf parsing failed: {e})") from None
    # before the checker, which would look for external files named in the model
    if len(model.graph.sparse_initializer):
        raise NumericsError(
            f"from_onnx: {path} holds sparse initializers ({model.graph.sparse_initializer[0].values.name!r}); "
            "allowed: dense initializers"
        )
    tensors = list(model.graph.initializer)
    for i, node in enumerate(model.graph.node):
        for a in node.attribute:
            if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                raise NumericsError(
                    f"from_onnx: node {node.name or f'#{i}'!r} ({node.op_type}) holds a subgraph; "
                    "allowed: a flat graph of the supported nodes"
                )
            tensors += [a.t] if a.type == onnx.AttributeProto.TENSOR else list(a.tensors)
    for t in tensors:
        if t.data_location == onnx.TensorProto.EXTERNAL or t.external_data:
            raise NumericsError(
                f"from_onnx: tensor {t.name!r} is stored in an external file; allowed: weights "
                "inside the .onnx file (onnx.save_model(..., save_as_external_data=False))"
            )
    try:
        onnx.checker.check_model(model)
    except Exception as e:  # noqa: BLE001 (onnx.checker.ValidationError and protobuf errors)
        raise NumericsError(f"from_onnx: {path} fails onnx.checker: {str(e).splitlines()[0][:300]}") from None
    return model


class _Graph:
    """The tensors of one graph: traced ones (:class:`Sym`) and constants (numpy arrays)."""

    def __init__(self, onnx: Any, model: Any):
        self.onnx, self.graph = onnx, model.graph
        self.consts = {t.name: onnx.numpy_helper.to_array(t) for t in self.graph.initializer}
        self.env: dict[str, Sym] = {}
        self.lo: Lowering | None = None  # whose memory guard sizes a constant before it becomes exact

    def sym(self, name: str, where: str) -> Sym:
        if name not in self.env:
            raise bad(where, f"input {name!r}", "a tensor computed from the graph input by supported nodes")
        return self.env[name]

    def const(self, name: str, where: str) -> np.ndarray:
        if name not in self.consts:
            raise bad(where, f"input {name!r}", "a constant (an initializer or a Constant node)")
        if self.lo is not None:
            self.lo.guard(int(self.consts[name].size), where, f"the exact values of constant {name!r}")
        return self.consts[name]


def _conv(lo: Lowering, g: _Graph, node: Any, a: dict[str, Any], where: str) -> Sym:
    v, w = g.sym(node.input[0], where), g.const(node.input[1], where)
    b = g.const(node.input[2], where) if len(node.input) > 2 and node.input[2] else None
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if w.ndim == 4 and len(v.shape) == 3 and auto in _AUTO_PADS and len(a.get("kernel_shape", w.shape[2:])) == 2:
        stride, dil = int_list(a, "strides", [1, 1], 1, where), int_list(a, "dilations", [1, 1], 1, where)
        pads = int_list(a, "pads", [0] * 4, 0, where)
        if auto != "NOTSET":  # ONNX: SAME_* keeps ceil(n / stride) positions, the odd zero at the end (UPPER)
            for i, n in enumerate(v.shape[1:]):
                total = max((-(-n // stride[i]) - 1) * stride[i] + dil[i] * (w.shape[2 + i] - 1) + 1 - n, 0)
                first = total // 2 if auto == "SAME_UPPER" else total - total // 2
                pads[i], pads[i + 2] = (first, total - first) if auto != "VALID" else (0, 0)
        return conv2d(lo, v, w, b, stride=stride, pads=pads, dilation=dil, groups=a.get("group", 1), where=where)
    if w.ndim != 3 or auto != "NOTSET" or len(a.get("kernel_shape", [w.shape[-1]])) != 1:
        raise bad(
            where,
            f"a Conv with weight {w.shape} and auto_pad {auto!r} on a signal of shape {v.shape}",
            "a 1-D Conv with explicit pads, or a 2-D Conv on a (batch, channels, H, W) signal",
        )
    (step,), (spread,) = int_list(a, "strides", [1], 1, where), int_list(a, "dilations", [1], 1, where)
    left, right = int_list(a, "pads", [0, 0], 0, where)
    return lo.tree(
        v,
        lambda c, n: conv_layer(
            w,
            b,
            c,
            n,
            stride=step,
            pads=(left, right),
            dilation=spread,
            groups=a.get("group", 1),
            where=where,
            guard=lo.guard,
        )[0],
        where,
    )


def _gemm(lo: Lowering, g: _Graph, node: Any, a: dict[str, Any], where: str) -> Sym:
    v, m = g.sym(node.input[0], where), g.const(node.input[1], where)
    if a.get("transA", 0) or v.index.ndim != 2 or m.ndim != 2:
        raise bad(where, f"a Gemm of a {v.shape} signal, transA = {a.get('transA', 0)}", "A (batch, K), transA = 0")
    m = exact_dense(m.T if a.get("transB", 0) else m, where) * exact_scale(a, "alpha", where)
    v = lo.matmul(v, m, where)
    if len(node.input) > 2 and node.input[2]:
        v = lo.add_const(v, exact_dense(g.const(node.input[2], where), where) * exact_scale(a, "beta", where), where)
    return v


def _sum(lo: Lowering, g: _Graph, node: Any, where: str) -> Sym:
    sign = 1 if node.op_type == "Add" else -1
    x, y = node.input
    if x in g.env and y in g.env:
        return lo.add(g.env[x], g.env[y], sign, where)
    if x in g.env:
        return lo.add_const(g.env[x], sign * exact_dense(g.const(y, where), where), where)
    if sign == 1:
        return lo.add_const(g.sym(y, where), exact_dense(g.const(x, where), where), where)
    raise bad(where, "a constant minus a tensor", "tensor - constant, tensor - tensor")


def _node(lo: Lowering, g: _Graph, node: Any, where: str) -> Sym | None:
    """Lower one node; returns its output tensor (None for a ``Constant``, recorded among the constants)."""
    onnx, op, a = g.onnx, node.op_type, attributes(g.onnx, node)
    if node.domain not in ("", "ai.onnx"):
        raise NumericsError(
            f"from_onnx: {where} is in domain {node.domain!r}; allowed: the default ONNX domain with {_SUPPORTED}"
        )
    if op == "Constant":
        if "value" in a:
            g.consts[node.output[0]] = onnx.numpy_helper.to_array(a["value"])
        elif a.keys() & {"value_float", "value_floats", "value_int", "value_ints"}:
            g.consts[node.output[0]] = np.asarray(next(iter(a.values())))
        else:
            raise bad(where, sorted(a), "a Constant with value, value_float(s) or value_int(s)")
        return None
    if op == "Conv":
        return _conv(lo, g, node, a, where)
    if op in ("AveragePool", "MaxPool", "GlobalMaxPool"):
        return pool(lo, g, node, a, where)
    if op == "Gemm":
        return _gemm(lo, g, node, a, where)
    if op == "MatMul":
        return lo.matmul(g.sym(node.input[0], where), exact_dense(g.const(node.input[1], where), where), where)
    if op in ("Add", "Sub"):
        return _sum(lo, g, node, where)
    if op == "Relu":
        return lo.relu(g.sym(node.input[0], where))
    if op == "Clip":  # opset >= 11: the bounds are the optional inputs 1 and 2, constants here
        names = [*node.input[1:3], "", ""][:2]
        bounds = [exact_dense(g.const(n, where).reshape(-1), where) if n else None for n in names]
        low, high = bounds
        if low is None or high is None or low.size != 1 or high.size != 1:
            raise bad(where, "a Clip without two scalar bounds", "Clip with a constant min and max (one: use Relu)")
        return _clip(lo, g.sym(node.input[0], where), low[0], high[0], where)
    if op == "Reshape":
        if a.get("allowzero", 0):
            raise bad(where, "allowzero = 1", "allowzero = 0 (0 copies a dimension)")
        return lo.reshape(g.sym(node.input[0], where), g.const(node.input[1], where).reshape(-1).tolist(), where)
    if op == "Transpose":
        v = g.sym(node.input[0], where)
        return lo.transpose(v, list(a.get("perm", range(v.index.ndim - 1, -1, -1))), where)
    if op == "Flatten":
        return lo.flatten(g.sym(node.input[0], where), a.get("axis", 1), where)
    if op == "Identity" or op == "Dropout":
        if op == "Dropout" and len(node.input) > 2 and node.input[2] and g.const(node.input[2], where).any():
            raise bad(where, "training_mode = true", "Dropout in inference mode")
        return g.sym(node.input[0], where)
    raise NumericsError(f"from_onnx: {where} is not supported; allowed: {_SUPPORTED}")


def _input_shape(g: _Graph) -> tuple[str, tuple[int, ...]]:
    inputs = [i for i in g.graph.input if i.name not in g.consts]
    if len(inputs) != 1 or len(g.graph.output) != 1:
        raise NumericsError(
            f"from_onnx: the graph has {len(inputs)} inputs and {len(g.graph.output)} outputs; "
            "allowed: one input (batch, d) or (batch, c_in, d) and one output"
        )
    t = inputs[0].type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    if t.elem_type not in _FLOAT_TYPES or len(dims) not in (2, 3, 4) or any(not d for d in dims[1:]):
        raise NumericsError(
            f"from_onnx: input {inputs[0].name!r} has type {t.elem_type} and shape {dims}; allowed: "
            "float16/32/64, (batch, d), (batch, c_in, d) or (batch, c_in, H, W) with fixed sizes"
        )
    return inputs[0].name, tuple(d for d in dims[1:] if d is not None)  # all are: checked just above


def from_onnx(
    path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES, memory_budget: int = MEMORY_BUDGET
) -> theory.Network:
    """An exact spec computing exactly what the ONNX graph computes in exact arithmetic (module docstring).

    Args:
        path: an ``.onnx`` file with its weights inside (no external data).
        max_bytes: the largest file read; checked against the file's size before reading it.
        memory_budget: bytes the import may take, estimated from the declared shapes before each operation is
            built (default 4 GiB); a larger estimate is refused.
    Returns:
        A :class:`theory.Network` with ``meta = {"construction": "from_onnx", "source": <file name>,
        "sha256": <of the file's bytes>, "producer": <producer_name>}`` (and ``"exported_from"``, the content
        hash :func:`numerics.export_onnx` wrote, where present).
    Raises:
        NumericsError: the onnx package is missing; the file is absent, too large, not ONNX, fails
            ``onnx.checker`` or keeps weights outside; a node that cannot be represented (named, with its op
            type); a shape that does not fit; non-finite weights.
    """
    data, p = _read(path, max_bytes)
    onnx = _onnx()
    model = _model(onnx, data, p)
    g = _Graph(onnx, model)
    name, shape = _input_shape(g)
    lo = g.lo = Lowering(shape, recover=True, memory_budget=memory_budget)
    nodes = list(g.graph.node)
    out = g.graph.output[0].name
    last: dict[str, int] = {out: len(nodes)}
    for i, node in enumerate(nodes):
        for x in node.input:
            last[x] = max(last.get(x, -1), i)
    g.env[name] = lo.input()
    for i, node in enumerate(nodes):
        where = f"node {node.name or f'#{i}'!r} ({node.op_type})"
        lo.keep = [v for n, v in g.env.items() if last.get(n, -1) > i]
        v = _node(lo, g, node, where)
        if v is not None:
            g.env[node.output[0]] = v
        for n in [n for n in g.env if last.get(n, -1) <= i]:
            del g.env[n]
    if out not in g.env:
        raise NumericsError(f"from_onnx: the output {out!r} is not computed from the input by supported nodes")
    props = {q.key: q.value for q in model.metadata_props}
    meta = {
        "construction": "from_onnx",
        "source": p.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "producer": model.producer_name[:200],
    }
    if props.get("format") == "cnnverify.onnx" and len(props.get("content_hash", "")) <= 128:
        meta["exported_from"] = props["content_hash"]
    return lo.finish(g.env[out], meta, "from_onnx: ", "the graph has no Conv, MatMul or Gemm node")
