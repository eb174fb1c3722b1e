"""The walker: follows a model's structure (leaves, ``nn.Sequential``, ``duat_graph()`` blocks) and composes the
layers' matrix-vector forms into ``f(x) = W(x) x + b(x)``.

Composition (our reconstruction of the DUAT matrix-vector method, papers/duat.md, sections 2.2 and 3):
a layer ``y = L h + c`` after ``h = W x + b`` gives ``(L W, L b + c)``; a residual node adds its branches'
``(W, b)``. ``W(x)`` equals the Jacobian for piecewise-linear nets (off the measure-zero boundaries) and is the
gating decomposition otherwise. Source: Wang & Li, "Dynamic Universal Approximation Theory", arXiv 2407.17480.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from .._budget import MEMORY_BUDGET, check_budget, format_count, guard_memory
from .._errors import NumericsError, bad
from .models import Residual
from ._estimate import estimate_memory, qualname
from .layers import LEAVES, SUPPORTED_NAMES, LeafMap, flat
from ._sparse import block_matmul, eye, matmul, pattern, to_torch

_GRAPH_MISMATCH_RTOL = 1e-8
"""decompose() raises when max|f(x) - (W x + b)| > this * (1 + max|f(x)|): far above float64 rounding of the
composed products (~1e-13 relative for the reference models), far below any structural mistake (O(1))."""


@dataclass(frozen=True)
class LayerRecord:
    """One step of the walk: a leaf layer or a residual sum (``kind == 'Add'``).

    Attributes:
        step, path, kind: order of the step, module path in the model (``'layer1.0.conv1'``), class name.
        in_shape, out_shape: per-sample shapes.
        matrix, bias: the layer's local map ``y = matrix @ h + bias`` (sparse COO float64 / dense); ``None`` for Add.
        static: the input-independent matrix part (conv/linear/BN/avg-pool: the whole matrix; LayerNorm:
            ``D(gamma)(I - 11^T/n)``); ``None`` when every factor is input-dependent.
        factors: forward-pass quantities: ``mask`` (ReLU/LeakyReLU D(x) diagonal), ``gate`` (GELU/SiLU/sigmoid/tanh),
            ``selection`` (max-pool flat in-plane indices), ``attention`` (H, N, N), ``value_output`` (H, D, D, fixed),
            ``inv_std`` (LayerNorm 1/sigma per token).
        weight_dynamic, bias_dynamic: whether the local matrix / bias depend on the input.
        prefix_W, prefix_b: the composed map from the model input to this step's output (only with
            ``cumulative=True``).
    """

    step: int
    path: str
    kind: str
    in_shape: tuple
    out_shape: tuple
    matrix: torch.Tensor | None
    bias: torch.Tensor | None
    static: torch.Tensor | None
    factors: Mapping[str, torch.Tensor] = field(default_factory=dict)
    weight_dynamic: bool = False
    bias_dynamic: bool = False
    prefix_W: torch.Tensor | None = None
    prefix_b: torch.Tensor | None = None


@dataclass(frozen=True)
class Decomposition:
    """``f(x) = W x + b`` at one input, with the per-layer records.

    Attributes:
        W: sparse COO float64 ``(n_out, n_in)``; b: dense ``(n_out,)``.
        input_shape, output_shape: per-sample shapes. output: ``f(x)`` from the model's own forward, flattened.
        layers: :class:`LayerRecord` per step (empty unless built by :func:`decompose_layers`).
        error: ``max |f(x) - (W x + b)|``.
    """

    W: torch.Tensor
    b: torch.Tensor
    input_shape: tuple
    output_shape: tuple
    output: torch.Tensor
    layers: tuple = ()
    error: float = 0.0

    def __post_init__(self):
        if tuple(self.W.shape) != (self.b.numel(), int(np.prod(self.input_shape))):
            raise NumericsError(f"internal: W {tuple(self.W.shape)} vs b {self.b.numel()} and input {self.input_shape}")

    @property
    def nnz(self) -> int:
        """Stored nonzeros of ``W``."""
        return int(self.W._nnz())


@dataclass
class _State:
    h: torch.Tensor          # current per-sample activation
    W: sp.csr_matrix         # map from the model input to h
    b: np.ndarray | None     # None in structural mode


class _Walker:
    def __init__(self, structural: bool, records: bool, cumulative: bool):
        self.structural, self.keep, self.cumulative = structural, records, cumulative
        self.records: list[LayerRecord] = []

    def module(self, m: nn.Module, path: str, s: _State) -> _State:
        t = type(m)
        if t in LEAVES:
            return self.leaf(m, path, s)
        if t is nn.Sequential:
            for name, child in m.named_children():
                s = self.module(child, _join(path, name), s)
            return s
        if callable(getattr(m, "duat_graph", None)):
            return self.nodes(m, m.duat_graph(), path, s)
        raise NumericsError(f"{path or '<model>'}: {qualname(t)} is not supported; supported: {SUPPORTED_NAMES}")

    def nodes(self, owner: nn.Module, nodes: tuple, path: str, s: _State) -> _State:
        for node in nodes:
            if isinstance(node, Residual):
                main, short = self.nodes(owner, node.main, path, s), self.nodes(owner, node.shortcut, path, s)
                if main.h.shape != short.h.shape:
                    raise NumericsError(f"{path}: residual branches disagree in shape: {tuple(main.h.shape)} "
                                        f"vs {tuple(short.h.shape)}")
                w = main.W + short.W
                s = _State(main.h + short.h, pattern(w) if self.structural else w.tocsr(),
                           None if self.structural else main.b + short.b)
                self.record(_join(path, "add"), "Add", tuple(main.h.shape), None, s)
                del main, short, w                    # free the branches' maps before the next node
            else:
                child = owner._modules.get(node) if isinstance(node, str) else None
                if child is None:
                    raise NumericsError(f"{path}: duat_graph names {node!r}, which is not a child module")
                s = self.module(child, _join(path, node), s)
        return s

    def leaf(self, m: nn.Module, path: str, s: _State) -> _State:
        try:
            lm = LEAVES[type(m)](m, s.h, path or "<model>", self.structural)
        except RuntimeError as e:
            raise NumericsError(f"{path or '<model>'}: {type(m).__name__} rejected a per-sample input of shape "
                                f"{tuple(s.h.shape)}: {str(e).splitlines()[0]}") from None
        w = None
        if lm.blocks is not None and not self.structural:
            w = block_matmul(lm.blocks, lm.matrix.shape[1] // lm.blocks.shape[2], s.W)
        w = matmul(lm.matrix, s.W) if w is None else w
        new = _State(lm.out.to(torch.float64), pattern(w) if self.structural else w,
                     None if self.structural else lm.matrix @ s.b + lm.bias)
        self.record(path, type(m).__name__, tuple(s.h.shape), lm, new)
        return new

    def record(self, path: str, kind: str, in_shape: tuple, lm: LeafMap | None, s: _State) -> None:
        if not self.keep:
            return
        self.records.append(LayerRecord(
            len(self.records), path, kind, in_shape, tuple(s.h.shape),
            to_torch(lm.matrix) if lm else None, torch.from_numpy(lm.bias) if lm else None,
            to_torch(lm.static) if lm is not None and lm.static is not None else None,
            dict(lm.factors) if lm else {}, lm.weight_dynamic if lm else False, lm.bias_dynamic if lm else False,
            to_torch(s.W) if self.cumulative else None,
            torch.from_numpy(s.b.copy()) if self.cumulative and s.b is not None else None))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def prepare(model: nn.Module, x: torch.Tensor | tuple, name: str = "x") -> tuple[nn.Module, torch.Tensor]:
    """Validate ``model`` and one sample ``x``; work on a float64 copy when the model is not float64."""
    if not isinstance(model, nn.Module):
        raise bad("model", type(model).__name__, "a torch.nn.Module built from supported layers")
    if not isinstance(x, torch.Tensor) or x.dim() < 1 or x.numel() == 0 or x.is_complex():
        raise bad(name, getattr(x, "shape", x), "a non-empty real tensor: ONE sample, no batch dimension")
    x = x.detach().to("cpu", torch.float64)
    if not torch.isfinite(x).all():
        raise bad(name, "tensor with NaN/inf", "finite values")
    tensors = list(model.parameters()) + list(model.buffers())
    if any(t.is_floating_point() and (t.dtype != torch.float64 or t.device.type != "cpu") for t in tensors):
        model = copy.deepcopy(model).to("cpu", torch.float64)
    return model, x


def call_model(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``model(x[None])[0]``, or self-attention ``MHA(X, X, X)`` when the model is one nn.MultiheadAttention."""
    with torch.no_grad():
        if type(model) is nn.MultiheadAttention:
            xb = x[None] if model.batch_first else x[:, None]
            out = model(xb, xb, xb, need_weights=False)[0]
            return out[0] if model.batch_first else out[:, 0]
        return model(x[None].clone())[0]


