"""Torch modules in: a feed-forward ReLU network written in torch becomes an exact spec, losslessly.

Every float32 / float64 / float16 / bfloat16 weight is a dyadic rational, so reading it exactly (``Fraction`` of
its binary value) loses nothing: the spec computes, in exact arithmetic, exactly the function the float weights
define in exact arithmetic. Every proof and certificate of :mod:`theory` then applies to the imported network.

Accepted (in a ``nn.Sequential``, a module returned by :func:`numerics.to_module`, or any module whose
``forward`` traces with ``torch.fx`` to a chain of these): ``Conv1d`` (kernel = stride without padding becomes a
tree layer: :class:`theory.ConvLayer`, or :class:`theory.PointwiseLayer` for kernel 1; any other stride,
padding, dilation or groups is lowered to a :class:`theory.DenseLayer`), ``Linear`` (on a flattened signal, a
dense layer), ``ReLU`` (``nn.ReLU``, ``torch.relu``, ``F.relu``), ``Flatten`` / ``torch.flatten(x, 1)``,
``Identity``, ``Dropout`` in eval mode, and this project's ``LocallyConnected1d`` and ``DenseOnSignal``.
Anything else is an error naming the layer.

Shapes: ``input_shape`` is one sample's shape as the module takes it: ``(c_in, d)`` for a module that starts
with a convolution, ``(d,)`` for one that starts with ``Linear``. The spec's output is flattened position-major
(:func:`theory.evaluate_exact`), which is the module's output when it ends flat (``(B, features)``) or with
one position; a module ending in ``(B, C, n)`` with ``n > 1`` is compared as ``out.transpose(1, 2)``.

Floats: ``to_module(from_torch(m))`` has the same ``Conv1d`` layers and weights as ``m``, so a convolutional
network comes back bit for bit. A ``Linear`` after ``Flatten`` becomes a dense layer, which
:class:`numerics.DenseOnSignal` evaluates on the position-major flattening: the same products summed in another
order, so equal to float rounding, not bitwise. Skips (``x + f(x)``) are not supported yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import theory

from .._errors import NumericsError, bad, theory_errors
from ._module import DenseOnSignal, LocallyConnected1d, SpecModule

_SKIP = (nn.Identity,)


def exact_array(t: torch.Tensor, shape: Sequence[int], where: str) -> theory.SparseArray:
    """The exact rationals of a float tensor (every finite float is a dyadic rational), as a sparse array.

    Raises:
        NumericsError: a non-finite entry (nan or inf has no exact value).
    """
    a = t.detach().to("cpu", torch.float64).numpy().reshape(-1)  # float16/32/bf16 -> float64 is exact
    if not np.isfinite(a).all():
        raise NumericsError(f"{where}: has nan or inf entries, which have no exact value")
    keys = np.flatnonzero(a)
    vals = np.empty(keys.size, dtype=object)
    vals[:] = [Fraction(*float(v).as_integer_ratio()) for v in a[keys]]
    return theory.SparseArray(tuple(int(s) for s in shape), keys.astype(np.int64), vals)


class _Builder:
    """Walks the ops in order, tracking the signal as ``(channels, positions)`` and whether torch holds it flat
    (``(B, channels * positions)``, channel-major) or as ``(B, channels, positions)``."""

    def __init__(self, input_shape: Sequence[int]):
        shape = tuple(int(s) for s in input_shape)
        if len(shape) == 1:
            self.c, self.n, self.flat = 1, shape[0], True
        elif len(shape) == 2:
            self.c, self.n, self.flat = shape[0], shape[1], False
        else:
            raise bad("input_shape", input_shape, "(d,) or (c_in, d): one sample's shape as the module takes it")
        if min(shape) < 1:
            raise bad("input_shape", input_shape, "positive sizes")
        self.d, self.c_in = self.n, self.c
        self.layers: list[theory.Layer] = []

    def add(self, layer: theory.Layer, c: int, n: int) -> None:
        self.layers.append(layer)
        self.c, self.n = c, n

    def relu(self) -> None:
        if self.layers and self.layers[-1].relu:
            return  # relu(relu(z)) = relu(z)
        if not self.layers:  # ReLU on the input itself: an identity 1x1 layer carries it
            eye = theory.SparseArray.from_dense(np.eye(self.c, dtype=object) * Fraction(1))
            self.add(theory.PointwiseLayer(eye, theory.SparseArray.from_dense([0] * self.c), relu=True), self.c, self.n)
            return
        last = self.layers[-1]
        self.layers[-1] = type(last)(last.weight, last.bias, relu=True)

    def conv1d(self, m: nn.Conv1d, where: str) -> None:
        if self.flat:
            raise bad(where, "Conv1d after Flatten/Linear", "convolutions on a (batch, channels, positions) signal")
        if m.in_channels != self.c or m.padding_mode != "zeros" or isinstance(m.padding, str):
            raise bad(where, f"Conv1d(in_channels={m.in_channels}, padding={m.padding!r}, padding_mode="
                      f"{m.padding_mode!r}) on {self.c} channels", f"in_channels {self.c}, numeric zero padding")
        (k,), (stride,), (pad,), (dil,) = m.kernel_size, m.stride, m.padding, m.dilation
        w = m.weight
        b = m.bias if m.bias is not None else torch.zeros(m.out_channels)
        if k == stride and pad == 0 and dil == 1 and m.groups == 1 and self.n % k == 0:
            if k == 1:
                layer = theory.PointwiseLayer(exact_array(w, (m.out_channels, self.c), where),
                                              exact_array(b, (m.out_channels,), where), relu=False)
            else:
                layer = theory.ConvLayer(exact_array(w, w.shape, where), exact_array(b, b.shape, where), relu=False)
            self.add(layer, m.out_channels, self.n // k)
            return
        n_out = (self.n + 2 * pad - dil * (k - 1) - 1) // stride + 1
        if n_out < 1:
            raise bad(where, f"Conv1d(kernel {k}, stride {stride}, padding {pad}, dilation {dil}) on {self.n} positions",
                      "a convolution with at least one output position")
        c_out, cg_in = m.out_channels, self.c // m.groups
        wd = w.detach().to("cpu", torch.float64).numpy()
        dense = np.zeros((n_out, c_out, self.n, self.c))
        o = np.arange(c_out)
        for p in range(n_out):
            for t in range(k):
                src = p * stride - pad + t * dil
                if 0 <= src < self.n:
                    for ci in range(cg_in):  # output channel o reads input channel (o // (c_out/groups)) cg_in + ci
                        dense[p, o, src, (o // (c_out // m.groups)) * cg_in + ci] = wd[o, ci, t]
        bias = np.broadcast_to(b.detach().to("cpu", torch.float64).numpy(), (n_out, c_out))
        self.add(theory.DenseLayer(exact_array(torch.from_numpy(dense), dense.shape, where),
                                   exact_array(torch.from_numpy(np.ascontiguousarray(bias)), bias.shape, where),
                                   relu=False), c_out, n_out)

    def linear(self, m: nn.Linear, where: str) -> None:
        if not (self.flat or self.n == 1) or m.in_features != self.c * self.n:
            raise bad(where, f"Linear(in_features={m.in_features}) on {self.c} channels x {self.n} positions"
                      f"{'' if self.flat else ' (not flattened)'}",
                      f"a Linear on the flattened signal, in_features = {self.c * self.n}")
        # torch reads the flat signal channel-major (index c n + p); the spec's dense weight is W[0, o, p, c]
        w = m.weight.detach().reshape(m.out_features, self.c, self.n).permute(0, 2, 1).unsqueeze(0)
        b = m.bias if m.bias is not None else torch.zeros(m.out_features)
        self.add(theory.DenseLayer(exact_array(w, w.shape, where), exact_array(b, (1, m.out_features), where),
                                   relu=False), m.out_features, 1)
        self.flat = True

    def spec_layer(self, m: nn.Module, where: str) -> None:
        if self.flat:
            raise bad(where, f"{type(m).__name__} after Flatten/Linear", "a (batch, channels, positions) signal")
        if isinstance(m, LocallyConnected1d):
            n_out, c_out = m.weight.shape[:2]
            layer = theory.LocalLayer(exact_array(m.weight, m.weight.shape, where),
                                      exact_array(m.bias, m.bias.shape, where), relu=False)
        else:
            n_out, c_out = m.shape[:2]
            layer = theory.DenseLayer(exact_array(m.weight, m.shape, where),
                                      exact_array(m.bias, (n_out, c_out), where), relu=False)
        self.add(layer, c_out, n_out)


_LEAVES = (nn.Conv1d, nn.Linear, nn.ReLU, nn.Flatten, nn.Identity, nn.Dropout, LocallyConnected1d, DenseOnSignal)


def _ops(module: nn.Module) -> list[tuple[str, Any]]:
    """``(where, op)`` in order: ``op`` a leaf module, ``"relu"`` or ``"flatten"``."""
    if isinstance(module, SpecModule):
        out: list[tuple[str, Any]] = []
        for i, (layer, relu) in enumerate(zip(module.layers, module.relu)):
            out.append((f"layers.{i}", layer))
            if relu:
                out.append((f"layers.{i} relu", "relu"))
        return out
    if isinstance(module, nn.Sequential):
        return [(f"{name}.{w}" if w else name, op) for name, child in module.named_children()
                for w, op in _ops(child)]
    if isinstance(module, _LEAVES) or not list(module.children()):
        return [("", module)]  # a leaf: supported or not, from_torch names it
    return _traced(module)


class _Tracer(torch.fx.Tracer):
    """Keeps this project's layers whole (their forward is einsum and reshapes, not the operations above)."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, _LEAVES) or super().is_leaf_module(m, qualname)


