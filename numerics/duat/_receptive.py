"""Receptive fields from the sparsity pattern of the composed static matrices, and the closed form.

The pattern is structural: conv and linear matrices with every tap present, activation masks all ones,
max-pool as its full window, attention all-to-all. Closed form for chains of convs and pools, per spatial axis:
``r_L = 1 + sum_l (k_l - 1) prod_{m<l} s_m`` with the dilated kernel ``k_l = d_l (k_l - 1) + 1``; a residual block
takes the larger branch (equal strides required). Source: standard receptive-field arithmetic; its use for the
DUAT depth argument is our reading of Wang & Li (arXiv 2407.17480), claim duat.E15 (docs/catalogue.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from theory.cli import MEMORY_BUDGET, check_budget, format_count, guard_memory

from .._errors import NumericsError, bad
from ._accumulate import compose
from ._decompose import prepare
from ._estimate import estimate_memory
from ._graph import build_graph
from .layers import ACTIVATIONS
from .models import Residual

_NEUTRAL = ACTIVATIONS + (nn.BatchNorm1d, nn.BatchNorm2d, nn.Identity, nn.Dropout)


@dataclass(frozen=True)
class ReceptiveField:
    """Which input units each output unit depends on (structurally).

    Attributes:
        input_shape, output_shape: per-sample shapes.
        pattern: CSR 0/1 matrix ``(n_out, n_in)``; row ``i`` is output unit ``i``'s support.
        counts: ``(n_out,)`` number of input units each output unit depends on.
        closed_form: per spatial axis ``r_L`` (None when the model is not a chain of convs/pools/elementwise
            layers and residual blocks).
    """

    input_shape: tuple
    output_shape: tuple
    pattern: sp.csr_matrix
    counts: np.ndarray
    closed_form: tuple | None

    def inputs_of(self, out_index: int) -> np.ndarray:
        """Flat (row-major) input indices that output unit ``out_index`` depends on."""
        if not 0 <= int(out_index) < self.pattern.shape[0]:
            raise bad("out_index", out_index, f"0 <= index < {self.pattern.shape[0]}")
        row = self.pattern.getrow(int(out_index))
        return np.sort(row.indices)

    def extent(self, out_index: int) -> tuple[int, ...]:
        """Per input axis, ``max - min + 1`` of the support's coordinates (channels first)."""
        idx = np.unravel_index(self.inputs_of(out_index), self.input_shape)
        return tuple(int(a.max() - a.min() + 1) if a.size else 0 for a in idx)

    def central_index(self, channel: int = 0) -> int:
        """Flat index of the output unit at the centre of ``channel``'s spatial grid."""
        sp_shape = self.output_shape[1:]
        return int(np.ravel_multi_index((channel,) + tuple(n // 2 for n in sp_shape), self.output_shape))


def closed_form_rf(model: nn.Module, spatial_dims: int) -> tuple[int, ...] | None:
    """``r_L`` per spatial axis for chains of Conv/Pool (+ elementwise, BN) layers and residual blocks; else None."""
    out = _rf(model, (tuple([1] * spatial_dims), tuple([1] * spatial_dims)))
    return None if out is None else out[0]


_WINDOWED = (nn.Conv1d, nn.Conv2d, nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)


def _rf(m: nn.Module, state):
    """``(r, j)`` per axis (receptive field, jump = product of strides so far) after module ``m``."""
    if state is None:
        return None
    r, j = state
    if type(m) in _WINDOWED:
        nd = len(r)
        per_axis = lambda v: (v,) * nd if isinstance(v, int) else tuple(v)
        k, d = per_axis(m.kernel_size), per_axis(getattr(m, "dilation", 1))
        s = per_axis(m.stride if m.stride else m.kernel_size)
        if len(k) != nd:
            return None
        return (
            tuple(ri + di * (ki - 1) * ji for ri, ki, di, ji in zip(r, k, d, j)),
            tuple(ji * si for ji, si in zip(j, s)),
        )
    if type(m) in _NEUTRAL:
        return state
    if type(m) is nn.Sequential:
        for child in m.children():
            state = _rf(child, state)
        return state
    graph = getattr(m, "duat_graph", None)
    if callable(graph):
        return _rf_nodes(m, graph(), state)
    return None


def _rf_nodes(owner: nn.Module, nodes: tuple, state):
    for node in nodes:
        if state is None:
            return None
        if isinstance(node, Residual):
            a, b = _rf_nodes(owner, node.main, state), _rf_nodes(owner, node.shortcut, state)
            if a is None or b is None or a[1] != b[1]:
                return None
            state = (tuple(max(x, y) for x, y in zip(a[0], b[0])), a[1])
        else:
            child = owner._modules[node]
            state = _rf(child, state) if child is not None else None  # a child registered as None: unknown
    return state


def receptive_field(
    model: nn.Module, input_shape: Sequence[int], *, memory_budget: int = MEMORY_BUDGET
) -> ReceptiveField:
    """The structural receptive field of every output unit, and the closed form where it applies.

    Formula: the 0/1 pattern of the product of the layers' static patterns (see the module docstring);
    ``counts[i]`` is row ``i``'s number of nonzeros. For a chain of convs/pools on an input large enough that
    borders do not clip, the central unit's spatial extent equals :func:`closed_form_rf` per axis.

    Args:
        model: as :func:`numerics.duat.decompose`.
        input_shape: one sample's shape, e.g. ``(C, H, W)``.
        memory_budget: bytes the call may allocate (default 4 GiB), estimated from the shapes before the
            pattern is built (:func:`numerics.duat.estimate_memory` with ``structural=True``).

    Returns:
        :class:`ReceptiveField`.

    Raises:
        NumericsError: bad shape, unsupported layer, or an estimated peak above ``memory_budget``.
    """
    budget = check_budget(memory_budget, error=NumericsError)
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list, torch.Size)) else None
    if not shape or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in shape):
        raise bad("input_shape", input_shape, "a tuple of positive ints: one sample's shape, no batch dimension")
    model, x = prepare(model, torch.zeros(shape, dtype=torch.float64), "input_shape")
    est = estimate_memory(model, shape, structural=True, partial=True)
    guard_memory(
        "receptive_field",
        est.peak_bytes,
        budget,
        f"the pattern (nnz ~ {format_count(est.nnz)}) and its intermediates",
        "use a smaller input_shape",
        error=NumericsError,
    )
    graph = build_graph(model, x, structural=True)
    p, _, _ = compose(graph, order="forward", structural=True)
    out_shape = tuple(graph.nodes[graph.output].out_shape)
    return ReceptiveField(
        shape, out_shape, p, np.diff(p.indptr), closed_form_rf(model, len(shape) - 1) if len(shape) >= 2 else None
    )