def walk(model: nn.Module, x: torch.Tensor, *, structural: bool = False, records: bool = False,
         cumulative: bool = False) -> tuple[_State, list[LayerRecord]]:
    """Run the walker from ``(W, b) = (I, 0)`` at sample ``x`` (already prepared)."""
    walker = _Walker(structural, records, cumulative)
    state = walker.module(model, "", _State(x, eye(x.numel()), None if structural else np.zeros(x.numel())))
    return state, walker.records


def decompose_layers(model: nn.Module, x: torch.Tensor, *, cumulative: bool = False,
                     memory_budget: int = MEMORY_BUDGET) -> Decomposition:
    """``f(x) = W(x) x + b(x)`` with a :class:`LayerRecord` per layer (see :func:`decompose`).

    Args:
        model: module built from supported layers (eval mode); see :func:`decompose`.
        x: one sample, no batch dimension.
        cumulative: also keep each step's composed map from the input (``prefix_W``, ``prefix_b``): memory grows
            with the number of layers times the composed nonzeros.
        memory_budget: bytes the call may allocate (default 4 GiB); the records (each layer's matrices) count.

    Raises:
        NumericsError: unsupported layer (naming its path and class), train-mode BatchNorm/Dropout, bad input,
            a ``duat_graph`` that disagrees with ``forward()``, or an estimated peak above ``memory_budget``
            (refused before anything large is built; see :func:`numerics.duat.estimate_memory`).
    """
    return _decompose(model, x, records=True, cumulative=cumulative, memory_budget=memory_budget,
                      what="decompose_layers")


