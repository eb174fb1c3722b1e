"""Torch modules in: a feed-forward ReLU network written in torch becomes an exact spec, losslessly.

Every float32 / float64 / float16 / bfloat16 weight is a dyadic rational, so reading it exactly (``Fraction`` of
its binary value) loses nothing: the spec computes, in exact arithmetic, exactly the function the float weights
define in exact arithmetic. Every proof and certificate of :mod:`theory` then applies to the imported network.

Accepted (in a ``nn.Sequential``, a module returned by :func:`numerics.to_module`, or any module whose
``forward`` traces with ``torch.fx`` to these, and sums of them, below): ``Conv1d`` (kernel = stride without
padding becomes a tree layer: :class:`theory.ConvLayer`, or :class:`theory.PointwiseLayer` for kernel 1; any other
stride, padding, dilation or groups is lowered to a :class:`theory.DenseLayer`, :func:`conv_layer`), ``Linear``
(on the last axis, as torch applies it; on a flattened signal, a dense layer), ``ReLU`` (``nn.ReLU``, ``torch.relu``, ``F.relu``), ``Flatten`` / ``torch.flatten(x, 1)``,
``Identity``, ``Dropout`` in eval mode, and this project's ``LocallyConnected1d`` and ``DenseOnSignal``.
2-D: ``Conv2d`` / ``F.conv2d`` (any stride, zero padding including ``"same"``, dilation, groups) and
``AvgPool2d`` / ``F.avg_pool2d`` (floor mode) are exact linear maps, always written as dense layers (no tree layer
kind is 2-D). Max pooling is refused (a maximum is not linear). Anything else is an error naming the layer.

Shapes: ``input_shape`` is one sample's shape as the module takes it: ``(c_in, d)`` for a module that starts
with a 1-D convolution, ``(c_in, H, W)`` for one that starts with a 2-D one (the spec has ``d = H W`` positions
``p = h W + w`` of ``c_in`` channels: unit ``p c_in + c`` is pixel ``[c, h, w]``), ``(d,)`` for one that starts
with ``Linear``. The spec's output is flattened position-major (:func:`theory.evaluate_exact`), which is the
module's output when it ends flat (``(B, features)``) or with one position; a module ending in ``(B, C, n)`` with
``n > 1`` is compared as ``out.transpose(1, 2)``, one ending in ``(B, C, H, W)`` as ``out.permute(0, 2, 3, 1)``.

Floats: ``to_module(from_torch(m))`` has the same ``Conv1d`` layers and weights as ``m``, so a convolutional
network comes back bit for bit. A ``Linear`` after ``Flatten`` becomes a dense layer, which
:class:`numerics.DenseOnSignal` evaluates on the position-major flattening: the same products summed in another
order, so equal to float rounding, not bitwise.

Skips: a traced ``forward`` may add (or subtract) two tensors of the same shape, ``y = x + f(x)`` or
``y = g(x) + f(x)`` (a residual block of ``Conv1d`` / ``ReLU`` with ``out + x``), with or without a ReLU after
the join and at the end of the network. The spec is a chain, so ``x`` travels through the branch's layers in
extra channels as ``(relu(x), relu(-x))`` and comes back as ``relu(x) - relu(-x) = x`` at the join
(``numerics.convert._lower_forms``): exact, so still lossless; the layers that carry a skip are dense layers.
A sum of tensors of different shapes is an error naming the add node.

This module walks the traced graph (:func:`from_torch`); the rule of each leaf layer is
:mod:`numerics.convert._import_layers`.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

import theory
from theory.cli import MEMORY_BUDGET

from .._errors import bad
from ._import_layers import _LEAVES, _MAX_POOL, _apply, _avg_pool2d, _conv2d, _max_pool, _ops
from ._lower import Lowering
from ._lower_forms import Sym
from ._module import SpecModule

_SUMS = {operator.add: 1, torch.add: 1, "add": 1, operator.iadd: 1, operator.sub: -1, torch.sub: -1, "sub": -1}
_OPERATIONS = (
    "conv1d, conv2d and avg_pool2d (weights from the module), linear, relu and flatten(x, 1) of one "
    "traced tensor, and sums x + f(x) of two"
)


class _Tracer(torch.fx.Tracer):
    """Keeps this project's layers whole (their forward is einsum and reshapes, not the operations :func:`_apply`
    lowers)."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, _LEAVES) or super().is_leaf_module(m, qualname)


