"""ONNX export: a spec's float module as an ONNX graph, built node by node with ``onnx.helper``.

The graph is written directly (not traced by ``torch.onnx.export``, whose output changes with torch versions),
from the tensors of :func:`to_module`, so the file computes with exactly the correctly rounded weights the
torch module uses. Every layer has kernel = stride and no padding, so each maps to a few standard operators:

* conv / pointwise (``Conv1d``): ``Conv`` (kernel = stride, no padding), or, where ``conv="matmul"`` (the
  default in float64: onnxruntime's CPU provider has no float64 ``Conv`` kernel), the same map as one matrix
  product per position: ``(B, c_in, n s) -> (B, n, c_in s) @ W (c_in s, c_out) + b -> (B, c_out, n)``;
* locally connected (ONNX has no such operator): ``(B, c_in, n s) -> (n, B, c_in s)``, a batched ``MatMul``
  with the ``(n, c_in s, c_out)`` initializer, ``+ b`` and back to ``(B, c_out, n)``;
* dense on the signal: ``(B, c_in, n_in) -> (B, n_in c_in)`` position-major, ``Gemm`` with ``transB = 1``,
  ``-> (B, n_out, c_out) -> (B, c_out, n_out)``;
* ``Relu`` after each layer whose spec says so; the output ``(B, n_D C_D)`` is flattened position-major, as
  :class:`SpecModule` and :func:`theory.evaluate_exact` do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

import theory
from theory.cli import MEMORY_BUDGET

from .._errors import NumericsError, bad, theory_errors
from ._module import (
    DenseOnSignal,
    LocallyConnected1d,
    SpecModule,
    resolve_dtype,
    to_module,
)

ONNX_FORMAT = "cnnverify.onnx"
ONNX_VERSION = "1"
DEFAULT_OPSET = 17
MIN_OPSET = 13  # Reshape, Transpose, MatMul, Gemm, Conv, Add and Relu all have their current form from 13 or 14
CONV_FORMS = ("auto", "conv", "matmul")
_PROTOBUF_LIMIT = 2**31 - 2**20  # one protobuf message holds < 2 GiB; keep 1 MiB for the graph itself
_DTYPE_NAMES = {torch.float32: "float32", torch.float64: "float64"}


def _import_onnx() -> Any:
    try:
        import onnx
        import onnx.checker
        import onnx.helper
        import onnx.numpy_helper
    except ImportError:
        raise NumericsError("export_onnx needs the optional extra: pip install 'cnnverify[onnx]'") from None
    return onnx


class _Graph:
    """Nodes and initializers of one graph, with fresh tensor names."""

    def __init__(self, onnx: Any) -> None:
        self.onnx, self.count = onnx, 0
        self.nodes: list[Any] = []  # onnx NodeProto
        self.inits: list[Any] = []  # onnx TensorProto

    def name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}_{self.count}"

    def init(self, stem: str, t: torch.Tensor) -> str:
        name = self.name(stem)
        self.inits.append(self.onnx.numpy_helper.from_array(t.detach().cpu().contiguous().numpy(), name))
        return name

    def shape(self, dims: list[int]) -> str:
        return self.init("shape", torch.tensor(dims, dtype=torch.int64))

    def op(self, op_type: str, inputs: list[str], out: str | None = None, **attrs: Any) -> str:
        out = out or self.name(op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def reshape(self, h: str, dims: list[int]) -> str:
        return self.op("Reshape", [h, self.shape(dims)])


def _per_position(g: _Graph, h: str, w: torch.Tensor, b: torch.Tensor, c_in: int, k: int) -> str:
    """Kernel = stride map as a matrix product per position. Shape: ``(B, c_in, n k) -> (B, c_out, n)``.

    ``w``: ``(c_out, c_in, k)``; ``y[b, o, p] = b[o] + sum_{c, t} w[o, c, t] x[b, c, p k + t]``.
    """
    c_out = w.shape[0]
    h = g.reshape(h, [0, c_in, -1, k])  # (B, c_in, n, k)
    h = g.op("Transpose", [h], perm=[0, 2, 1, 3])  # (B, n, c_in, k)
    h = g.reshape(h, [0, -1, c_in * k])  # (B, n, c_in k)
    h = g.op("MatMul", [h, g.init("weight", w.reshape(c_out, c_in * k).T)])  # (B, n, c_out)
    h = g.op("Add", [h, g.init("bias", b)])
    return g.op("Transpose", [h], perm=[0, 2, 1])


def _layer(g: _Graph, h: str, module: nn.Module, use_conv: bool) -> str:
    """Append one layer's nodes. Shape: ``(B, c_in, n_in) -> (B, c_out, n_out)``."""
    if isinstance(module, nn.Conv1d):
        assert module.bias is not None  # _check_module admits only Conv1d layers with a bias
        k = module.kernel_size[0]
        if use_conv:
            return g.op(
                "Conv",
                [h, g.init("weight", module.weight), g.init("bias", module.bias)],
                kernel_shape=[k],
                strides=[k],
                pads=[0, 0],
                dilations=[1],
                group=1,
            )
        return _per_position(g, h, module.weight, module.bias, module.in_channels, k)
    if isinstance(module, LocallyConnected1d):
        n_out, c_out, c_in, s = module.weight.shape
        w = module.weight.permute(0, 2, 3, 1).reshape(n_out, c_in * s, c_out)  # w[p, c s + t, o]
        h = g.reshape(h, [0, c_in, n_out, s])  # (B, c_in, n_out, s)
        h = g.op("Transpose", [h], perm=[2, 0, 1, 3])  # (n_out, B, c_in, s)
        h = g.reshape(h, [n_out, -1, c_in * s])  # (n_out, B, c_in s)
        h = g.op("MatMul", [h, g.init("weight", w)])  # (n_out, B, c_out)
        h = g.op("Add", [h, g.init("bias", module.bias.reshape(n_out, 1, c_out))])
        return g.op("Transpose", [h], perm=[1, 2, 0])  # (B, c_out, n_out)
    assert isinstance(module, DenseOnSignal)  # _check_module admits only Conv1d, LocallyConnected1d, DenseOnSignal
    n_out, c_out, n_in, c_in = module.shape
    h = g.op("Transpose", [h], perm=[0, 2, 1])  # (B, n_in, c_in)
    h = g.reshape(h, [0, n_in * c_in])  # position-major, as DenseOnSignal
    h = g.op("Gemm", [h, g.init("weight", module.weight), g.init("bias", module.bias)], transB=1)
    h = g.reshape(h, [0, n_out, c_out])
    return g.op("Transpose", [h], perm=[0, 2, 1])


