"""The memory a decomposition will take, estimated from the layer shapes before anything is built.

Walks the model like :func:`numerics.duat.decompose` (leaves, ``nn.Sequential``, ``duat_graph()`` blocks) but on
shapes only: each leaf's output shape comes from a forward pass on a ``meta`` tensor (no data). For every step it
bounds

* ``a``, the nonzeros per row of the layer's local matrix (conv: ``C_in/groups * prod(kernel)``; pools: the
  window; Linear / LayerNorm: the row width; attention: ``N D``; elementwise layers: 1), so the local matrix holds
  at most ``n_out * a`` nonzeros;
* ``r``, the nonzeros per row of the composed ``W`` (the input units one output unit can depend on):
  ``r' = min(n_in, a r, box)``, where ``box`` is the receptive window in the input (channels times, per spatial
  axis, a window with jump ``J``, offset ``o`` and extent ``e``: a conv/pool of kernel ``k``, stride ``s``,
  padding ``p`` and dilation ``d`` maps ``(J, o, e)`` to ``(J s, o - p J, e + (k - 1) d J)``; a residual sum
  takes the union of its branches' windows and ``r_main + r_shortcut``).

``nnz(W) <= n_out * r`` is an upper bound (it ignores the zero padding at the borders and the rows a ReLU mask
zeroes). The bytes follow from the storage of each stage (CSR while composing, the COO conversion of the
records and of the result; constants below, calibrated by tests/numerics/duat/test_estimate.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain

import torch
from torch import nn
from torch.func import functional_call

from .._errors import NumericsError
from ._sparse import _DENSE_FRACTION, _DENSE_LIMIT
from .layers import ACTIVATIONS, LEAVES, SUPPORTED_NAMES, ChannelsToTokens
from .layers._conv import _pair, resolve_padding
from .models import Residual

_ELEMENTWISE = ACTIVATIONS + (nn.BatchNorm1d, nn.BatchNorm2d, nn.Identity, nn.Dropout)
_POOLS = (nn.AvgPool1d, nn.AvgPool2d, nn.MaxPool1d, nn.MaxPool2d)
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
_OVERHEAD = 64 << 20
"""Libraries' lazy workspaces on the first products (measured 10-30 MiB)."""
_FLOAT = 8


def _csr(nnz: int, rows: int) -> int:
    """Bytes of a float64 CSR matrix (scipy takes int32 indices below 2**31, int64 above)."""
    idx = 4 if nnz < 2**31 else 8
    return nnz * (_FLOAT + idx) + (rows + 1) * idx


@dataclass(frozen=True)
class StepEstimate:
    """One step of the estimate: ``nnz`` bounds the composed ``W`` after it, ``local_nnz`` its own matrix."""

    path: str
    kind: str
    out_shape: tuple
    local_nnz: int
    nnz: int


@dataclass(frozen=True)
class MemoryEstimate:
    """What :func:`estimate_memory` found.

    Attributes:
        input_shape, output_shape: per-sample shapes.
        nnz: upper bound on the stored nonzeros of ``W`` (``n_out x n_in``).
        peak_bytes: estimated peak of the allocations of the call (sparse matrices, records, activations).
        kept_bytes: what the returned decomposition keeps (``W`` and the records).
        activations: sum of the units of every step's output (the forward pass of a Jacobian check stores them).
        steps: :class:`StepEstimate` per step.
        complete: False when a ``partial`` estimate stopped at a layer the decomposition refuses.
    """

    input_shape: tuple
    output_shape: tuple
    nnz: int
    peak_bytes: int
    kept_bytes: int
    activations: int
    steps: tuple
    complete: bool = True


@dataclass(frozen=True)
class _Box:
    channels: int                                   # input channels a unit may depend on
    axes: tuple                                     # per spatial axis (jump, offset, extent); extent inf = whole axis


class _Stop(Exception):
    """The walk cannot go on (a layer the decomposition will refuse); the estimate so far stands."""


def qualname(t: type) -> str:
    """``nn.Conv3d`` for torch layers, ``module.Class`` otherwise (the words of the unsupported-layer error)."""
    return f"nn.{t.__name__}" if t.__module__.startswith("torch.nn") else f"{t.__module__}.{t.__qualname__}"


