"""The walk of :func:`numerics.duat.estimate_memory`: the traced graph run on ``meta`` tensors, node by node.

:class:`_Walk` traces the model like :func:`numerics.duat.decompose` (:mod:`numerics.duat._trace`), or takes that
trace, and runs its graph on ``meta`` tensors (shapes, no data). Every input-dependent node becomes a
:class:`_Node`: its per-sample shape and :class:`numerics.duat._estimate_rules.State` (``r`` and the receptive
window), the nonzeros of its local matrix, the bytes its local map holds while composing and the bytes of building
it, by the rules of :mod:`numerics.duat._estimate_rules` (leaf modules: :meth:`_Walk.leaf`; functional layers,
data movement and sums: :meth:`_Walk.call`). An op the decomposition refuses raises NumericsError, or with
``partial`` :class:`_Stop`, after which the nodes walked so far stand. :mod:`numerics.duat._estimate` turns the
nodes into a :class:`numerics.duat.MemoryEstimate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain
from typing import NoReturn

import torch
import torch.fx as fx
from torch import nn
from torch.func import functional_call

from .._errors import NumericsError
from ._estimate_rules import (
    _BUILD,
    _BUILD_LAYER_NORM,
    _FLOAT,
    _GATHER,
    _KEPT_LAYER_NORM,
    _TO_TORCH_KEPT,
    ELEMENTWISE,
    Box,
    State,
    _csr,
    count,
    out_shape,
    rule,
    union,
)
from ._graph import NAMES, supported
from ._ops import as_module, kind_of, var_occurrences
from ._sparse import _DENSE_FRACTION, _DENSE_LIMIT
from ._trace import Namer, base_name, call_error, module_path, op_name, qualname, target_name, trace, where
from .layers import LEAVES, SUPPORTED_NAMES


class _Stop(Exception):
    """The walk cannot go on (an op the decomposition will refuse); the estimate so far stands."""


@dataclass
class _Node:
    path: str
    kind: str
    st: State
    inputs: tuple
    local: int  # nonzeros of the local matrix
    local_bytes: int  # bytes the local map holds while composing
    build: int  # transient bytes while it is built
    conv: bool


def _meta(v):
    if not isinstance(v, torch.Tensor):
        return v
    return v.detach().to("meta", torch.float64 if v.is_floating_point() else v.dtype)


class _Walk:
    def __init__(
        self,
        model: nn.Module,
        shape: tuple,
        structural: bool,
        records: bool,
        partial: bool,
        traced: tuple[fx.GraphModule, str] | None = None,
    ):
        self.shape, self.n_in, self.structural, self.records, self.partial = (
            shape,
            math.prod(shape),
            structural,
            records,
            partial,
        )
        self.gm, self.strip = traced if traced is not None else trace(model)
        self.namer = Namer(self.strip)
        self.env: dict = {}
        self.idx: dict = {}  # fx node -> index in self.nodes
        box = Box(1, tuple((1, 0, 1) for _ in shape[1:])) if len(shape) >= 2 else None
        self.nodes = [_Node("", "Input", State(shape, 1, box), (), 0, 0, 0, False)]

    def fail(self, message: str) -> NoReturn:
        raise (_Stop(message) if self.partial else NumericsError(message))

    def run(self) -> int:
        for n in self.gm.graph.nodes:
            if n.op == "placeholder":
                if not self.idx:
                    self.env[n], self.idx[n] = torch.empty((1,) + self.shape, dtype=torch.float64, device="meta"), 0
                else:
                    self.env[n] = (
                        n.args[0]
                        if n.args
                        else self.fail(f"model: forward() takes a second input {n.name!r}; allowed: one tensor")
                    )
            elif n.op == "get_attr":
                obj = self.gm
                for part in str(n.target).split("."):
                    obj = getattr(obj, part)
                self.env[n] = _meta(obj)
            elif n.op == "output":
                out = n.args[0]
                if not isinstance(out, fx.Node) or out not in self.idx:
                    self.fail("model: forward() must return one tensor that depends on its input")
                return self.idx[out]
            else:
                self.call(n)
        self.fail("model: traced graph has no output")

    def call(self, n: fx.Node) -> None:
        ins = [a for a in n.all_input_nodes if a in self.idx]
        if n.op == "call_function" and base_name(n) == "getitem" and ins and isinstance(self.env[ins[0]], tuple):
            self.env[n] = self.env[ins[0]][n.args[1]]
            if n.args[1] == 0:
                self.idx[n] = self.idx[ins[0]]
            return
        mod = self.gm.get_submodule(target_name(n)) if n.op == "call_module" else None
        if ins and mod is not None:
            return self.leaf(n, mod, ins[0])
        args, kwargs = fx.node.map_arg((n.args, n.kwargs), lambda a: self.env[a])
        try:
            with torch.no_grad():
                if mod is not None:  # a module on constants: its tensors on meta
                    tensors = {k: _meta(v) for k, v in chain(mod.named_parameters(), mod.named_buffers())}
                    value = functional_call(mod, tensors, tuple(args), kwargs, strict=False)
                elif n.op == "call_method":
                    value = getattr(args[0], target_name(n))(*args[1:], **kwargs)
                else:
                    assert callable(n.target)  # fx: the remaining op, call_function, has the function as its target
                    value = n.target(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - any op may reject the shapes
            self.fail(
                str(
                    call_error(
                        self.gm,
                        n,
                        self.strip,
                        supported(self.gm, n) or not ins,
                        _per_sample(self.env[ins[0]]) if ins else (),
                        e,
                        NAMES,
                    )
                )
            )
        self.env[n] = value
        if not ins or not isinstance(value, torch.Tensor):
            return
        kind = kind_of(n)
        sts = [self.nodes[self.idx[a]].st for a in ins]
        if kind in ("layer", "activation"):
            try:
                m, src = as_module(n, args, kwargs)
            except NumericsError as e:
                self.fail(f"{where(n, self.strip)}: {op_name(n)} is not supported here: {e}")
            return self.add(n, self.namer(n, base_name(n)), type(m).__name__, m, [self.idx[n.args[0]]], value)
        if kind is None:
            self.fail(f"{where(n, self.strip)}: {op_name(n)} is not supported; supported: {NAMES}")
        occ = {self.idx[a] for a in var_occurrences(n, lambda a: a in self.idx)}
        is_add = kind == "routing" and base_name(n) == "add" and len(occ) == 2
        base = "add" if is_add else base_name(n)
        shape = _per_sample(value)
        if is_add:
            a, b = sts
            box = union(self.shape, a.box, b.box)
            st = State(shape, int(min(self.n_in, a.r + b.r, count(self.shape, box))), box)
        else:
            keep = len(sts) == 1 and tuple(shape) == tuple(sts[0].shape)
            st = State(shape, int(min(self.n_in, max(s.r for s in sts))), sts[0].box if keep else None)
        n_out = math.prod(shape)
        self.push(
            n,
            _Node(
                self.namer(n, base),
                "Add" if is_add else base,
                st,
                tuple(sorted(occ)),
                0 if is_add else n_out,
                _GATHER * n_out * len(occ),
                0,
                False,
            ),
        )

    def leaf(self, n: fx.Node, mod: nn.Module, src: fx.Node) -> None:
        path = module_path(n, self.strip)
        if type(mod) not in LEAVES:
            self.fail(f"{path or '<model>'}: {qualname(type(mod))} is not supported; supported: {SUPPORTED_NAMES}")
        st = self.nodes[self.idx[src]].st
        t = self.env[src]
        if type(mod) is nn.MultiheadAttention and not mod.batch_first and t.dim() == 3:
            st = State(tuple(t[:, 0].shape), st.r, st.box)  # the per-sample tokens, as the build takes them
        try:
            out = (
                st.shape
                if isinstance(mod, ELEMENTWISE + (nn.LayerNorm,))
                else out_shape(mod, st.shape, path or "<model>")
            )
        except NumericsError as e:
            self.fail(str(e))
        empty = torch.empty((1,) + tuple(out), dtype=torch.float64, device="meta")
        value: torch.Tensor | tuple[torch.Tensor, None] = empty
        if type(mod) is nn.MultiheadAttention:
            value = (empty if mod.batch_first else empty.transpose(0, 1), None)
        self.add(n, self.namer(n, ""), type(mod).__name__, mod, [self.idx[src]], value, tuple(out))

    def add(self, n, path, kind, m, inputs, value, out=None) -> None:
        st = self.nodes[inputs[0]].st
        out = tuple(out) if out is not None else _per_sample(value)
        a, box = rule(m, st, out, self.shape, self.structural)
        n_out, n_loc = math.prod(out), math.prod(st.shape)
        local = n_out * min(a, n_loc)
        conv = isinstance(m, (nn.Conv1d, nn.Conv2d)) and not self.structural and not self.records
        norm = isinstance(m, nn.LayerNorm)
        held = _KEPT_LAYER_NORM * local if norm else _csr(local, n_out)
        if a == 1 and not norm:
            held = _GATHER * n_out
        elif local >= _DENSE_FRACTION * n_out * n_loc and n_out * n_loc <= _DENSE_LIMIT:
            held += _FLOAT * n_out * n_loc  # the dense copy of a dense-ish matrix
        if self.records:
            held += _csr(local, n_out) + _TO_TORCH_KEPT * 2 * local  # the leaf form and the record's COO
        new = State(out, int(min(self.n_in, min(a, n_loc) * st.r, count(self.shape, box))), box)
        build = (_BUILD_LAYER_NORM if norm else _BUILD) * local
        self.env[n] = value
        self.push(n, _Node(path, kind, new, tuple(inputs), local, 0 if conv else held, build, conv))

    def push(self, n: fx.Node, node: _Node) -> None:
        self.idx[n] = len(self.nodes)
        self.nodes.append(node)


def _per_sample(t: torch.Tensor) -> tuple:
    return tuple(t.shape[1:]) if t.dim() and t.shape[0] == 1 else tuple(t.shape)
