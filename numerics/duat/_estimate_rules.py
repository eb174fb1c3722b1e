"""Per-node rules of :func:`numerics.duat.estimate_memory`: the nonzeros per row of a leaf's local matrix, the
receptive window ``box`` in the input after it, a leaf's output shape from a forward pass on ``meta`` tensors, and
the bytes of composing the nodes (:func:`peak_bytes`).

A conv/pool of kernel ``k``, stride ``s``, padding ``p`` and dilation ``d`` maps a window with jump ``J``, offset
``o`` and extent ``e`` per spatial axis to ``(J s, o - p J, e + (k - 1) d J)``; a residual sum takes the union of
its branches' windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain

import torch
from torch import nn
from torch.func import functional_call

from .._errors import NumericsError
from . import _accumulate as acc
from .layers import ACTIVATIONS, ChannelsToTokens
from .layers._conv import _pair, resolve_padding

_BUILD = 48
"""Bytes per local nonzero while a layer's matrix is built (measured ~39 for convs): int64 row/col/value
triplets, their int32 copies, the CSR result."""
_BUILD_LAYER_NORM, _KEPT_LAYER_NORM = 80, 32
"""LayerNorm (measured 72 and 32): index grids, the static centring matrix, the scaled matrix and the blocks."""
_TO_TORCH_KEPT, _TO_TORCH_PEAK = 24, 32
"""Bytes per nonzero of a torch COO tensor (int64 indices, float64 values), and the peak of the conversion from
CSR including them (measured 28)."""
_FROM_DENSE = 26
"""Bytes per entry of a dense product turned into CSR (nonzero mask, int64 column grid, int32 copy)."""
_GATHER = 24
"""Bytes per row of a gather map (int64 index, float64 coefficient, int64 list of valid rows)."""
_OVERHEAD = 64 << 20
"""Libraries' lazy workspaces on the first products (measured 10-30 MiB)."""
_FLOAT = 8


def _csr(nnz: int, rows: int) -> int:
    """Bytes of a float64 CSR matrix (scipy takes int32 indices below 2**31, int64 above)."""
    idx = 4 if nnz < 2**31 else 8
    return nnz * (_FLOAT + idx) + (rows + 1) * idx


ELEMENTWISE = ACTIVATIONS + (nn.BatchNorm1d, nn.BatchNorm2d, nn.Identity, nn.Dropout)
_POOLS = (nn.AvgPool1d, nn.AvgPool2d, nn.MaxPool1d, nn.MaxPool2d)


@dataclass(frozen=True)
class Box:
    channels: int  # input channels a unit may depend on
    axes: tuple  # per spatial axis (jump, offset, extent); extent inf = whole axis


@dataclass(frozen=True)
class State:
    shape: tuple  # per-sample shape
    r: int  # nonzeros per row of the composed W
    box: Box | None


def union(input_shape: tuple, a: Box | None, b: Box | None) -> Box | None:
    """The window of a sum of two branches (None when the jumps differ)."""
    if a is None or b is None or len(a.axes) != len(b.axes) or any(x[0] != y[0] for x, y in zip(a.axes, b.axes)):
        return None
    axes = tuple(
        (x[0], min(x[1], y[1]), max(x[1] + x[2], y[1] + y[2]) - min(x[1], y[1])) for x, y in zip(a.axes, b.axes)
    )
    return Box(min(a.channels + b.channels, input_shape[0]), axes)


def count(input_shape: tuple, box: Box | None) -> float:
    if box is None:
        return math.inf
    n = min(box.channels, input_shape[0])
    for (_, _, e), size in zip(box.axes, input_shape[1:]):
        n *= min(e, size)
    return n


def window(input_shape: tuple, box: Box | None, shape: tuple, k, s, pads, d, channels: int) -> Box | None:
    """The box after a sliding window (conv or pool) over the spatial axes of a ``(C, *spatial)`` input."""
    if box is None or len(shape) != len(input_shape) or len(k) != len(box.axes):
        return None
    axes = tuple(
        (j * ss, o - lo * j, e + (kk - 1) * dd * j) for (j, o, e), kk, ss, (lo, _), dd in zip(box.axes, k, s, pads, d)
    )
    return Box(min(channels, input_shape[0]), axes)


