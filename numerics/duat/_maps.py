"""A node's local linear map in three interchangeable forms, each with its index-formula matrix and its batched
products with dense blocks.

* :class:`Gather`: ``y[i] = coef[i] x[idx[i]]`` (``idx[i] = -1``: nothing): diagonal scalings (ReLU masks, gates,
  BatchNorm), 0/1 selections (max-pool, reshapes, permutations, slices, concatenation), broadcasts of ``+``/``*``.
* :class:`Matrix`: any sparse CSR matrix (attention, average pooling); :class:`BlockDiag` when it is
  block-diagonal over tokens (Linear, LayerNorm).
* :class:`Conv`: a convolution, whose matrix :func:`numerics.duat.conv_matrix` builds lazily; dense blocks go through
  torch's own kernels (``conv2d`` forward, ``conv2d_input`` = the transposed convolution backward).

Blocks are batch-major: ``(m, n)`` with one row per propagated vector (an input unit's tangent in forward order, an
output unit's adjoint in reverse order). ``fwd(X) = X L^T`` and ``bwd(X) = X L``; the matrix ``csr()`` stays the
definition (tests compare both).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
import torch.nn.grad  # conv1d_input/conv2d_input; torch.nn does not re-export the submodule

from ._sparse import _DENSE_FRACTION, _DENSE_LIMIT, coo
from .layers._conv import conv_from_args


class Map:
    """``n_out x n_in`` linear map."""

    n_out: int
    n_in: int

    def csr(self) -> sp.csr_matrix:
        raise NotImplementedError

    def fwd(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def bwd(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def release(self) -> None:
        """Drop cached matrices (the accumulation is done with this map)."""


class Gather(Map):
    def __init__(self, idx: np.ndarray, coef: np.ndarray, n_in: int):
        self.idx = np.asarray(idx, dtype=np.int64)
        self.coef = np.where(self.idx >= 0, np.asarray(coef, dtype=np.float64), 0.0)
        self.n_out, self.n_in = self.idx.size, int(n_in)
        self._valid = np.nonzero(self.idx >= 0)[0]
        self.diagonal = self.n_out == self.n_in and bool(np.all((self.idx == np.arange(self.n_out)) | (self.idx < 0)))
        self.identity = self.diagonal and bool(np.all(self.coef == 1.0))
        self._coef = torch.from_numpy(self.coef)

    def csr(self) -> sp.csr_matrix:
        v = self._valid
        return coo(v, self.idx[v], self.coef[v], (self.n_out, self.n_in))

    def fwd(self, x: torch.Tensor) -> torch.Tensor:
        if self.diagonal:
            return x * self._coef
        idx = torch.from_numpy(np.maximum(self.idx, 0))
        return x[:, idx] * self._coef

    def bwd(self, x: torch.Tensor) -> torch.Tensor:
        if self.diagonal:
            return x * self._coef
        v = torch.from_numpy(self._valid)
        out = torch.zeros(x.shape[0], self.n_in, dtype=x.dtype)
        return out.index_add_(1, torch.from_numpy(self.idx[self._valid]), x[:, v] * torch.from_numpy(self.coef[v]))


class Matrix(Map):
    def __init__(self, m: sp.csr_matrix):
        self.m = m.tocsr()
        self.n_out, self.n_in = self.m.shape
        size = self.n_out * self.n_in
        self._dense = (
            torch.from_numpy(self.m.toarray())
            if self.m.nnz >= _DENSE_FRACTION * size and size <= _DENSE_LIMIT
            else None
        )

    def csr(self) -> sp.csr_matrix:
        return self.m

    def fwd(self, x: torch.Tensor) -> torch.Tensor:
        if self._dense is not None:
            return x @ self._dense.T
        return torch.from_numpy(np.ascontiguousarray((self.m @ x.numpy().T).T))

    def bwd(self, x: torch.Tensor) -> torch.Tensor:
        if self._dense is not None:
            return x @ self._dense
        return torch.from_numpy(np.ascontiguousarray((self.m.T @ x.numpy().T).T))


class BlockDiag(Matrix):
    """A block-diagonal matrix (Linear on tokens: one shared block; LayerNorm: one block per token) whose dense
    products run as batched per-token matrix products."""

    def __init__(self, m: sp.csr_matrix, blocks: np.ndarray):
        self.m = m.tocsr()
        self.n_out, self.n_in = self.m.shape
        self.blocks = torch.from_numpy(np.ascontiguousarray(blocks, dtype=np.float64))  # (T or 1, p, q)
        self.tokens = self.n_in // self.blocks.shape[2]

    def fwd(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.matmul(x.reshape(x.shape[0], self.tokens, -1).transpose(0, 1), self.blocks.transpose(1, 2))
        return y.transpose(0, 1).reshape(x.shape[0], -1)

    def bwd(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.matmul(x.reshape(x.shape[0], self.tokens, -1).transpose(0, 1), self.blocks)
        return y.transpose(0, 1).reshape(x.shape[0], -1)


class Conv(Map):
    """``M_K`` of a zero-padded conv (no bias) on a per-sample ``in_shape`` (``(C, H, W)`` or ``(C, L)``)."""

    def __init__(self, weight: torch.Tensor, in_shape: tuple, out_shape: tuple, stride, pads, dilation, groups):
        self.w = weight.detach().to(torch.float64)
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        self.stride, self.pads, self.dilation, self.groups = tuple(stride), tuple(pads), tuple(dilation), groups
        self.n_out, self.n_in = int(np.prod(out_shape)), int(np.prod(in_shape))
        self._m: sp.csr_matrix | None = None
        self.symmetric = all(lo == hi for lo, hi in self.pads)

    def csr(self) -> sp.csr_matrix:
        if self._m is None:
            self._m = conv_from_args(self.w, self.in_shape, self.stride, self.pads, self.dilation, self.groups)
        return self._m

    def release(self) -> None:
        self._m = None

    def _args(self):
        return self.stride, tuple(lo for lo, _ in self.pads), self.dilation, self.groups

    def fwd(self, x: torch.Tensor) -> torch.Tensor:
        if not self.symmetric:
            return Matrix(self.csr()).fwd(x)
        fn = F.conv2d if self.w.dim() == 4 else F.conv1d
        return fn(x.reshape((-1,) + self.in_shape), self.w, None, *self._args()).reshape(x.shape[0], -1)

    def bwd(self, x: torch.Tensor) -> torch.Tensor:
        if not self.symmetric:
            return Matrix(self.csr()).bwd(x)
        fn = torch.nn.grad.conv2d_input if self.w.dim() == 4 else torch.nn.grad.conv1d_input
        out = fn((x.shape[0],) + self.in_shape, self.w, x.reshape((-1,) + self.out_shape), *self._args())
        return out.reshape(x.shape[0], -1)


def as_map(m: sp.csr_matrix, blocks: np.ndarray | None = None) -> Map:
    """:class:`Gather` when every row has at most one nonzero (diagonals, selections), else :class:`BlockDiag`
    when the layer gave its diagonal ``blocks``, else :class:`Matrix`."""
    m = m.tocsr()
    m.sum_duplicates()
    counts = np.diff(m.indptr)
    if counts.size and counts.max() > 1:
        return Matrix(m) if blocks is None else BlockDiag(m, blocks)
    idx = np.full(m.shape[0], -1, dtype=np.int64)
    coef = np.zeros(m.shape[0])
    rows = np.nonzero(counts)[0]
    idx[rows] = m.indices[m.indptr[rows]]
    coef[rows] = m.data[m.indptr[rows]]
    return Gather(idx, coef, m.shape[1])