def _check_module(module: SpecModule) -> None:
    for i, layer in enumerate(module.layers):
        if isinstance(layer, nn.Conv1d):
            k = layer.kernel_size[0]
            ok = (
                layer.stride[0] == k
                and layer.padding[0] == 0
                and layer.dilation[0] == 1
                and layer.groups == 1
                and layer.bias is not None
            )
        else:
            ok = isinstance(layer, (LocallyConnected1d, DenseOnSignal))
        if not ok:
            raise bad(
                "spec_or_module",
                f"a SpecModule whose layer {i} is {layer!r}",
                "a module as numerics.to_module builds it (Conv1d with kernel = stride, LocallyConnected1d, "
                "DenseOnSignal)",
            )


def _model(onnx: Any, module: SpecModule, opset: int, use_conv: bool) -> Any:
    """The ONNX model of ``module``: input ``x`` ``(batch, d)`` or ``(batch, c_in, d)``, output ``y``
    ``(batch, n_outputs)``."""
    helper = onnx.helper
    elem = helper.np_dtype_to_tensor_dtype(torch.empty(0, dtype=module.dtype).numpy().dtype)
    g = _Graph(onnx)
    flat_in = module.c_in == 1
    in_shape = ["batch", module.d] if flat_in else ["batch", module.c_in, module.d]
    h = g.reshape("x", [0, 1, module.d]) if flat_in else "x"
    for layer, relu in zip(module.layers, module.relu):
        h = _layer(g, h, layer, use_conv)
        if relu:
            h = g.op("Relu", [h])
    h = g.op("Transpose", [h], perm=[0, 2, 1])  # (B, n_D, C_D)
    g.op("Reshape", [h, g.shape([0, module.n_outputs])], out="y")
    graph = helper.make_graph(
        g.nodes,
        "cnnverify",
        [helper.make_tensor_value_info("x", elem, in_shape)],
        [helper.make_tensor_value_info("y", elem, ["batch", module.n_outputs])],
        g.inits,
    )
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(
        graph, opset_imports=opsets, producer_name="cnnverify", ir_version=helper.find_min_ir_version_for(opsets)
    )
    helper.set_model_props(
        model,
        {
            "format": ONNX_FORMAT,
            "version": ONNX_VERSION,
            "content_hash": module.content_hash,
            "dtype": _DTYPE_NAMES[module.dtype],
        },
    )
    model.doc_string = (
        f"cnnverify network (content hash {module.content_hash}): input x (batch, "
        f"{'' if flat_in else f'{module.c_in}, '}{module.d}), output y (batch, {module.n_outputs}) "
        "flattened position-major"
    )
    onnx.checker.check_model(model)
    return model


