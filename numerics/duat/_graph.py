"""A traced model at one input as a graph of local affine maps: ``y_v = sum_u L_{v,u} y_u + c_v`` per node.

The fx graph (:mod:`numerics.duat._trace`) runs on a batch of one (the sample ``x[None]``); every node whose value
depends on the input gets its local map on the per-sample flattened tensors: leaf modules and their functional
forms through :data:`numerics.duat.layers.LEAVES` (convolutions as :class:`numerics.duat._maps.Conv`), data movement,
``+`` and ``*`` by constants through :mod:`numerics.duat._ops`. Nodes that do not depend on the input (parameters,
shape queries, a class token) are constants: they end up in the biases ``c_v``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.fx as fx
from torch import nn

from .._errors import NumericsError
from ._maps import Conv, Map, as_map
from ._ops import as_module, kind_of, routing, scale
from ._trace import Namer, base_name, call_error, module_path, op_name, qualname, target_name, trace, where
from .layers import ACTIVATIONS, LEAVES, SUPPORTED_NAMES, LeafMap
from .layers._conv import resolve_padding
from .layers._dispatch import _check_dims
from .layers._leaf import forward


@dataclass(eq=False)
class GNode:
    """One node: its value ``y = sum_k maps[k] @ y_{inputs[k]} + bias`` (per-sample flattened)."""

    index: int
    path: str
    kind: str  # leaf class name, 'Add', a function / method name, or 'Input'
    inputs: tuple
    maps: tuple
    bias: np.ndarray
    in_shape: tuple
    out_shape: tuple
    leaf: LeafMap | None = None  # the leaf's own form (records)

    @property
    def n(self) -> int:
        return int(self.bias.size)


@dataclass
class Graph:
    nodes: list
    output: int

    @property
    def n_in(self) -> int:
        return self.nodes[0].n


NAMES = (
    f"functional and module forms of the leaves ({SUPPORTED_NAMES}), reshapes/permutes/slicing/cat/expand, "
    f"+ and - of tensors and constants, * and / by constants"
)
"""What an unsupported-op error lists as supported."""


def supported(gm: fx.GraphModule, n: fx.Node) -> bool:
    """Whether a call node is of a supported kind (a leaf module or a known function / method)."""
    if n.op == "call_module":
        return type(gm.get_submodule(target_name(n))) in LEAVES
    return kind_of(n) is not None


def _per_sample(t: torch.Tensor) -> tuple:
    return tuple(t.shape[1:]) if t.dim() and t.shape[0] == 1 else tuple(t.shape)


def leaf_local(
    mod: nn.Module, t: torch.Tensor, path: str, structural: bool, records: bool
) -> tuple[Map, np.ndarray, LeafMap | None, torch.Tensor, torch.Tensor]:
    """``(map, bias, leaf form, per-sample input, per-sample output)`` of a supported leaf on the batch-of-one
    input ``t``; the leaf form is None for a convolution unless ``records`` (its matrix is built lazily)."""
    where_ = path or "<model>"
    if type(mod) is nn.MultiheadAttention:
        h = t[0] if mod.batch_first else t[:, 0]
    elif isinstance(mod, ACTIVATIONS + (nn.Identity, nn.Dropout)):
        h = t[0] if t.dim() and t.shape[0] == 1 else t  # elementwise: any layout of the batch of one
    elif t.dim() and t.shape[0] == 1:
        h = t[0]
    else:
        raise NumericsError(
            f"{where_}: {type(mod).__name__} got a tensor of shape {tuple(t.shape)} whose first "
            f"dimension is not the batch (of one); allowed: batch-first inputs"
        )
    try:
        if isinstance(mod, (nn.Conv1d, nn.Conv2d)) and not structural:
            nd = 2 if isinstance(mod, nn.Conv2d) else 1
            _check_dims(mod, h, nd, where_)
            if mod.padding_mode != "zeros":
                raise NumericsError(
                    f"{where_}: {type(mod).__name__}(padding_mode={mod.padding_mode!r}) is not "
                    f"supported; allowed: padding_mode='zeros'"
                )
            out = forward(mod, h)
            pads = resolve_padding(mod.padding, mod.kernel_size, mod.dilation)
            cmap = Conv(mod.weight, tuple(h.shape), tuple(out.shape), mod.stride, pads, mod.dilation, mod.groups)
            b = mod.bias.detach().double().numpy() if mod.bias is not None else np.zeros(mod.out_channels)
            bias = np.repeat(b, out[0].numel())
            lm = LEAVES[type(mod)](mod, h, where_, structural) if records else None
            if lm is not None:
                cmap._m = lm.matrix
            return cmap, bias, lm, h, out
        lm = LEAVES[type(mod)](mod, h, where_, structural)
    except RuntimeError as e:
        raise NumericsError(
            f"{where_}: {type(mod).__name__} rejected a per-sample input of shape "
            f"{tuple(h.shape)}: {str(e).splitlines()[0]}"
        ) from None
    return as_map(lm.matrix, None if structural else lm.blocks), lm.bias, lm if records else None, h, lm.out


def _execute(gm: fx.GraphModule, n: fx.Node, env: dict, var: dict):
    def get(a: fx.Node):
        v = env[a]
        return v.clone() if a in var and isinstance(v, torch.Tensor) else v  # in-place ops must not alter env

    args, kwargs = fx.node.map_arg((n.args, n.kwargs), get)
    with torch.no_grad():
        if n.op == "call_module":
            return gm.get_submodule(target_name(n))(*args, **kwargs)
        if n.op == "call_method":
            return getattr(args[0], target_name(n))(*args[1:], **kwargs)
        assert callable(n.target)  # fx: the remaining op, call_function, has the function as its target
        return n.target(*args, **kwargs)


class _Builder:
    def __init__(
        self, model: nn.Module, structural: bool, records: bool, traced: tuple[fx.GraphModule, str] | None = None
    ):
        self.gm, self.strip = traced if traced is not None else trace(model)
        self.structural, self.records = structural, records
        self.env: dict = {}
        self.var: dict = {}  # fx node -> index of its GNode
        self.nodes: list[GNode] = []
        self.path_of = Namer(self.strip)

    def fail(self, n: fx.Node, why: str) -> NumericsError:
        return NumericsError(f"{where(n, self.strip)}: {op_name(n)} {why}")

    def build(self, x: torch.Tensor) -> Graph:
        first = True
        for n in self.gm.graph.nodes:
            if n.op == "placeholder":
                if first:
                    self.env[n], self.var[n], first = x[None].clone(), 0, False
                    self.nodes.append(GNode(0, "", "Input", (), (), np.zeros(x.numel()), (), tuple(x.shape)))
                elif n.args:
                    self.env[n] = n.args[0]
                else:
                    raise NumericsError(f"model: forward() takes a second input {n.name!r}; allowed: one tensor")
            elif n.op == "get_attr":
                self.env[n] = _fetch(self.gm, n.target)
            elif n.op == "output":
                out = n.args[0]
                if not isinstance(out, fx.Node) or out not in self.var or not isinstance(self.env[out], torch.Tensor):
                    raise NumericsError("model: forward() must return one tensor that depends on its input")
                return Graph(self.nodes, self.var[out])
            else:
                self.call(n)
        raise NumericsError("model: traced graph has no output")

    def call(self, n: fx.Node) -> None:
        ins = [a for a in n.all_input_nodes if a in self.var]
        if ins and n.op == "call_module" and type(self.gm.get_submodule(target_name(n))) in LEAVES:
            return self.node(n, None)  # the leaf's own form runs it
        try:
            value = _execute(self.gm, n, self.env, self.var)
        except NumericsError:
            raise
        except Exception as e:  # noqa: BLE001 - any op may fail
            raise call_error(
                self.gm,
                n,
                self.strip,
                supported(self.gm, n) or not ins,
                _per_sample(self.env[ins[0]]) if ins else (),
                e,
                NAMES,
            ) from None
        self.env[n] = value
        if not ins:
            return  # a constant
        if (
            n.op == "call_function"
            and base_name(n) == "getitem"
            and n.args[0] in self.var
            and isinstance(self.env[n.args[0]], tuple)
        ):  # (out, weights) of attention
            if n.args[1] == 0:
                self.var[n] = self.var[n.args[0]]
            elif isinstance(value, torch.Tensor):
                raise self.fail(n, "of the attention weights is not supported; allowed: need_weights=False")
            return
        if not isinstance(value, torch.Tensor):
            is_mha = n.op == "call_module" and type(self.gm.get_submodule(target_name(n))) is nn.MultiheadAttention
            if isinstance(value, (tuple, list)) and any(isinstance(v, torch.Tensor) for v in value) and not is_mha:
                raise self.fail(n, "is not supported (it returns several input-dependent tensors)")
            if not is_mha:
                return  # shape queries and the like
        elif not value.is_floating_point():
            raise self.fail(n, f"gives a {value.dtype} tensor from the input, which is not supported")
        self.node(n, value)

    def node(self, n: fx.Node, value) -> None:
        env, var = self.env, self.var
        leaf = None
        in_shape: tuple[int, ...] = ()
        out_shape: tuple[int, ...] | None
        if n.op == "call_module":
            mod = self.gm.get_submodule(target_name(n))
            if type(mod) not in LEAVES:
                path = module_path(n, self.strip) or "<model>"
                raise NumericsError(f"{path}: {qualname(type(mod))} is not supported; supported: {SUPPORTED_NAMES}")
            src = n.args[0]
            if type(mod) is nn.MultiheadAttention:
                self._check_attention(n)
            m, bias, leaf, h, out = leaf_local(mod, env[src], module_path(n, self.strip), self.structural, self.records)
            maps, kind, in_shape, path = [(src, m)], type(mod).__name__, tuple(h.shape), self.path_of(n, "")
            out_shape = tuple(out.shape)
            value = out[None] if type(mod) is not nn.MultiheadAttention or mod.batch_first else out[:, None]
            env[n] = (value, None) if type(mod) is nn.MultiheadAttention else value
        else:
            op_kind, out_shape = kind_of(n), None
            base = base_name(n)
            fn = getattr(torch.Tensor, target_name(n)) if n.op == "call_method" else n.target
            out = value
            if op_kind in ("layer", "activation"):
                args, kwargs = fx.node.map_arg((n.args, n.kwargs), lambda a: env[a])
                mod, _ = self._guard(n, as_module, n, args, kwargs)
                src = n.args[0] if n.args else n.kwargs.get("input")
                path = self.path_of(n, base)
                m, bias, leaf, h, lout = leaf_local(mod, env[src], path, self.structural, self.records)
                maps, in_shape, kind, out_shape = [(src, m)], tuple(h.shape), type(mod).__name__, tuple(lout.shape)
            elif op_kind == "routing":
                maps, bias = self._guard(n, routing, fn, n, env, lambda a: a in var, value)
                kind = "Add" if base in ("add", "iadd") and len({a for a, _ in maps}) == 2 else base
                path = self.path_of(n, "add" if kind == "Add" else base)
            elif op_kind == "scale":
                maps, bias = self._guard(n, scale, fn, n, env, lambda a: a in var, value, self.structural)
                path = self.path_of(n, base)
                kind = base
            else:
                raise self.fail(n, f"is not supported; supported: {NAMES}")
        if out.numel() != bias.size:
            raise self.fail(n, f"internal: local map of {bias.size} rows for an output of {out.numel()}")
        merged: dict = {}
        for a, m in maps:
            merged[a] = m if a not in merged else as_map((merged[a].csr() + m.csr()).tocsr())
        g = GNode(
            len(self.nodes),
            path,
            kind,
            tuple(var[a] for a in merged),
            tuple(merged.values()),
            np.asarray(bias, dtype=np.float64),
            in_shape or _per_sample(env[next(iter(merged))]),
            out_shape or _per_sample(out),
            leaf,
        )
        self.nodes.append(g)
        var[n] = g.index

    def _guard(self, n: fx.Node, fn, *args):
        """Run ``fn``; its NumericsError (a reason) comes back naming the node, the op and the source line."""
        try:
            return fn(*args)
        except NumericsError as e:
            raise self.fail(n, f"is not supported here: {e}") from None

    def _check_attention(self, n: fx.Node) -> None:
        q = n.args[0] if n.args else None
        rest = list(n.args[1:3]) + [n.kwargs.get(k) for k in ("key", "value") if k in n.kwargs]
        masks = [n.kwargs.get(k) for k in ("key_padding_mask", "attn_mask")] + list(n.args[3:4]) + list(n.args[5:6])
        if (
            len(rest) != 2
            or any(r is not q for r in rest)
            or any(m is not None for m in masks)
            or n.kwargs.get("is_causal")
        ):
            raise self.fail(n, "is not self-attention MHA(x, x, x) without masks, which is the supported form")


def _fetch(gm: fx.GraphModule, target: str):
    obj = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj.detach() if isinstance(obj, torch.Tensor) else obj


def build_graph(
    model: nn.Module, x: torch.Tensor, *, structural: bool = False, records: bool = False, traced=None
) -> Graph:
    """Trace ``model`` (unless ``traced`` is given) and build every node's local map at the sample ``x`` (no batch
    dimension)."""
    return _Builder(model, structural, records, traced).build(x)
