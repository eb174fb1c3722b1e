"""Sparse helpers of the matrix-vector method: index-formula COO builders, products, torch conversion.

Internally every matrix is a ``scipy.sparse.csr_matrix`` in float64; the public boundary converts to a coalesced
torch sparse COO tensor (:func:`to_torch`). Products switch to a dense BLAS product only when both factors are
already dense-ish and small (attention blocks), so memory stays proportional to the nonzeros for conv layers.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

_DENSE_FRACTION = 0.2
"""Both factors at least this full (nnz / size) -> one dense BLAS product (attention, LayerNorm, Linear blocks);
a local matrix at least this full keeps a dense copy for products with dense blocks (numerics.duat._maps)."""
_DENSE_LIMIT = 1 << 24
"""... and no dense operand or result above this many entries (128 MiB in float64)."""


def coo(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """CSR matrix from (row, col, value) triplets; duplicate entries are summed, explicit zeros dropped."""
    m = sp.coo_matrix(
        (
            np.asarray(vals, dtype=np.float64).ravel(),
            (np.asarray(rows, dtype=np.int64).ravel(), np.asarray(cols, dtype=np.int64).ravel()),
        ),
        shape=shape,
    ).tocsr()
    m.sum_duplicates()
    m.eliminate_zeros()
    return m


def diag(values: np.ndarray) -> sp.csr_matrix:
    """``D(v)``: the diagonal matrix with ``v`` on its diagonal (exact zeros dropped)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    n = v.size
    return coo(np.arange(n), np.arange(n), v, (n, n))


def eye(n: int) -> sp.csr_matrix:
    """The n x n identity."""
    return sp.identity(n, dtype=np.float64, format="csr")


def kron_eye(n: int, block: np.ndarray) -> sp.csr_matrix:
    """``I_n (x) B``: ``n`` copies of the dense block ``B`` on the diagonal (row-major token-wise maps, M7)."""
    return sp.kron(eye(n), sp.csr_matrix(np.asarray(block, dtype=np.float64)), format="csr")


def matmul(a: sp.csr_matrix, b: sp.csr_matrix) -> sp.csr_matrix:
    """``A @ B`` as CSR. When a factor is dense-ish and every operand is small, the product runs against a dense
    array (BLAS or scipy's sparse-times-dense kernel), which is much faster than sparse-times-sparse; same result."""
    dense_a = a.nnz >= _DENSE_FRACTION * a.shape[0] * a.shape[1]
    dense_b = b.nnz >= _DENSE_FRACTION * b.shape[0] * b.shape[1]
    small = max(a.shape[0] * a.shape[1], b.shape[0] * b.shape[1], a.shape[0] * b.shape[1]) <= _DENSE_LIMIT
    if small and (dense_a or dense_b):
        out = from_dense(a.toarray() @ b.toarray())
    else:
        out = (a @ b).tocsr()
    out.eliminate_zeros()
    return out


def from_dense(d: np.ndarray) -> sp.csr_matrix:
    """CSR matrix of a dense 2-D array, skipping the nonzero search when no entry is zero (attention blocks)."""
    d = np.ascontiguousarray(d, dtype=np.float64)
    n, m = d.shape
    nz = d != 0
    if nz.all():
        return sp.csr_matrix((d.ravel(), np.tile(np.arange(m), n), np.arange(0, n * m + 1, m)), shape=(n, m))
    rows, cols = np.nonzero(nz)
    indptr = np.concatenate([[0], np.cumsum(nz.sum(axis=1))])
    return sp.csr_matrix((d[rows, cols], cols, indptr), shape=(n, m))


def pattern(m: sp.csr_matrix) -> sp.csr_matrix:
    """The 0/1 sparsity pattern of ``m`` (structural: every stored entry becomes 1)."""
    p = m.copy()
    p.data = np.ones_like(p.data)
    return p


def to_torch(m: sp.spmatrix) -> torch.Tensor:
    """Coalesced torch sparse COO float64 tensor on the CPU holding the same matrix as ``m``.

    Memory: the int64 indices (16 bytes per nonzero) are the only new array; the values are shared with a
    float64 CSR ``m`` (so the result must not be written to while ``m`` is used)."""
    m = sp.csr_matrix(m)
    m.sum_duplicates()  # canonical: sorted column indices, no duplicates
    idx = np.empty((2, m.nnz), dtype=np.int64)
    idx[0] = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
    idx[1] = m.indices
    data = m.data if m.data.dtype == np.float64 else m.data.astype(np.float64)
    return torch.sparse_coo_tensor(
        torch.from_numpy(idx),
        torch.from_numpy(data),
        m.shape,
        dtype=torch.float64,
        check_invariants=False,
        is_coalesced=True,
    )


def from_torch(t: torch.Tensor) -> sp.csr_matrix:
    """CSR matrix from a torch sparse COO or dense 2-D tensor."""
    if t.is_sparse:
        t = t.coalesce()
        i = t.indices().numpy()
        n_rows, n_cols = t.shape
        return coo(i[0], i[1], t.values().double().numpy(), (n_rows, n_cols))
    return sp.csr_matrix(t.detach().double().numpy())