def decompose(model: nn.Module, x: torch.Tensor, *, memory_budget: int = MEMORY_BUDGET
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """The matrix-vector form ``f(x) = W(x) x + b(x)`` of a network at one input.

    Each layer's matrix comes from its definition (index formulas; see :func:`numerics.duat.conv_matrix`), the
    dynamic factors (ReLU masks, max-pool selections, attention, LayerNorm scales, activation gates) from the
    forward pass at ``x``; the layers compose by sparse products. Our reconstruction of the DUAT
    matrix-vector method (Wang & Li, arXiv 2407.17480; papers/duat.md, section 3).

    Args:
        model: Conv1d/2d, AvgPool/MaxPool/AdaptiveAvgPool 1d/2d, BatchNorm1d/2d (eval), LayerNorm (last dim),
            Linear (on the last dim), MultiheadAttention (self-attention), activations (ReLU, LeakyReLU, GELU,
            SiLU, Sigmoid, Tanh), Flatten/Unflatten/Identity/Dropout (eval), nn.Sequential, and blocks with a
            ``duat_graph()`` (the reference blocks of :mod:`numerics.duat`). A non-float64 model is decomposed
            as its float64 copy.
        x: ONE sample without batch dimension: ``(C, H, W)``, ``(C, L)``, ``(N, D)`` tokens, ``(D,)``.
        memory_budget: bytes the call may allocate (default 4 GiB). The peak is estimated from the layer shapes
            before anything is built (``nnz(W) <= n_out * r`` with ``r`` the receptive-field size, plus each
            layer's local matrix and the intermediates; :func:`numerics.duat.estimate_memory`).

    Returns:
        ``(W, b)``: ``W`` coalesced sparse COO float64 ``(n_out, n_in)`` on the CPU, ``b`` dense ``(n_out,)``,
        with ``model(x[None]).flatten() == W @ x.flatten() + b`` to float64 rounding.

    Shape:
        ``n_in = x.numel()``, ``n_out = model(x[None])[0].numel()``; flattening is row-major.

    Raises:
        NumericsError: as :func:`decompose_layers`; e.g. ``decompose: estimated 19.3 GiB for W (nnz ~ 1.2e9) and
            its intermediates exceeds memory_budget 4 GiB; ...``.
    """
    d = _decompose(model, x, records=False, cumulative=False, memory_budget=memory_budget, what="decompose")
    return d.W, d.b


def _decompose(model, x, *, records: bool, cumulative: bool, memory_budget: int, what: str) -> Decomposition:
    budget = check_budget(memory_budget)
    model, x = prepare(model, x)
    est = estimate_memory(model, tuple(x.shape), records=records, cumulative=cumulative, partial=True)
    guard_memory(what, est.peak_bytes, budget, f"W (nnz ~ {format_count(est.nnz)}) and its intermediates",
                 "use a smaller input x (--input on the command line)")
    state, recs = walk(model, x, records=records, cumulative=cumulative)
    y = call_model(model, x).reshape(-1)
    if y.numel() != state.W.shape[0]:
        raise NumericsError(f"model: forward() gives {y.numel()} outputs but its structure gives "
                            f"{state.W.shape[0]}: its duat_graph does not match forward()")
    err = float(np.max(np.abs(y.numpy() - (state.W @ flat(x) + state.b)))) if y.numel() else 0.0
    if not err <= _GRAPH_MISMATCH_RTOL * (1.0 + float(y.abs().max())):
        raise NumericsError(f"model: max|f(x) - (W x + b)| = {err:.3g}: the walked structure (duat_graph) does "
                            f"not match forward()")
    return Decomposition(to_torch(state.W), torch.from_numpy(state.b), tuple(x.shape), tuple(state.h.shape), y,
                         tuple(recs), err)