def _is_flatten(node: torch.fx.Node) -> bool:
    if node.target not in (torch.flatten, "flatten"):
        return False
    start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
    end = node.args[2] if len(node.args) > 2 else node.kwargs.get("end_dim", -1)
    return bool(start == 1 and end == -1)  # fx types args as Argument, whose Tensor member's == is a Tensor


_CONV2D = ("input", "weight", "bias", "stride", "padding", "dilation", "groups"), (None, None, 1, 0, 1, 1)
_POOL2D = (
    ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
    (None, None, 0, False, True, None),
)


_MAX_POOL_ARGS = (
    ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
    (None, None, 0, 1, False, False),
)


def _call(node: torch.fx.Node, env: dict, consts: dict, sig: tuple, name: str) -> list[Any]:
    """The arguments of ``F.conv2d`` / ``F.avg_pool2d``: the traced input, then weights (module attributes) and
    literal settings."""
    names, defaults = sig
    got = dict(zip(names[1:], defaults))
    got.update(zip(names, node.args))
    got.update(node.kwargs)
    vals = [got.get(k) for k in names]
    if not (isinstance(vals[0], torch.fx.Node) and vals[0] in env) or any(
        isinstance(a, torch.fx.Node) and a not in consts for a in vals[1:]
    ):
        raise bad("module", name, "a traced input, weights that are module attributes, literal settings")
    return [env[vals[0]], *(consts[a] if isinstance(a, torch.fx.Node) else a for a in vals[1:])]


def _node(lo: Lowering, module: nn.Module, node: torch.fx.Node, env: dict, consts: dict) -> Sym:
    """The tensor a traced node computes from the tensors in ``env`` (and module attributes in ``consts``)."""
    args = [a for a in node.args if isinstance(a, torch.fx.Node)]
    name = f"{type(module).__name__}: node {node.name!r} ({node.format_node()})"
    if node.op == "call_function" and node.target is torch.conv2d:
        return _conv2d(lo, *_call(node, env, consts, _CONV2D, name), where=f"node {node.name!r} (conv2d)")
    if node.op == "call_function" and node.target is F.avg_pool2d:
        return _avg_pool2d(lo, *_call(node, env, consts, _POOL2D, name), where=f"node {node.name!r} (avg_pool2d)")
    target = getattr(node.target, "__name__", str(node.target))
    if node.op == "call_function" and ("max_pool1d" in target or "max_pool2d" in target):
        x, *settings = _call(node, env, consts, _MAX_POOL_ARGS, name)
        pool = (nn.MaxPool2d if "2d" in target else nn.MaxPool1d)(**dict(zip(_MAX_POOL_ARGS[0][1:], settings)))
        return _max_pool(lo, x, pool, f"node {node.name!r} ({target})")
    if node.op != "call_module" and "max_pool" in target:
        raise bad("module", name, _MAX_POOL)
    if any(a not in env for a in args):
        raise bad("module", name, _OPERATIONS)
    if node.op in ("call_function", "call_method") and node.target in _SUMS:
        if len(args) != 2 or len(node.args) != 2 or node.kwargs:
            raise bad("module", name, "a sum a + b or difference a - b of two traced tensors (no constants, no alpha)")
        return lo.add(env[args[0]], env[args[1]], _SUMS[node.target], f"{type(module).__name__}: node {node.name!r}")
    if len(args) != 1 or args[0] is not node.args[0]:
        raise bad("module", name, _OPERATIONS)
    v = env[args[0]]
    if node.op == "call_module":
        for where, op in _ops(module.get_submodule(str(node.target))):
            v = _apply(lo, v, f"{node.target}.{where}" if where else str(node.target), op)
        return v
    if node.op in ("call_function", "call_method") and node.target in (torch.relu, F.relu, "relu"):
        return lo.relu(v)
    if node.op in ("call_function", "call_method") and _is_flatten(node):
        return lo.flatten(v, 1, node.name)
    raise bad("module", name, _OPERATIONS)


