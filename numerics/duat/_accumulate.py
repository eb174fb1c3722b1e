"""Composing a graph of local maps into ``W`` and ``b``: forward or reverse order, sparse or dense blocks.

* Order: ``W`` is the product of the local maps along every path. Forward order carries the map from the input to
  each node (``W_v = sum_u L_{v,u} W_u``, one column per input unit); reverse order carries the adjoint from the
  output to each node (``R_u = sum_{v uses u} R_v L_{v,u}``, summed over a node's users as reverse-mode autodiff
  does, one row per output unit). :func:`compose` picks reverse when ``n_out < n_in`` (fewer vectors to carry).
* Blocks: a block holds ``m`` carried vectors (``m`` = the input or output units of one chunk). It stays sparse
  (scipy CSR) while its fill is below :data:`_DENSE_FILL`, then becomes a dense torch tensor ``(m, n_node)`` that
  each map multiplies with its own batched operator (a convolution's ``conv2d`` / ``conv2d_input``, a gather, a
  diagonal scaling; :mod:`numerics.duat._maps`). Chunks of at most :data:`_BLOCK_ENTRIES` dense entries bound the
  memory; the biases follow the same products (``b_v = sum_u L_{v,u} b_u + c_v``, or ``b = sum_v R_v c_v``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ._graph import Graph
from ._maps import Gather
from ._sparse import eye, from_dense, matmul, pattern

_DENSE_FILL = 0.1
"""A sparse block whose fill (nnz / (m n)) reaches this becomes dense. At 10 % the CSR block already takes 15 % of
the dense bytes (12 bytes per nonzero against 8 per entry), and scipy's single-threaded sparse products cost tens
of times more per stored entry than the batched torch kernels, so dense is faster and at most ~7x the memory. Conv
nets on inputs larger than their receptive field stay below it (ResNet basic block at 3x32x32: 2.4 %)."""
_BLOCK_ENTRIES = 1 << 24
"""Entries of one dense block per chunk (128 MiB in float64): the vectors carried are split into chunks of
``_BLOCK_ENTRIES // (largest node)`` (rows of ``W`` in reverse order, columns in forward order are independent)."""

STATS = {"dense_peak": 0}
"""High-water mark of the bytes of the dense blocks alive at once in the last call (torch tensors, which
tracemalloc does not see; tests/numerics/duat/test_estimate.py adds it to the traced peak)."""


def _fill(block) -> float:
    if isinstance(block, torch.Tensor):
        return 1.0
    size = block.shape[0] * block.shape[1]
    return block.nnz / size if size else 1.0


def _dense(block, transpose: bool) -> torch.Tensor:
    if isinstance(block, torch.Tensor):
        return block
    d = block.toarray()
    return torch.from_numpy(np.ascontiguousarray(d.T if transpose else d))


def _add(a, b, transpose: bool):
    """``a + b``; a dense operand is owned by the caller (no other reference) and is summed into in place."""
    if a is None:
        return b
    if isinstance(a, torch.Tensor):
        return a.add_(_dense(b, transpose))
    if isinstance(b, torch.Tensor):
        return b.add_(_dense(a, transpose))
    return (a + b).tocsr()


def _adjoint(m, r: torch.Tensor, owned: bool) -> torch.Tensor:
    """``r @ L`` for a dense adjoint block ``r``; ``owned``: ``r`` is not needed after (scale it in place)."""
    if isinstance(m, Gather) and m.identity:
        return r if owned else r.clone()
    if isinstance(m, Gather) and m.diagonal and owned:
        return r.mul_(m._coef)
    return m.bwd(r)


class _Restart(Exception):
    """A block turned dense while all vectors were carried in one chunk that is too large for it."""


def _densify(block, transpose: bool, structural: bool, single: bool = False):
    if structural or isinstance(block, torch.Tensor) or _fill(block) < _DENSE_FILL:
        return block
    if single and block.shape[0] * block.shape[1] > _BLOCK_ENTRIES:
        raise _Restart
    return _dense(block, transpose)


def _live_dense(*groups) -> int:
    live = {id(v): v for g in groups for v in g if isinstance(v, torch.Tensor)}
    return sum(8 * v.numel() for v in live.values())


