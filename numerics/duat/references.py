"""Independent reference forms for the DUAT exact claims (checks/duat/_networks.py), written apart from the walker.

Each function rebuilds one matrix-vector form of docs/duat.md (M1-M11, our reconstruction) as a
dense float64 matrix straight from the module's parameters and the torch forward pass, so a claim can compare
:func:`numerics.duat.decompose` against a second computation instead of against itself. Also: margins to the
nearest ReLU / max-pool boundary (E12) and the sigma-free paths of a block graph (E13).
Source: Wang & Li, "Dynamic Universal Approximation Theory" (arXiv 2407.17480); all forms are our reconstruction.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from .._errors import NumericsError, bad
from .._tolerances import TOLERANCES
from ._sparse import from_torch
from .layers import ACTIVATIONS
from .models import Residual

_LEARNED = (nn.Conv1d, nn.Conv2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.MultiheadAttention)


def dense(m: torch.Tensor | sp.spmatrix | np.ndarray) -> np.ndarray:
    """A dense float64 numpy copy of a torch sparse/dense tensor or a scipy matrix."""
    if isinstance(m, torch.Tensor):
        return (m.to_dense() if m.is_sparse else m).detach().double().numpy()
    if isinstance(m, np.ndarray) or not sp.issparse(m):
        return np.asarray(m, dtype=np.float64)
    return m.toarray()


def max_err(actual, expected) -> float:
    """``max |actual - expected|`` over equal shapes (NaN propagates to ``inf``; a shape mismatch is ``inf``)."""
    a, e = (
        np.asarray(dense(actual) if not isinstance(actual, np.ndarray) else actual, dtype=np.float64),
        np.asarray(dense(expected) if not isinstance(expected, np.ndarray) else expected, dtype=np.float64),
    )
    if a.shape != e.shape:
        return math.inf
    if a.size == 0:
        return 0.0
    d = float(np.max(np.abs(a - e)))
    return d if math.isfinite(d) else math.inf


def close(actual, expected, tolerance: str = "float64_affine") -> bool:
    """Whether ``actual`` is within ``TOLERANCES[tolerance]`` of ``expected`` (shapes must match)."""
    a = torch.as_tensor(np.asarray(dense(actual) if not isinstance(actual, np.ndarray) else actual, dtype=np.float64))
    e = torch.as_tensor(
        np.asarray(dense(expected) if not isinstance(expected, np.ndarray) else expected, dtype=np.float64)
    )
    return a.shape == e.shape and TOLERANCES[tolerance].ok(a, e)


# ------------------------------------------------------------------------------------------ activations (M4)
def gate_reference(module: nn.Module, z: torch.Tensor) -> tuple[torch.Tensor, float]:
    """``(g(z), c)`` with ``module(z) = g(z) z + c`` elementwise, written from the textbook formulas (M4, M4a, M4b).

    ReLU ``1[z>0]``; LeakyReLU ``1 or a``; SiLU ``1/(1+e^-z)``; GELU ``Phi(z) = (1 + erf(z/sqrt 2))/2``;
    sigmoid ``(s(z) - 1/2)/z`` (limit 1/4 at 0), tanh ``tanh(z)/z`` (limit 1 at 0).
    """
    one = torch.ones_like(z)
    nz = torch.where(z == 0, one, z)
    if type(module) is nn.ReLU:
        return (z > 0).double(), 0.0
    if type(module) is nn.LeakyReLU:
        return torch.where(z > 0, one, module.negative_slope * one), 0.0
    if type(module) is nn.SiLU:
        return 1.0 / (1.0 + torch.exp(-z)), 0.0
    if type(module) is nn.GELU and module.approximate == "none":
        return 0.5 * (1.0 + torch.erf(z / math.sqrt(2.0))), 0.0
    if type(module) is nn.Sigmoid:
        return torch.where(z == 0, 0.25 * one, (1.0 / (1.0 + torch.exp(-z)) - 0.5) / nz), 0.5
    if type(module) is nn.Tanh:
        return torch.where(z == 0, one, torch.tanh(z) / nz), 0.0
    raise bad("module", type(module).__name__, "ReLU, LeakyReLU, SiLU, GELU (erf), Sigmoid, Tanh")


# ------------------------------------------------------------------------------- token-wise forms (M6, M7, M9)
def layer_norm_reference(ln: nn.LayerNorm, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``(L, c)``: ``vec_r LN(X) = L vec_r X + c`` with block ``t`` = ``D(gamma) sigma_t^-1 (I - 11^T/n)`` (M6).

    Shape: ``x`` ``(N, n)``; ``L`` ``(N n, N n)`` block-diagonal; ``c = 1_N (x) beta``.
    """
    n_tok, n = x.shape
    xs = x.detach().double().numpy()
    sigma = np.sqrt(xs.var(axis=1) + ln.eps)
    centre = np.eye(n) - np.ones((n, n)) / n
    gamma = ln.weight.detach().double().numpy() if ln.weight is not None else np.ones(n)
    beta = ln.bias.detach().double().numpy() if ln.bias is not None else np.zeros(n)
    blocks = [np.diag(gamma) @ centre / s for s in sigma]
    return sp.block_diag(blocks).toarray(), np.tile(beta, n_tok)