def _traced(module: nn.Module) -> list[tuple[str, Any]]:
    """The ops of a module with its own ``forward``, from a ``torch.fx`` trace that must be a chain."""
    try:
        graph = _Tracer().trace(module)
    except Exception as e:  # noqa: BLE001 (fx raises many types for data-dependent control flow)
        raise bad("module", type(module).__name__, f"a module whose forward traces with torch.fx ({e})") from None
    out, prev = [], None
    for node in graph.nodes:
        if node.op == "placeholder":
            prev = node
            continue
        if node.op == "output":
            break
        args = [a for a in node.args if isinstance(a, torch.fx.Node)]
        if args != [prev] or len(node.users) != 1:
            raise bad("module", f"{type(module).__name__}: node {node.format_node()}",
                      "a chain of layers, each reading the previous one (skips are not supported)")
        if node.op == "call_module":
            out += [(f"{node.target}.{w}" if w else str(node.target), op)
                    for w, op in _ops(module.get_submodule(str(node.target)))]
        elif node.op in ("call_function", "call_method") and node.target in (torch.relu, F.relu, "relu"):
            out.append((node.name, "relu"))
        elif node.op in ("call_function", "call_method") and _is_flatten(node):
            out.append((node.name, "flatten"))
        else:
            raise bad("module", f"{type(module).__name__}: {node.format_node()}",
                      "conv1d, linear, relu and flatten(x, 1) operations")
        prev = node
    return out