def _forward(
    g: Graph, cols: np.ndarray, structural: bool, bias: bool, prefixes: dict | None, last: bool, single: bool = False
):
    """Columns ``cols`` of ``W`` (CSR ``(n_out, len(cols))``) and, with ``bias``, ``b``."""
    users = _last_use(g)
    n_in = g.n_in
    blocks = {0: eye(n_in)[:, cols].tocsr()}
    biases = {0: np.zeros(n_in)} if bias else None
    for node in g.nodes[1:]:
        acc = None
        for i, m in zip(node.inputs, node.maps):
            blk = blocks[i]
            if isinstance(blk, torch.Tensor):
                prod = m.fwd(blk)
            else:
                prod = matmul(m.csr(), blk)
                prod = pattern(prod) if structural else prod
            acc = _add(acc, prod, True)
        blocks[node.index] = _densify(acc, True, structural, single)
        if biases is not None:
            b = node.bias.copy()
            for i, m in zip(node.inputs, node.maps):
                sparse = not isinstance(blocks[i], torch.Tensor)  # its matrix is built: one sparse product
                b += m.csr() @ biases[i] if sparse else m.fwd(torch.from_numpy(biases[i])[None])[0].numpy()
            biases[node.index] = b
        for m in node.maps if last else ():
            m.release()
        if prefixes is not None:
            prefixes[node.index] = (_csr(blocks[node.index], True), None if biases is None else biases[node.index])
        STATS["dense_peak"] = max(STATS["dense_peak"], _live_dense(blocks.values()))
        for i in set(node.inputs):
            if users[i] == node.index and i != g.output:
                del blocks[i]
                if biases is not None:
                    del biases[i]
    return _csr(blocks[g.output], True), (biases[g.output] if biases is not None else None)


def _reverse(g: Graph, rows: np.ndarray, last: bool, single: bool = False):
    """Rows ``rows`` of ``W`` (CSR ``(len(rows), n_in)``) and of ``b``."""
    adj = {g.output: eye(g.nodes[g.output].n)[rows].tocsr()}
    b = np.zeros(len(rows))
    for node in reversed(g.nodes[1:]):
        r = adj.pop(node.index, None)
        if r is None:
            continue
        b += (r @ node.bias) if not isinstance(r, torch.Tensor) else (r @ torch.from_numpy(node.bias)).numpy()
        for k, (i, m) in enumerate(zip(node.inputs, node.maps)):
            owned = k == len(node.maps) - 1  # the last product may take over the block
            prod = _adjoint(m, r, owned) if isinstance(r, torch.Tensor) else matmul(r, m.csr())
            adj[i] = _densify(_add(adj.get(i), prod, False), False, False, single)
            if last:
                m.release()
            STATS["dense_peak"] = max(STATS["dense_peak"], _live_dense(adj.values(), (r, prod)))
        del r
    return _csr(adj.get(0, sp.csr_matrix((len(rows), g.n_in))), False), b


def _csr(block, transpose: bool) -> sp.csr_matrix:
    if not isinstance(block, torch.Tensor):
        return block
    d = block.numpy()
    return from_dense(d.T if transpose else d)


def _last_use(g: Graph) -> dict:
    last = {}
    for node in g.nodes:
        for i in node.inputs:
            last[i] = node.index
    return last


def chunks(m: int, largest: int) -> list[np.ndarray]:
    """Split ``range(m)`` into chunks of at most ``_BLOCK_ENTRIES // largest`` (at least 1)."""
    size = max(1, min(m, _BLOCK_ENTRIES // max(largest, 1)))
    return [np.arange(s, min(s + size, m)) for s in range(0, m, size)]


def compose(
    g: Graph, *, order: str = "auto", structural: bool = False, prefixes: dict | None = None
) -> tuple[sp.csr_matrix, np.ndarray | None, str]:
    """``(W (n_out, n_in) CSR, b or None when structural, order used)``.

    Args:
        order: ``'forward'``, ``'reverse'`` or ``'auto'`` (reverse when ``n_out < n_in``; forward when
            ``structural`` or ``prefixes`` are asked for, which need the maps from the input).
        prefixes: filled with ``node index -> (W_v, b_v)`` (forward order, one chunk).
    """
    STATS["dense_peak"] = 0
    n_out, n_in = g.nodes[g.output].n, g.n_in
    if order == "auto":
        order = "reverse" if n_out < n_in and not structural and prefixes is None else "forward"
    largest = max(node.n for node in g.nodes)
    if order == "reverse":  # adjoints turn dense within a few nodes: chunk from the start
        return _chunked(
            lambda rows, last, single: _reverse(g, rows, last, single), n_out, largest, True, single=False
        ) + (order,)
    if prefixes is not None:
        w, b = _forward(g, np.arange(n_in), structural, not structural, prefixes, True)
        return w, b, order

    def run(cols, last, single):
        return _forward(g, cols, structural, not structural and cols[0] == 0, None, last, single)

    return _chunked(run, n_in, largest, False) + (order,)


def _chunked(run, m: int, largest: int, rows: bool, single: bool = True) -> tuple:
    """With ``single``: all ``m`` vectors in one chunk while the blocks stay sparse (their memory follows the
    nonzeros), and when one turns dense and too large, start again in chunks of at most ``_BLOCK_ENTRIES`` dense
    entries (the sparse work before is cheap beside the dense work after)."""
    if single:
        try:
            return run(np.arange(m), True, True)
        except _Restart:
            pass
    parts = chunks(m, largest)
    ws, bs = [], []
    for k, idx in enumerate(parts):
        w, b = run(idx, k == len(parts) - 1, False)
        ws.append(w)
        bs.append(b)
    if len(ws) == 1:
        return ws[0], bs[0]
    w = sp.vstack(ws, format="csr") if rows else sp.hstack(ws, format="csr")
    del ws[:]
    return w, (np.concatenate(bs) if rows else bs[0])
