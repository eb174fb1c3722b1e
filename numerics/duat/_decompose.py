"""The public decomposition: trace the model into a graph of local maps (:mod:`numerics.duat._graph`), compose it
(:mod:`numerics.duat._accumulate`), check ``f(x) = W x + b`` against ``forward()``, and keep per-node records.

Composition (our reconstruction of the DUAT matrix-vector method, docs/duat.md):
a layer ``y = L h + c`` after ``h = W x + b`` gives ``(L W, L b + c)``; a residual node adds its branches'
``(W, b)``. ``W(x)`` equals the Jacobian for piecewise-linear nets (off the measure-zero boundaries) and is the
gating decomposition otherwise. Source: Wang & Li, "Dynamic Universal Approximation Theory", arXiv 2407.17480.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from theory.cli import MEMORY_BUDGET, check_budget, format_count, guard_memory

from .._errors import NumericsError, bad
from ._accumulate import compose
from ._estimate import estimate
from ._graph import GNode, Graph, build_graph
from ._sparse import to_torch
from ._trace import trace
from .layers import flat

_GRAPH_MISMATCH_RTOL = 1e-8
"""decompose() raises when max|f(x) - (W x + b)| > this * (1 + max|f(x)|): far above float64 rounding of the
composed products (~1e-13 relative for the reference models), far below any structural mistake (O(1))."""


@dataclass(frozen=True)
class LayerRecord:
    """One node of the traced graph: a leaf layer, a residual sum (``kind == 'Add'``) or another supported op.

    Attributes:
        step, path, kind: order of the step, module path in the model (``'layer1.0.conv1'``; a function node
            gets its block's path and the function's name, ``'layer1.0.add'``), class name (``'Conv2d'``, also for
            ``F.conv2d``), ``'Add'``, or the function / method name (``'flatten'``, ``'cat'``, ``'getitem'``).
        in_shape, out_shape: per-sample shapes.
        matrix, bias: the layer's local map ``y = matrix @ h + bias`` (sparse COO float64 / dense); ``matrix`` is
            ``None`` for Add and other nodes with several input-dependent operands.
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
        order: ``'forward'`` or ``'reverse'``, the product order used (see :mod:`numerics.duat._accumulate`).
    """

    W: torch.Tensor
    b: torch.Tensor
    input_shape: tuple
    output_shape: tuple
    output: torch.Tensor
    layers: tuple = ()
    error: float = 0.0
    order: str = "forward"

    def __post_init__(self):
        if tuple(self.W.shape) != (self.b.numel(), int(np.prod(self.input_shape))):
            raise NumericsError(f"internal: W {tuple(self.W.shape)} vs b {self.b.numel()} and input {self.input_shape}")

    @property
    def nnz(self) -> int:
        """Stored nonzeros of ``W``."""
        return int(self.W._nnz())


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
    if not isinstance(model, nn.Module):
        raise bad("model", type(model).__name__, "a torch.nn.Module")
    with torch.no_grad():
        if type(model) is nn.MultiheadAttention:
            xb = x[None] if model.batch_first else x[:, None]
            out = model(xb, xb, xb, need_weights=False)[0]
            return out[0] if model.batch_first else out[:, 0]
        return model(x[None].clone())[0]


def _record(g: GNode, step: int, prefix) -> LayerRecord:
    lm = g.leaf
    single = len(g.maps) == 1 and g.kind != "Add"
    matrix = to_torch(lm.matrix) if lm is not None else to_torch(g.maps[0].csr()) if single else None
    static = (to_torch(lm.static) if lm.static is not None else None) if lm is not None else matrix
    return LayerRecord(
        step,
        g.path,
        g.kind,
        tuple(g.in_shape),
        tuple(g.out_shape),
        matrix,
        torch.from_numpy(g.bias.copy()),
        static,
        dict(lm.factors) if lm else {},
        lm.weight_dynamic if lm else False,
        lm.bias_dynamic if lm else False,
        to_torch(prefix[0]) if prefix else None,
        torch.from_numpy(prefix[1].copy()) if prefix and prefix[1] is not None else None,
    )


def decompose_layers(
    model: nn.Module, x: torch.Tensor, *, cumulative: bool = False, memory_budget: int = MEMORY_BUDGET
) -> Decomposition:
    """``f(x) = W(x) x + b(x)`` with a :class:`LayerRecord` per layer (see :func:`decompose`).

    Args:
        model: any module whose forward torch.fx traces to supported operations (eval mode); see
            :func:`decompose`.
        x: one sample, no batch dimension.
        cumulative: also keep each step's composed map from the input (``prefix_W``, ``prefix_b``; forward
            order in one chunk): memory grows with the number of layers times the composed nonzeros.
        memory_budget: bytes the call may allocate (default 4 GiB); the records (each layer's matrices) count.

    Raises:
        NumericsError: an unsupported layer (its path and class) or op (the node, the op such as ``torch.sort``,
            and its source line), a forward torch.fx cannot trace (data-dependent control flow), train-mode
            BatchNorm/Dropout, bad input, local maps that do not reproduce ``forward()``, or an estimated peak
            above ``memory_budget`` (refused before anything large is built; see
            :func:`numerics.duat.estimate_memory`).
    """
    return _decompose(
        model, x, records=True, cumulative=cumulative, memory_budget=memory_budget, what="decompose_layers"
    )


def decompose(
    model: nn.Module, x: torch.Tensor, *, memory_budget: int = MEMORY_BUDGET
) -> tuple[torch.Tensor, torch.Tensor]:
    """The matrix-vector form ``f(x) = W(x) x + b(x)`` of a network at one input.

    Each layer's matrix comes from its definition (index formulas; see :func:`numerics.duat.conv_matrix`), the
    dynamic factors (ReLU masks, max-pool selections, attention, LayerNorm scales, activation gates) from the
    forward pass at ``x``. The model is traced with torch.fx (batch of one) into a graph of local maps, composed
    from the output side when ``n_out < n_in`` and from the input side otherwise, in sparse blocks while they are
    sparse and dense blocks (torch's own kernels) after. Our reconstruction of the DUAT matrix-vector method
    (Wang & Li, arXiv 2407.17480; docs/duat.md).

    Args:
        model: any module whose ``forward`` torch.fx traces to: the leaves Conv1d/2d, AvgPool/MaxPool/
            AdaptiveAvgPool 1d/2d, BatchNorm1d/2d (eval), LayerNorm (last dim), Linear (on the last dim),
            MultiheadAttention (self-attention), activations (ReLU, LeakyReLU, GELU, SiLU, Sigmoid, Tanh),
            Flatten/Unflatten/Identity/Dropout (eval), in module or functional form (``F.conv2d``, ``F.relu``,
            ``torch.relu``, ``x.relu()``, ...); ``+``/``-`` of two branches or of constants; ``*``/``/`` by
            constants; reshape/view/flatten, permute/transpose, slicing, ``cat``/``stack``, expand, pad (a
            constant part, such as a class token, goes to ``b``). A non-float64 model is decomposed as its float64
            copy.
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


def _decompose(
    model, x, *, records: bool, cumulative: bool, memory_budget: int, what: str, order: str = "auto"
) -> Decomposition:
    budget = check_budget(memory_budget, error=NumericsError)
    model, x = prepare(model, x)
    try:
        traced = trace(model)
    except NumericsError:
        traced = None  # the estimate stops (partial) and the build raises the tracing error
    est = estimate(model, tuple(x.shape), records=records, cumulative=cumulative, partial=True, traced=traced)
    guard_memory(
        what,
        est.peak_bytes,
        budget,
        f"W (nnz ~ {format_count(est.nnz)}) and its intermediates",
        "use a smaller input x (--input on the command line)",
        error=NumericsError,
    )
    graph = build_graph(model, x, records=records, traced=traced)
    prefixes: dict[int, tuple[Any, np.ndarray | None]] | None = {} if cumulative else None  # index -> (W_v, b_v)
    W, b, used = compose(graph, order=order, prefixes=prefixes)
    recs = (
        tuple(
            _record(g, k, prefixes.get(g.index) if prefixes is not None else None)
            for k, g in enumerate(graph.nodes[1:])
        )
        if records
        else ()
    )
    return _checked(graph, W, b, call_model(model, x), x, recs, used)


def _checked(graph: Graph, W, b, out, x, recs, order) -> Decomposition:
    y = out.reshape(-1)
    if y.numel() != W.shape[0]:
        raise NumericsError(f"model: forward() gives {y.numel()} outputs but the traced graph gives {W.shape[0]}")
    err = float(np.max(np.abs(y.numpy() - (W @ flat(x) + b)))) if y.numel() else 0.0
    if not err <= _GRAPH_MISMATCH_RTOL * (1.0 + float(y.abs().max())):
        raise NumericsError(
            f"model: max|f(x) - (W x + b)| = {err:.3g}: the traced graph's local maps do not reproduce forward()"
        )
    return Decomposition(to_torch(W), torch.from_numpy(b), tuple(x.shape), tuple(out.shape), y, recs, err, order)