@dataclass(frozen=True)
class _State:
    shape: tuple
    r: int                                          # nonzeros per row of the composed W
    box: _Box | None


class _Estimator:
    def __init__(self, input_shape: tuple, records: bool, cumulative: bool, structural: bool, partial: bool):
        self.input_shape, self.n_in = input_shape, math.prod(input_shape)
        self.partial = partial                          # stop quietly where the decomposition would raise
        self.records, self.cumulative, self.structural = records, cumulative, structural
        self.steps: list[StepEstimate] = []
        self.kept = 0                                 # records kept so far
        self.peak = 0
        self.units = 0

    # ------------------------------------------------------------------ receptive windows
    def count(self, box: _Box | None) -> float:
        if box is None:
            return math.inf
        n = min(box.channels, self.input_shape[0])
        for (_, _, e), size in zip(box.axes, self.input_shape[1:]):
            n *= min(e, size)
        return n

    def window(self, box: _Box | None, shape: tuple, k, s, pads, d, channels: int) -> _Box | None:
        """The box after a sliding window (conv or pool) over the spatial axes of a ``(C, *spatial)`` input."""
        if box is None or len(shape) != len(self.input_shape) or len(k) != len(box.axes):
            return None
        axes = tuple((j * ss, o - lo * j, e + (kk - 1) * dd * j)
                     for (j, o, e), kk, ss, (lo, _), dd in zip(box.axes, k, s, pads, d))
        return _Box(min(channels, self.input_shape[0]), axes)

    # ------------------------------------------------------------------ the walk
    def module(self, m: nn.Module, path: str, st: _State, held: tuple) -> _State:
        """Walk one module. ``held``: the states the callers still reference (their maps stay allocated)."""
        t = type(m)
        if t in LEAVES:
            return self.leaf(m, path, st, held)
        if t is nn.Sequential:
            inner = held + (st,)                      # the caller keeps the container's input alive
            for name, child in m.named_children():
                st = self.module(child, f"{path}.{name}" if path else name, st, inner)
            return st
        if callable(getattr(m, "duat_graph", None)):
            return self.nodes(m, m.duat_graph(), path, st, held + (st,))
        self.fail(f"{path or '<model>'}: {qualname(t)} is not supported; supported: {SUPPORTED_NAMES}")

    def nodes(self, owner: nn.Module, nodes: tuple, path: str, st: _State, held: tuple) -> _State:
        for node in nodes:
            if isinstance(node, Residual):
                a = self.nodes(owner, node.main, path, st, held + (st,))
                b = self.nodes(owner, node.shortcut, path, st, held + (st, a))
                box = None
                if a.box is not None and b.box is not None and all(x[0] == y[0] for x, y in zip(a.box.axes, b.box.axes)):
                    axes = tuple((x[0], min(x[1], y[1]), max(x[1] + x[2], y[1] + y[2]) - min(x[1], y[1]))
                                 for x, y in zip(a.box.axes, b.box.axes))
                    box = _Box(min(a.box.channels + b.box.channels, self.input_shape[0]), axes)
                out = _State(a.shape, int(min(self.n_in, a.r + b.r, self.count(box))), box)
                self.step(f"{path}.add" if path else "add", "Add", out, 0, self.held(held + (st, a, b)), 0, 0)
                st = out
            else:
                child = owner._modules.get(node) if isinstance(node, str) else None
                if child is None:
                    self.fail(f"{path}: duat_graph names {node!r}, which is not a child module")
                st = self.module(child, f"{path}.{node}" if path else node, st, held)
        return st

    def fail(self, message: str) -> None:
        """Raise the decomposition's error, or stop the walk quietly in partial mode."""
        if self.partial:
            raise _Stop(message)
        raise NumericsError(message)

    def leaf(self, m: nn.Module, path: str, st: _State, held: tuple) -> _State:
        if isinstance(m, _ELEMENTWISE + (nn.LayerNorm,)):
            out = st.shape                              # shape-preserving: no forward needed
        else:
            try:
                out = out_shape(m, st.shape, path or "<model>")
            except NumericsError as e:
                self.fail(str(e))
        a, box = self.rule(m, st, out)
        n_out, n_loc = math.prod(out), math.prod(st.shape)
        local = n_out * min(a, n_loc)
        new = _State(out, int(min(self.n_in, min(a, n_loc) * st.r, self.count(box))), box)
        static = isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear, nn.LayerNorm, nn.AvgPool1d, nn.AvgPool2d,
                                nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.BatchNorm1d, nn.BatchNorm2d))
        if self.records:                              # the record converts the matrix (and its static part)
            self.kept += _TO_TORCH_KEPT * (2 if static else 1) * local
        record = (_TO_TORCH_PEAK - _TO_TORCH_KEPT) * local if self.records else 0
        norm = isinstance(m, nn.LayerNorm)
        matrix = _KEPT_LAYER_NORM * local if norm else _csr(local, n_out)
        self.step(path, type(m).__name__, new, local, self.held(held + (st,)),
                  (_BUILD_LAYER_NORM if norm else _BUILD) * local,
                  matrix + record + self.product(m, local, n_out, n_loc, self.nnz(st)))
        return new

    def product(self, m: nn.Module, local: int, n_out: int, n_loc: int, nnz_prev: int) -> int:
        """Bytes of ``L @ W_prev`` beside its CSR result when it runs against dense arrays (mirrors
        :func:`numerics.duat._sparse.block_matmul` and :func:`numerics.duat._sparse.matmul`); 0 when sparse."""
        sa, sb, so = n_out * n_loc, n_loc * self.n_in, n_out * self.n_in
        dense_b = nnz_prev >= _DENSE_FRACTION * sb
        if not self.structural and isinstance(m, (nn.Linear, nn.LayerNorm)) and dense_b \
                and max(sb, so) <= _DENSE_LIMIT:
            return _FLOAT * (sb + so) + _FROM_DENSE * so
        if max(sa, sb, so) <= _DENSE_LIMIT and (dense_b or local >= _DENSE_FRACTION * sa):
            return _FLOAT * (sa + sb + so) + _FROM_DENSE * so
        return 0

    def rule(self, m: nn.Module, st: _State, out: tuple) -> tuple[int, _Box | None]:
        """``(a, box)``: nonzeros per row of the local matrix, and the receptive window after the layer."""
        box, shape = st.box, st.shape
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            nd = len(m.kernel_size)
            k, s, d = tuple(m.kernel_size), _pair(m.stride, "stride", nd), _pair(m.dilation, "dilation", nd)
            cg = m.in_channels // m.groups
            channels = box.channels * cg if box is not None else 0
            return cg * math.prod(k), self.window(box, shape, k, s, resolve_padding(m.padding, k, d), d, channels)
        if isinstance(m, _POOLS):
            nd = 2 if isinstance(m, (nn.AvgPool2d, nn.MaxPool2d)) else 1
            k = _pair(m.kernel_size, "kernel_size", nd)
            s = _pair(m.stride if m.stride else m.kernel_size, "stride", nd)
            p = _pair(m.padding, "padding", nd)
            d = _pair(getattr(m, "dilation", 1), "dilation", nd)
            a = 1 if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)) and not self.structural else math.prod(k)
            channels = box.channels if box is not None else 0
            return a, self.window(box, shape, k, s, tuple((v, v) for v in p), d, channels)
        if isinstance(m, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)):
            a, axes = 1, []
            for n, o in zip(shape[1:], out[1:]):
                a *= n // o if n % o == 0 else -(-n // o) + 1
                axes.append((n // o, 0, n // o) if n % o == 0 else (0, 0, math.inf))
            if box is None or len(shape) != len(self.input_shape):
                return a, None
            return a, self.window(box, shape, tuple(e for _, _, e in axes), tuple(j for j, _, _ in axes),
                                  ((0, 0),) * len(axes), (1,) * len(axes), box.channels)
        if isinstance(m, (nn.Linear, nn.LayerNorm)):
            a = shape[-1]
            if box is None or len(shape) != len(self.input_shape) or len(shape) < 2:
                return a, None
            return a, _Box(box.channels, box.axes[:-1] + ((0, 0, math.inf),))
        if isinstance(m, nn.MultiheadAttention):
            return math.prod(shape), None
        if isinstance(m, _ELEMENTWISE):
            return 1, box
        if isinstance(m, (nn.Flatten, nn.Unflatten, ChannelsToTokens)):
            return 1, box if tuple(out) == tuple(shape) else None
        return math.prod(shape), None                 # a leaf without a rule: assume it mixes everything

    # ------------------------------------------------------------------ bookkeeping
    def nnz(self, st: _State) -> int:
        return math.prod(st.shape) * st.r

    def rows(self, st: _State) -> int:
        return math.prod(st.shape)

    def held(self, states: tuple) -> int:
        """Bytes of the maps of ``states``, each distinct state counted once."""
        return sum(_csr(self.nnz(s), self.rows(s)) for s in {id(s): s for s in states}.values())

    def step(self, path: str, kind: str, st: _State, local: int, held: int, build: int, extra: int) -> None:
        """Account one step: ``held`` bytes exist before it, building its matrix takes ``build``, and ``extra``
        (its matrix, its record's conversion) lives beside the composed result."""
        nnz = self.nnz(st)
        self.units += self.rows(st)
        made = _csr(nnz, self.rows(st))
        if self.cumulative:
            self.kept += _TO_TORCH_KEPT * nnz
        acts = 4 * _FLOAT * self.rows(st)
        self.peak = max(self.peak, held + self.kept + max(build, extra + made) + acts)
        self.steps.append(StepEstimate(path, kind, tuple(st.shape), local, nnz))


def out_shape(m: nn.Module, shape: tuple, path: str) -> tuple:
    """Per-sample output shape of leaf ``m`` on a per-sample input of ``shape``: a forward pass on ``meta`` tensors.

    Raises:
        NumericsError: when the layer rejects the shape (as the decomposition would).
    """
    tensors = {k: torch.empty(v.shape, dtype=torch.float64, device="meta")
               for k, v in chain(m.named_parameters(), m.named_buffers()) if v.is_floating_point()}
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
        raise NumericsError(f"{path}: {type(m).__name__} rejected a per-sample input of shape {tuple(shape)}: "
                            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    return tuple(y.shape[1:])


def estimate_memory(model: nn.Module, input_shape: tuple, *, records: bool = False, cumulative: bool = False,
                    structural: bool = False, partial: bool = False) -> MemoryEstimate:
    """Upper bound on the nonzeros of ``W`` and estimate of the peak bytes of a decomposition, from shapes alone.

    Args:
        model: as :func:`numerics.duat.decompose` (float64 or not: only shapes are read).
        input_shape: one sample's shape, no batch dimension.
        records: estimate :func:`numerics.duat.decompose_layers` (keeps each layer's matrices).
        cumulative: with ``records``, also each step's composed map (``cumulative=True``).
        structural: estimate :func:`numerics.duat.receptive_field` (0/1 patterns, max-pool as its full window).
        partial: where the model has a layer the decomposition will refuse, return the estimate of the steps
            before it (``complete=False``) instead of raising: the guard of the decomposition, which then raises
            its own, more specific error at that layer.

    Returns:
        :class:`MemoryEstimate`; nothing of the size of ``W`` is allocated.

    Raises:
        NumericsError: an unsupported layer, or a layer that rejects the shape (unless ``partial``).
    """
    shape = tuple(int(v) for v in input_shape)
    est = _Estimator(shape, records, cumulative, structural, partial)
    box = _Box(1, tuple((1, 0, 1) for _ in shape[1:])) if len(shape) >= 2 else None
    try:
        st = est.module(model, "", _State(shape, 1, box), ())
    except _Stop:
        last = est.steps[-1] if est.steps else StepEstimate("", "", shape, 0, math.prod(shape))
        return MemoryEstimate(shape, last.out_shape, last.nnz, est.peak + _OVERHEAD, est.kept, est.units,
                              tuple(est.steps), complete=False)
    nnz = est.nnz(st)
    kept = est.kept + _TO_TORCH_KEPT * nnz
    final = est.kept + _csr(nnz, est.rows(st)) + _TO_TORCH_PEAK * nnz
    params = sum(2 * _FLOAT * p.numel() for p in chain(model.parameters(), model.buffers()))
    return MemoryEstimate(shape, tuple(st.shape), nnz, max(est.peak, final) + params + _OVERHEAD, kept, est.units,
                          tuple(est.steps))
