"""The memory a decomposition will take, estimated from the shapes before anything is built.

Traces the model like :func:`numerics.duat.decompose` (:mod:`numerics.duat._trace`) and runs the graph on ``meta``
tensors (no data). For every input-dependent node it bounds

* ``a``, the nonzeros per row of its local matrix (conv: ``C_in/groups * prod(kernel)``; pools: the window;
  Linear / LayerNorm: the row width; attention: ``N D``; elementwise layers, data movement, ``+``, ``*``: 1), so the
  local matrix holds at most ``n_out * a`` nonzeros;
* ``r``, the nonzeros per row of the map from the input (the input units one unit can depend on):
  ``r' = min(n_in, a r, box)`` with ``box`` the receptive window (:mod:`numerics.duat._estimate_rules`); a sum of
  two branches takes ``r_1 + r_2`` and the union of their windows.

``nnz(W) <= n_out * r`` is an upper bound. The bytes follow the composition of :mod:`numerics.duat._accumulate`:
the local maps of the whole graph (held while composing), and at each node the blocks alive at once (each either
sparse CSR below the fill threshold, or dense ``(chunk, n_node)``), the product and the records; then the
assembly of ``W`` (constants in :mod:`numerics.duat._estimate_rules`, calibrated by
tests/numerics/duat/test_estimate.py).

This module holds the records and the entry points; the walk over the traced graph is
:mod:`numerics.duat._estimate_walk`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain

from torch import nn

from .._errors import NumericsError
from ._estimate_rules import _FLOAT, _OVERHEAD, peak_bytes
from ._estimate_walk import _Stop, _Walk


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
        peak_bytes: estimated peak of the allocations of the call (local maps, blocks, records, activations).
        kept_bytes: what the returned decomposition keeps (``W`` and the records).
        activations: sum of the units of every step's output (the forward pass of a Jacobian check stores them).
        steps: :class:`StepEstimate` per step.
        complete: False when a ``partial`` estimate stopped at a layer the decomposition refuses.
        order: the product order the decomposition will use (``'forward'`` / ``'reverse'``).
    """

    input_shape: tuple
    output_shape: tuple
    nnz: int
    peak_bytes: int
    kept_bytes: int
    activations: int
    steps: tuple
    complete: bool = True
    order: str = "forward"


def estimate_memory(
    model: nn.Module,
    input_shape: tuple,
    *,
    records: bool = False,
    cumulative: bool = False,
    structural: bool = False,
    partial: bool = False,
) -> MemoryEstimate:
    """Upper bound on the nonzeros of ``W`` and estimate of the peak bytes of a decomposition, from shapes alone.

    Args:
        model: as :func:`numerics.duat.decompose` (float64 or not: only shapes are read).
        input_shape: one sample's shape, no batch dimension.
        records: estimate :func:`numerics.duat.decompose_layers` (keeps each layer's matrices).
        cumulative: with ``records``, also each step's composed map (``cumulative=True``).
        structural: estimate :func:`numerics.duat.receptive_field` (0/1 patterns, max-pool as its full window).
        partial: where the model has an op the decomposition will refuse, return the estimate of the steps
            before it (``complete=False``) instead of raising: the guard of the decomposition, which then raises
            its own, more specific error at that op.

    Returns:
        :class:`MemoryEstimate`; nothing of the size of ``W`` is allocated.

    Raises:
        NumericsError: an unsupported layer or op, a forward torch.fx cannot trace, or a layer that rejects the
            shape (unless ``partial``).
    """
    return estimate(model, input_shape, records=records, cumulative=cumulative, structural=structural, partial=partial)


def estimate(
    model: nn.Module,
    input_shape: tuple,
    *,
    records: bool = False,
    cumulative: bool = False,
    structural: bool = False,
    partial: bool = False,
    traced=None,
) -> MemoryEstimate:
    """:func:`estimate_memory` on an already traced model (``traced``: what :func:`numerics.duat._trace.trace`
    returned), so that a decomposition traces once."""
    shape = tuple(int(v) for v in input_shape)
    try:
        walk = _Walk(model, shape, structural, records, partial, traced)
    except NumericsError:
        if not partial:
            raise
        return MemoryEstimate(shape, shape, math.prod(shape), _OVERHEAD, 0, 0, (), complete=False)
    complete, output = True, None
    try:
        output = walk.run()
    except _Stop:
        complete = False
    nodes = walk.nodes
    out = output if output is not None else len(nodes) - 1
    peak, kept, order = peak_bytes(nodes, out, walk.n_in, structural, cumulative, records)
    steps = tuple(
        StepEstimate(x.path, x.kind, tuple(x.st.shape), x.local, math.prod(x.st.shape) * min(x.st.r, walk.n_in))
        for x in nodes[1:]
    )
    params = sum(2 * _FLOAT * p.numel() for p in chain(model.parameters(), model.buffers()))
    o = nodes[out]
    return MemoryEstimate(
        shape,
        tuple(o.st.shape),
        math.prod(o.st.shape) * min(o.st.r, walk.n_in),
        peak + params + _OVERHEAD,
        kept,
        sum(math.prod(x.st.shape) for x in nodes[1:]),
        steps,
        complete,
        order,
    )