def _is_flatten(node) -> bool:
    if node.target not in (torch.flatten, "flatten"):
        return False
    start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
    end = node.args[2] if len(node.args) > 2 else node.kwargs.get("end_dim", -1)
    return start == 1 and end == -1


def from_torch(module: nn.Module, input_shape: Sequence[int]) -> theory.Network:
    """An exact spec computing exactly what ``module`` computes in exact arithmetic (module docstring).

    Args:
        module: a torch module (``nn.Sequential``, a :func:`numerics.to_module` module, or a traceable chain).
        input_shape: one sample's shape: ``(c_in, d)`` or ``(d,)``.
    Returns:
        A :class:`theory.Network` with ``meta = {"construction": "from_torch", "source": <class name>}``.
    Raises:
        NumericsError: a layer that cannot be represented (named, with its path), a shape mismatch, non-finite
            weights, a module whose forward is not a chain of supported operations.
    """
    if not isinstance(module, nn.Module):
        raise bad("module", type(module).__name__, "a torch.nn.Module")
    if isinstance(module, SpecModule) and len(tuple(input_shape)) == 1:
        input_shape = (1, *input_shape)  # it unsqueezes a (batch, d) input itself
    b = _Builder(input_shape)
    for where, op in _ops(module):
        if op == "relu" or isinstance(op, nn.ReLU):
            b.relu()
        elif op == "flatten" or (isinstance(op, nn.Flatten) and op.start_dim == 1 and op.end_dim == -1):
            b.flat = True
        elif isinstance(op, _SKIP) or (isinstance(op, nn.Dropout) and not op.training):
            continue
        elif isinstance(op, nn.Conv1d):
            b.conv1d(op, where)
        elif isinstance(op, nn.Linear):
            b.linear(op, where)
        elif isinstance(op, (LocallyConnected1d, DenseOnSignal)):
            b.spec_layer(op, where)
        else:
            raise bad(where or "module", type(op).__name__, "Conv1d, Linear, ReLU, Flatten, Identity, Dropout (eval), "
                      "LocallyConnected1d or DenseOnSignal")
    if not b.layers:
        raise bad("module", type(module).__name__, "a module with at least one Conv1d or Linear layer")
    if b.flat and b.n > 1 and b.c > 1:  # torch's flat output is channel-major; end with that permutation
        perm = np.zeros((1, b.c * b.n, b.n, b.c), dtype=object)
        for c in range(b.c):
            for p in range(b.n):
                perm[0, c * b.n + p, p, c] = 1
        b.add(theory.DenseLayer(theory.SparseArray.from_dense(perm),
                                theory.SparseArray.from_dense([[0] * (b.c * b.n)]), relu=False), b.c * b.n, 1)
    with theory_errors("from_torch: "):
        return theory.Network(d=b.d, c_in=b.c_in, layers=tuple(b.layers),
                              meta={"construction": "from_torch", "source": type(module).__name__})
