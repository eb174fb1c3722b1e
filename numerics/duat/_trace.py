"""Tracing a model with torch.fx into a graph whose supported torch.nn layers stay leaves, and naming nodes in errors.

:class:`LeafTracer` keeps every type of :data:`numerics.duat.layers.LEAVES` (and any other ``torch.nn`` layer, which
then fails by name) as one ``call_module`` node, so the layers' matrix-vector forms are reused; everything else
(user blocks, ``nn.Sequential``, torchvision's blocks) is traced through to functions and tensor methods. A model
that is itself a supported leaf is wrapped so that it becomes one node.
"""

from __future__ import annotations

import os
import re

import torch
import torch.fx as fx
from torch import nn

from .._errors import NumericsError
from .layers import LEAVES

_TORCH_DIR = os.path.dirname(torch.__file__)


class LeafTracer(fx.Tracer):
    """fx tracer with the supported layers (exact types) as leaves, recording each node's source stack."""

    def __init__(self):
        super().__init__()
        self.record_stack_traces = True

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return type(m) in LEAVES or super().is_leaf_module(m, qualname)


class _Root(nn.Module):
    """A supported leaf as a traceable model; self-attention is ``MHA(X, X, X)`` on the per-sample tokens."""

    def __init__(self, m: nn.Module):
        super().__init__()
        self.m = m

    def forward(self, x):
        if type(self.m) is nn.MultiheadAttention:
            if self.m.batch_first:
                return self.m(x, x, x, need_weights=False)[0]
            t = x.transpose(0, 1)
            return self.m(t, t, t, need_weights=False)[0].transpose(0, 1)
        return self.m(x)


def trace(model: nn.Module) -> tuple[fx.GraphModule, str]:
    """``(graph module, path prefix to strip)``; a root leaf is wrapped (its node path ``m`` becomes ``''``).

    Raises:
        NumericsError: when torch.fx cannot trace ``forward()`` (data-dependent control flow, ...).
    """
    root, strip = (_Root(model), "m") if type(model) in LEAVES else (model, "")
    try:
        graph = LeafTracer().trace(root)
    except Exception as e:  # noqa: BLE001 - fx raises many types
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        hint = (
            " (data-dependent control flow: an `if`/loop on tensor values cannot be traced)"
            if "control flow" in str(e) or isinstance(e, fx.proxy.TraceError)
            else ""
        )
        raise NumericsError(
            f"model: torch.fx cannot trace {type(model).__name__}.forward(){hint}: {first}; "
            f"allowed: forwards that torch.fx.symbolic_trace can trace (no branching on tensor "
            f"values)"
        ) from None
    return fx.GraphModule(root, graph), strip


def target_name(node: fx.Node) -> str:
    """A call_module / call_method node's target, which fx makes a str (module path / method name)."""
    assert isinstance(node.target, str), f"{node.op} node {node.name!r} has target {node.target!r}"
    return node.target


def qualname(t: type) -> str:
    """``nn.Conv3d`` for torch layers, ``module.Class`` otherwise (the words of the unsupported-layer error)."""
    return f"nn.{t.__name__}" if t.__module__.startswith("torch.nn") else f"{t.__module__}.{t.__qualname__}"


def module_path(node: fx.Node, strip: str = "") -> str:
    """The dotted path of the module a node belongs to (a call_module's own target)."""
    if node.op == "call_module":
        path = str(node.target)
    else:
        stack = node.meta.get("nn_module_stack") or {}
        path = re.sub(r"@\d+$", "", list(stack.keys())[-1]) if stack else ""
    if strip and (path == strip or path.startswith(strip + ".")):
        path = path[len(strip) + 1 :]
    return path


class Namer:
    """Paths of nodes: a call_module's module path; a function node's block path and the function's name, with
    ``_1``, ``_2`` for later calls in the same block (``layer1.0.add``)."""

    def __init__(self, strip: str):
        self.strip = strip
        self.seen: dict[tuple[str, str], int] = {}

    def __call__(self, node: fx.Node, base: str) -> str:
        mp = module_path(node, self.strip)
        if node.op == "call_module":
            return mp
        k = self.seen.get((mp, base), 0)
        self.seen[(mp, base)] = k + 1
        name = base if k == 0 else f"{base}_{k}"
        return f"{mp}.{name}" if mp else name


def base_name(node: fx.Node) -> str:
    """The short name of a call: method name, or the function's ``__name__``."""
    return str(node.target) if node.op == "call_method" else getattr(node.target, "__name__", str(node.target))


def op_name(node: fx.Node) -> str:
    """``torch.sort``, ``Tensor.sort``, ``operator.mul``, or the module's class for call_module."""
    t = node.target
    if node.op == "call_method":
        return f"Tensor.{t}"
    if node.op == "call_module":
        return str(t)
    mod = getattr(t, "__module__", None) or ""
    name = getattr(t, "__name__", str(t))
    if mod.startswith("torch._C") or mod == "" and hasattr(torch, name):
        mod = "torch"
    return f"{mod or 'builtins'}.{name}".replace("_operator.", "operator.")


def source_line(node: fx.Node) -> str:
    """``file:line: code`` of the user frame that created ``node`` (skipping torch's own frames), or ``''``."""
    trace = node.stack_trace or ""
    frames = re.findall(r'File "([^"]+)", line (\d+), in [^\n]*\n\s*([^\n]*)', trace)
    user = [f for f in frames if not os.path.abspath(f[0]).startswith(_TORCH_DIR)]
    if not user:
        return ""
    file, line, code = user[-1]
    return f"{os.path.basename(file)}:{line}: {code.strip()}"


def where(node: fx.Node, strip: str = "") -> str:
    """How an error names a node: its name, module path and source line."""
    path = module_path(node, strip)
    src = source_line(node)
    return f"node {node.name!r}" + (f" in {path!r}" if path else "") + (f" at {src}" if src else "")


def call_error(
    gm: fx.GraphModule, node: fx.Node, strip: str, supported: bool, in_shape, e: Exception, names: str
) -> NumericsError:
    """The error for a node whose op raised on the sample (or on shapes): an unsupported layer or op by name, a
    supported leaf that rejected its per-sample input, or the op's own first line."""
    first = str(e).splitlines()[0] if str(e) else type(e).__name__
    if node.op == "call_module":
        mod = gm.get_submodule(target_name(node))
        path = module_path(node, strip) or "<model>"
        if not supported:
            return NumericsError(f"{path}: {qualname(type(mod))} is not supported; supported: {names}")
        return NumericsError(
            f"{path}: {type(mod).__name__} rejected a per-sample input of shape {tuple(in_shape)}: {first}"
        )
    if not supported:
        return NumericsError(f"{where(node, strip)}: {op_name(node)} is not supported; supported: {names}")
    return NumericsError(f"{where(node, strip)}: {op_name(node)} failed: {first}")