def rule(m: nn.Module, st, out: tuple, input_shape: tuple, structural: bool) -> tuple[int, Box | None]:
    """``(a, box)``: nonzeros per row of the local matrix, and the receptive window after the layer."""
    box, shape = st.box, st.shape
    if isinstance(m, (nn.Conv1d, nn.Conv2d)):
        nd = len(m.kernel_size)
        k, s, d = tuple(m.kernel_size), _pair(m.stride, "stride", nd), _pair(m.dilation, "dilation", nd)
        cg = m.in_channels // m.groups
        channels = box.channels * cg if box is not None else 0
        return cg * math.prod(k), window(input_shape, box, shape, k, s, resolve_padding(m.padding, k, d), d, channels)
    if isinstance(m, _POOLS):
        nd = 2 if isinstance(m, (nn.AvgPool2d, nn.MaxPool2d)) else 1
        k = _pair(m.kernel_size, "kernel_size", nd)
        s = _pair(m.stride if m.stride else m.kernel_size, "stride", nd)
        p = _pair(m.padding, "padding", nd)
        d = _pair(getattr(m, "dilation", 1), "dilation", nd)
        a = 1 if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)) and not structural else math.prod(k)
        channels = box.channels if box is not None else 0
        return a, window(input_shape, box, shape, k, s, tuple((v, v) for v in p), d, channels)
    if isinstance(m, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)):
        a, axes = 1, []
        for n, o in zip(shape[1:], out[1:]):
            a *= n // o if n % o == 0 else -(-n // o) + 1
            axes.append((n // o, 0, n // o) if n % o == 0 else (0, 0, math.inf))
        if box is None or len(shape) != len(input_shape):
            return a, None
        return a, window(
            input_shape,
            box,
            shape,
            tuple(e for _, _, e in axes),
            tuple(j for j, _, _ in axes),
            ((0, 0),) * len(axes),
            (1,) * len(axes),
            box.channels,
        )
    if isinstance(m, (nn.Linear, nn.LayerNorm)):
        a = shape[-1]
        if box is None or len(shape) != len(input_shape) or len(shape) < 2:
            return a, None
        return a, Box(box.channels, box.axes[:-1] + ((0, 0, math.inf),))
    if isinstance(m, nn.MultiheadAttention):
        return math.prod(shape), None
    if isinstance(m, ELEMENTWISE):
        return 1, box
    if isinstance(m, (nn.Flatten, nn.Unflatten, ChannelsToTokens)):
        return 1, box if tuple(out) == tuple(shape) else None
    return math.prod(shape), None  # a leaf without a rule: assume it mixes everything


def out_shape(m: nn.Module, shape: tuple, path: str) -> tuple:
    """Per-sample output shape of leaf ``m`` on a per-sample input of ``shape``: a forward pass on ``meta`` tensors.

    Raises:
        NumericsError: when the layer rejects the shape (as the decomposition would).
    """
    tensors = {
        k: torch.empty(v.shape, dtype=torch.float64, device="meta")
        for k, v in chain(m.named_parameters(), m.named_buffers())
        if v.is_floating_point()
    }
    x = torch.empty((1,) + tuple(shape), dtype=torch.float64, device="meta")
    try:
        with torch.no_grad():
            if type(m) is nn.MultiheadAttention:
                xb = x if m.batch_first else x.transpose(0, 1)
                y = functional_call(m, tensors, (xb, xb, xb), {"need_weights": False}, strict=False)[0]
                y = y if m.batch_first else y.transpose(0, 1)
            else:
                y = functional_call(m, tensors, (x,), strict=False)
    except (RuntimeError, ValueError, IndexError, TypeError, AssertionError, NotImplementedError) as e:
        raise NumericsError(
            f"{path}: {type(m).__name__} rejected a per-sample input of shape {tuple(shape)}: "
            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from None
    return tuple(y.shape[1:])


def peak_bytes(nodes: list, output: int, n_in: int, structural: bool, cumulative: bool, records: bool) -> tuple:
    """``(peak bytes, kept bytes, order)`` of composing ``nodes`` as :func:`numerics.duat._accumulate.compose`."""
    n_out = math.prod(nodes[output].st.shape)
    reverse = n_out < n_in and not structural and not cumulative
    largest = max(math.prod(x.st.shape) for x in nodes)
    m = n_out if reverse else n_in
    mc = m if cumulative else max(1, min(m, acc._BLOCK_ENTRIES // max(largest, 1)))
    last = {i: k for k, x in enumerate(nodes) for i in x.inputs}
    locals_ = sum(x.local_bytes for x in nodes)
    acts = sum(2 * _FLOAT * math.prod(x.st.shape) for x in nodes)
    kept = sum(_TO_TORCH_KEPT * x.local for x in nodes[1:]) if records else 0
    build = max((x.build for x in nodes if not x.conv), default=0)  # convs: built only for sparse products
    peak = locals_ + acts + build

    def dense(k: int) -> bool:
        n = math.prod(nodes[k].st.shape)
        return reverse or (not structural and n * min(nodes[k].st.r, mc) >= acc._DENSE_FILL * n * mc)

    def block(k: int) -> int:
        n = math.prod(nodes[k].st.shape)
        if reverse:
            return _FLOAT * mc * n + _csr(0, mc)
        if dense(k):
            return max(_FLOAT * n * mc, _csr(int(acc._DENSE_FILL * n * mc), n))
        return _csr(n * min(nodes[k].st.r, mc), n)

    for k in range(1, len(nodes)):
        x = nodes[k]
        live = sum(block(i) for i in range(k) if last.get(i, -1) >= k)
        # a conv's matrix is built only for a sparse product (a dense block goes through torch's conv kernels)
        conv = (
            _csr(x.local, math.prod(x.st.shape)) + x.build
            if x.conv and not (dense(k) if not reverse else k != output)
            else 0
        )
        # the inputs' blocks, and the product's temporaries (scipy's result and its transposed copy)
        extra = sum(block(i) for i in x.inputs) + (2 * block(k) if dense(k) else 0)
        if cumulative:
            kept += _TO_TORCH_KEPT * math.prod(x.st.shape) * min(x.st.r, n_in)
        peak = max(peak, locals_ + kept + acts + live + block(k) + extra + conv)
    nnz = n_out * min(nodes[output].st.r, n_in)
    chunk_dense = _FROM_DENSE * mc * (n_in if reverse else n_out) if dense(output if not reverse else 0) else 0
    final = locals_ + kept + 2 * _csr(nnz, n_out) + _TO_TORCH_PEAK * nnz + chunk_dense
    return max(peak, final), kept + _TO_TORCH_KEPT * nnz, "reverse" if reverse else "forward"