def linear_reference(lin: nn.Linear, n_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """``(I_N (x) W, 1_N (x) b)``: a Linear applied to every token, row-major vec (M7)."""
    w = lin.weight.detach().double().numpy()
    b = lin.bias.detach().double().numpy() if lin.bias is not None else np.zeros(w.shape[0])
    return np.kron(np.eye(n_tokens), w), np.tile(b, n_tokens)


def mha_reference(mha: nn.MultiheadAttention, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(M, c, A)`` of self-attention: ``M = sum_h A_h(X) (x) (W_V^h W_O^h)^T``, ``c = 1_N (x) (b_V W_O^T + b_O)`` (M9).

    ``A_h = softmax((X W_Q^h + b_Q^h)(X W_K^h + b_K^h)^T / sqrt(d_h))`` computed here per head with explicit
    slices of ``in_proj_weight``. Shape: ``x`` ``(N, D)``; ``M`` ``(N D, N D)``; ``A`` ``(H, N, N)``.
    """
    xs = x.detach().double().numpy()
    n, d = xs.shape
    h, dh = mha.num_heads, d // mha.num_heads
    w_in = mha.in_proj_weight.detach().double().numpy()
    b_in = mha.in_proj_bias.detach().double().numpy() if mha.in_proj_bias is not None else np.zeros(3 * d)
    w_o = mha.out_proj.weight.detach().double().numpy()
    b_o = mha.out_proj.bias.detach().double().numpy() if mha.out_proj.bias is not None else np.zeros(d)
    m = np.zeros((n * d, n * d))
    attn = np.zeros((h, n, n))
    for k in range(h):
        rows = slice(k * dh, (k + 1) * dh)
        q = xs @ w_in[:d][rows].T + b_in[:d][rows]
        key = xs @ w_in[d : 2 * d][rows].T + b_in[d : 2 * d][rows]
        s = q @ key.T / math.sqrt(dh)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        attn[k] = e / e.sum(axis=1, keepdims=True)
        p = w_in[2 * d :][rows].T @ w_o[:, rows].T  # W_V^h W_O^h, (D, D)
        m += np.kron(attn[k], p.T)
    return m, np.tile(b_in[2 * d :] @ w_o.T + b_o, n), attn


def vit_block_reference(block, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``(W, b)`` of a pre-LN ViT block composed from the reference forms above (M11).

    ``W1 = I + M_A L1``, ``b1 = M_A c1 + c_A``; ``W2 = (I + K2 G K1 L2) W1`` with ``G = D(Phi(FC1 LN2 X1))``;
    ``b2 = b1 + K2 G (K1 (L2 b1 + c2) + k1) + k2`` (GELU has no constant term).
    Shape: ``x`` ``(N, D)``; ``W`` ``(N D, N D)``.
    """
    n, d = x.shape
    eye = np.eye(n * d)
    l1, c1 = layer_norm_reference(block.ln1, x)
    y = torch.from_numpy((l1 @ x.reshape(-1).double().numpy() + c1).reshape(n, d))
    ma, ca, _ = mha_reference(block.attn, y)
    w1, b1 = eye + ma @ l1, ma @ c1 + ca
    x1 = torch.from_numpy((w1 @ x.reshape(-1).double().numpy() + b1).reshape(n, d))
    l2, c2 = layer_norm_reference(block.ln2, x1)
    fc1, gelu, fc2 = block.mlp
    k1, kb1 = linear_reference(fc1, n)
    k2, kb2 = linear_reference(fc2, n)
    z = k1 @ (l2 @ x1.reshape(-1).numpy() + c2) + kb1
    g = np.diag(gate_reference(gelu, torch.from_numpy(z))[0].numpy())
    mlp = k2 @ g @ k1
    return (eye + mlp @ l2) @ w1, b1 + mlp @ (l2 @ b1 + c2) + k2 @ g @ kb1 + kb2


def patch_permutation(channels: int, height: int, width: int, patch: int) -> np.ndarray:
    """The 0/1 im2col matrix ``Pi``: row ``(n, c, a, b)`` reads pixel ``(c, pi P + a, pj P + b)`` of token ``n``.

    Tokens ``n = pi (W/P) + pj`` row-major; within a token, ``(c, a, b)`` row-major like ``K.reshape(D, C P^2)`` (M8).
    Shape: ``(C H W, C H W)`` when ``P`` divides ``H`` and ``W``.
    """
    if height % patch or width % patch:
        raise bad("patch", patch, f"a divisor of H={height} and W={width}")
    pi, pj, c, a, b = np.meshgrid(
        np.arange(height // patch),
        np.arange(width // patch),
        np.arange(channels),
        np.arange(patch),
        np.arange(patch),
        indexing="ij",
    )
    cols = (c * height + pi * patch + a) * width + pj * patch + b
    n = channels * height * width
    perm = np.zeros((n, n))
    perm[np.arange(n), cols.reshape(-1)] = 1.0
    return perm


# ------------------------------------------------------------------------------------- margins (E12)
def boundary_margin(records, x: torch.Tensor) -> float:
    """A lower bound on the l-inf distance from ``x`` to the nearest ReLU or max-pool argmax boundary.

    For a ReLU/LeakyReLU at step ``k`` the pre-activation is ``z = P x + q`` (the previous step's cumulative map,
    checked against the record's mask); unit ``i`` keeps its sign while ``||dx||_inf < |z_i| / ||P_i||_1``. For a
    MaxPool2d (kernel = stride = k, no padding) the selected entry stays its window's argmax while
    ``||dx||_inf < (z_sel - z_j) / (||P_sel||_1 + ||P_j||_1)`` for every other ``j`` in the window. Units (pairs)
    with zero rows are constant in ``x`` and impose no boundary. Before the first boundary crossing every map is
    unchanged, so the minimum over units is a valid margin.

    Args:
        records: ``decompose_layers(model, x, cumulative=True).layers`` of a model whose ReLUs and max-pools each
            read the previous step's output.
        x: the sample.

    Raises:
        NumericsError: when a mask or selection disagrees with ``P x + q`` (the chain assumption fails).
    """
    xs = x.reshape(-1).double().numpy()
    margin = math.inf
    for prev, rec in zip(records, records[1:]):
        if rec.kind not in ("ReLU", "LeakyReLU", "MaxPool2d"):
            continue
        p = from_torch(prev.prefix_W)
        z = p @ xs + prev.prefix_b.numpy()
        l1 = np.asarray(abs(p).sum(axis=1)).ravel()
        if rec.kind != "MaxPool2d":
            if not np.array_equal(z > 0, rec.factors["mask"].reshape(-1).numpy() > 0):
                raise NumericsError(f"{rec.path}: mask differs from the previous step's map (not a chain)")
            margin = min(margin, float(np.min(_ratio(np.abs(z), l1))))
            continue
        (c, h, w), (_, ho, wo) = rec.in_shape, rec.out_shape
        k = h // ho
        zw, lw = _windows(z, (c, h, w), (ho, wo), k), _windows(l1, (c, h, w), (ho, wo), k)
        top = np.argmax(zw, axis=-1)[..., None]
        if not np.array_equal(np.take_along_axis(zw, top, -1)[..., 0].reshape(-1), dense(rec.matrix) @ z):
            raise NumericsError(f"{rec.path}: selection differs from the previous step's map (not a chain)")
        gap = _ratio(np.take_along_axis(zw, top, -1) - zw, np.take_along_axis(lw, top, -1) + lw)
        np.put_along_axis(gap, top, np.inf, -1)
        margin = min(margin, float(gap.min()))
    return margin


def _windows(a: np.ndarray, chw: tuple[int, int, int], out_hw: tuple[int, int], k: int) -> np.ndarray:
    """The ``k x k`` pooling windows of the flat ``(c*h*w,)`` map ``a`` as ``(c, ho, wo, k*k)``."""
    (c, h, w), (ho, wo) = chw, out_hw
    return (
        a.reshape(c, h, w)[:, : ho * k, : wo * k]
        .reshape(c, ho, k, wo, k)
        .transpose(0, 1, 3, 2, 4)
        .reshape(c, ho, wo, k * k)
    )


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, ``inf`` where ``den == 0`` (a pre-activation that does not depend on ``x``)."""
    return np.divide(num, den, out=np.full(np.broadcast_shapes(num.shape, den.shape), np.inf), where=den > 0)


# ----------------------------------------------------------------------------- sigma-free paths (E13)
def linear_reach(model: nn.Module) -> list[tuple[str, bool]]:
    """For each learned layer in walk order: whether the raw input reaches it along a path with no activation.

    Structural (from ``nn.Sequential`` and ``duat_graph()``): an activation cuts the path; a residual sum joins
    its branches (an identity shortcut keeps the path). Max-pool counts as a selection (input-dependent 0/1
    gate), like an activation.

    Returns:
        ``[(path, reached_linearly), ...]`` for Conv/Linear/BatchNorm/LayerNorm/MHA layers.
    """
    out: list[tuple[str, bool]] = []

    def walk(m: nn.Module, path: str, linear: bool) -> bool:
        if isinstance(m, _LEARNED):
            out.append((path, linear))
            return linear
        if type(m) in ACTIVATIONS or isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)):
            return False
        if type(m) is nn.Sequential:
            for name, child in m.named_children():
                linear = walk(child, f"{path}.{name}" if path else name, linear)
            return linear
        graph = getattr(m, "duat_graph", None)
        if callable(graph):
            return nodes(m, graph(), path, linear)
        return linear  # reshapes, pools with fixed matrices, identity

    def nodes(owner: nn.Module, seq: tuple, path: str, linear: bool) -> bool:
        for node in seq:
            if isinstance(node, Residual):
                a, b = nodes(owner, node.main, path, linear), nodes(owner, node.shortcut, path, linear)
                linear = a or b
            else:
                child = owner._modules[node]
                if child is not None:  # a child registered as None computes nothing: the path stays as it is
                    linear = walk(child, f"{path}.{node}" if path else node, linear)
        return linear

    walk(model, "", True)
    return out


def uat_sum(
    w1: np.ndarray,
    b1: np.ndarray,
    w2: np.ndarray,
    b2: np.ndarray,
    sigma: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
) -> np.ndarray:
    """``sum_j W2[:, j] sigma(w_j . x + b_j) + b2`` as an explicit loop over hidden units (the UAT form, E1)."""
    g = b2.copy()
    for j in range(w1.shape[0]):
        g = g + w2[:, j] * sigma(np.array(w1[j] @ x + b1[j]))
    return g