def _attr(module: nn.Module, target: str) -> Any:
    for part in target.split("."):
        module = getattr(module, part)
    return module


def _run(lo: Lowering, module: nn.Module) -> Sym:
    """Trace ``module`` with ``torch.fx`` and lower its graph; each tensor still needed later is carried."""
    if isinstance(module, _LEAVES) or (
        type(module).__module__.startswith("torch.nn") and not isinstance(module, nn.Sequential)
    ):  # one layer, or a SpecModule
        v = lo.input()
        for where, op in _ops(module):
            v = _apply(lo, v, where or "module", op)
        return v
    try:
        graph = _Tracer().trace(module)
    except Exception as e:  # noqa: BLE001 (fx raises many types for data-dependent control flow)
        raise bad("module", type(module).__name__, f"a module whose forward traces with torch.fx ({e})") from None
    nodes = list(graph.nodes)
    pos = {n: i for i, n in enumerate(nodes)}
    last = {n: max((pos[u] for u in n.users), default=-1) for n in nodes}
    env: dict[torch.fx.Node, Sym] = {}
    consts: dict[torch.fx.Node, Any] = {}
    for i, node in enumerate(nodes):
        lo.keep = [v for n, v in env.items() if last[n] > i]
        if node.op == "placeholder":
            if env or last[node] < 0:
                raise bad("module", f"{type(module).__name__}: input {node.name!r}", "one tensor input, used")
            env[node] = lo.input()
        elif node.op == "get_attr":
            consts[node] = _attr(module, str(node.target))
        elif node.op == "output":
            if not isinstance(node.args[0], torch.fx.Node):
                raise bad("module", f"{type(module).__name__}: output {node.args[0]!r}", "one output tensor")
            return env[node.args[0]]
        else:
            env[node] = _node(lo, module, node, env, consts)
        for n in [n for n in env if last[n] <= i]:
            del env[n]
    raise bad("module", type(module).__name__, "a forward that returns a tensor")


def from_torch(module: nn.Module, input_shape: Sequence[int], *, memory_budget: int = MEMORY_BUDGET) -> theory.Network:
    """An exact spec computing exactly what ``module`` computes in exact arithmetic (module docstring).

    Args:
        module: a torch module (``nn.Sequential``, a :func:`numerics.to_module` module, or a traceable module:
            a chain of supported layers, with sums ``x + f(x)`` of two tensors for skips).
        input_shape: one sample's shape: ``(c_in, d)``, ``(c_in, H, W)`` or ``(d,)`` (positive ints).
        memory_budget: bytes the import may take, estimated from the shapes before each operation is built
            (default 4 GiB); a larger estimate is refused.
    Returns:
        A :class:`theory.Network` with ``meta = {"construction": "from_torch", "source": <class name>}``.
    Raises:
        NumericsError: a layer that cannot be represented (named, with its path), a shape mismatch (a sum of
            tensors of different shapes names the add node), non-finite weights, a module whose forward is not
            made of supported operations.
    """
    if not isinstance(module, nn.Module):
        raise bad("module", type(module).__name__, "a torch.nn.Module")
    if isinstance(module, SpecModule) and len(tuple(input_shape)) == 1:
        input_shape = (1, *input_shape)  # it unsqueezes a (batch, d) input itself
    lo = Lowering(input_shape, memory_budget=memory_budget)
    out = _run(lo, module)
    return lo.finish(
        out,
        {"construction": "from_torch", "source": type(module).__name__},
        "from_torch: ",
        f"argument 'module': got {type(module).__name__!r}; allowed: a module with at least one "
        "Conv1d or Linear layer (or Conv2d, AvgPool2d)",
    )