def export_onnx(
    spec_or_module: Any,
    path: str | os.PathLike,
    *,
    dtype: Any = None,
    opset: int = DEFAULT_OPSET,
    conv: str = "auto",
    force: bool = False,
    memory_budget: int = MEMORY_BUDGET,
) -> Path:
    """Write a spec (or its :func:`to_module` module) as an ONNX file, atomically.

    Shape: input ``x`` is ``(batch, d)`` when ``c_in == 1``, else ``(batch, c_in, d)``; output ``y`` is
    ``(batch, n_D C_D)``, flattened position-major like :class:`SpecModule`. The model's metadata
    (``metadata_props``) holds ``format`` (``"cnnverify.onnx"``), ``version``, ``content_hash`` (the spec's) and
    ``dtype``. Layers map as the module docstring of ``numerics.convert._onnx`` says (``Conv`` or a per-position
    ``MatMul``; batched ``MatMul`` for locally connected layers; ``Gemm`` for dense ones; ``Relu``).

    Args:
        spec_or_module: a :class:`theory.Network` (converted by :func:`to_module`, the one exact-to-float
            conversion) or a :class:`SpecModule` from :func:`to_module` / :func:`load_module`, exported with the weights
            it holds (edits made to them after conversion are not detected; its ``content_hash`` names the spec it
            was built from).
        path: the ``.onnx`` file to write; its parent is created if needed.
        dtype: ``torch.float32`` or ``torch.float64`` (or their names). Default: float32 for a spec, the
            module's own dtype for a module (a different dtype for a module is refused: converting its floats
            again would round twice).
        opset: ONNX opset of the default domain, 13 up to the installed onnx's newest (default 17).
        conv: how conv / pointwise layers are written: ``"conv"`` (ONNX ``Conv``), ``"matmul"`` (a matrix product
            per position), or ``"auto"`` (default): ``Conv`` in float32, ``MatMul`` in float64, for which
            onnxruntime's CPU provider has no ``Conv`` kernel.
        force: replace an existing file instead of refusing.
        memory_budget: bytes :func:`to_module` may allocate when given a spec.
    Returns:
        The path written.
    Raises:
        NumericsError: the onnx package is missing (the ``cnnverify[onnx]`` extra); ``spec_or_module`` is
            neither a Network nor a SpecModule; bad ``dtype``, ``opset`` or ``conv``; ``path`` exists without
            ``force``, or cannot be written; weights above ``memory_budget`` or the 2 GiB limit of one ONNX file.
        OSError: the file system refused the write (nothing is left behind).
    """
    if not isinstance(spec_or_module, (theory.Network, SpecModule)):
        raise bad(
            "spec_or_module", type(spec_or_module).__name__, "a theory.Network or a SpecModule from numerics.to_module"
        )
    onnx = _import_onnx()
    dt = resolve_dtype(
        (spec_or_module.dtype if isinstance(spec_or_module, SpecModule) else torch.float32) if dtype is None else dtype
    )
    if dt not in _DTYPE_NAMES:
        raise bad(
            "dtype",
            dtype if dtype is not None else f"None (the module's {dt})",
            "torch.float32 or torch.float64 (or their names)",
        )
    if isinstance(spec_or_module, SpecModule) and dt != spec_or_module.dtype:
        raise bad(
            "dtype",
            dtype,
            f"the module's own dtype {spec_or_module.dtype} (or None); convert the spec "
            "instead of the module to export another dtype",
        )
    newest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, int) or isinstance(opset, bool) or not MIN_OPSET <= opset <= newest:
        raise bad("opset", opset, f"an int from {MIN_OPSET} to {newest} (the installed onnx's newest)")
    if conv not in CONV_FORMS:
        raise bad("conv", conv, " | ".join(repr(c) for c in CONV_FORMS))
    if not isinstance(path, (str, os.PathLike)):
        raise bad("path", path, "a path (str or os.PathLike)")
    with theory_errors():
        out = theory.io.check_writable(path, "file", force=force, flag="path")
    module = (
        spec_or_module
        if isinstance(spec_or_module, SpecModule)
        else to_module(spec_or_module, dt, "cpu", memory_budget=memory_budget)
    )
    _check_module(module)
    size = sum(p.numel() * p.element_size() for p in module.parameters())
    if size > _PROTOBUF_LIMIT:
        raise NumericsError(
            f"export_onnx: the weights take {size} bytes, above the 2 GiB limit of one ONNX "
            "protobuf; export a CNN spec (LCN / FCN weights grow with d)"
        )
    use_conv = conv == "conv" or (conv == "auto" and dt == torch.float32)
    data = _model(onnx, module, opset, use_conv).SerializeToString()
    with theory_errors():
        return theory.io.atomic_write_file(out, data, force=force)
