"""Multi-head self-attention as ``[sum_h A_h(X) (x) (W_V^h W_O^h)^T] vec_r X + 1_N (x) (W_O^T b_V + b_O)`` (M9).

The attention matrices ``A_h(X) = softmax((X W_Q^h + b_Q^h)(X W_K^h + b_K^h)^T / sqrt(d_h))`` are the input-dependent
weight; the value bias passes through as a constant because every row of ``A_h`` sums to 1. PyTorch slicing:
``W_V^h = in_proj_weight[2d + h d_h : 2d + (h+1) d_h].T``, ``W_O^h = out_proj.weight[:, h d_h:(h+1) d_h].T``.
Source: Wang & Li, DUAT (arXiv 2407.17480), "MHA" in the matrix-vector method; our reconstruction
(docs/duat.md, M9).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..._errors import NumericsError
from .._sparse import from_dense
from ._leaf import LeafMap


def _check(module: nn.MultiheadAttention, h: torch.Tensor, path: str) -> None:
    """Reject what the form above does not cover: separate k/v dims, bias_kv, zero attention, train dropout."""
    why = None
    if not module._qkv_same_embed_dim:
        why = "kdim/vdim different from embed_dim"
    elif module.bias_k is not None or module.add_zero_attn:
        why = "add_bias_kv / add_zero_attn"
    elif module.training and module.dropout > 0:
        why = "attention dropout in train mode (call model.eval())"
    elif h.dim() != 2 or h.shape[1] != module.embed_dim:
        why = f"input of shape {tuple(h.shape)} (expected (tokens, {module.embed_dim}))"
    if why:
        raise NumericsError(
            f"{path}: nn.MultiheadAttention with {why} is not supported; allowed: self-attention "
            f"on (tokens, embed_dim) without masks, bias_kv or zero attention"
        )


def self_attention(module: nn.MultiheadAttention, h: torch.Tensor, path: str, structural: bool) -> LeafMap:
    """Self-attention ``MHA(X, X, X)`` (no masks) of one sample ``X`` in the form above.

    Shape:
        ``h``: ``(N, D)`` tokens (for either ``batch_first``); matrix ``(N D, N D)`` (dense blocks).
    """
    _check(module, h, path)
    n, d = h.shape
    heads, dh = module.num_heads, module.head_dim
    x = h.detach().double()
    w_in = module.in_proj_weight.detach().double()
    b_in = (
        module.in_proj_bias.detach().double() if module.in_proj_bias is not None else torch.zeros(3 * d, dtype=x.dtype)
    )
    w_o = module.out_proj.weight.detach().double()
    b_o = module.out_proj.bias.detach().double() if module.out_proj.bias is not None else torch.zeros(d, dtype=x.dtype)
    q, k, _ = [
        (x @ w_in[i * d : (i + 1) * d].T + b_in[i * d : (i + 1) * d]).reshape(n, heads, dh).transpose(0, 1)
        for i in range(3)
    ]
    attn = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(dh), dim=-1)  # (H, N, N)
    w_v = w_in[2 * d :].reshape(heads, dh, d)  # rows of W_V^h.T
    w_oh = w_o.reshape(d, heads, dh).permute(1, 2, 0)  # W_O^h: (H, dh, D)
    p = torch.einsum("hcd,hce->hde", w_v, w_oh)  # P_h = W_V^h W_O^h
    # vec_r(Y)[(i, f)] = sum_h sum_{j,e} A_h[i, j] P_h[e, f] X[j, e]
    dense = torch.ones(n, d, n, d, dtype=x.dtype) if structural else torch.einsum("hij,hef->ifje", attn, p)
    m = from_dense(dense.reshape(n * d, n * d).numpy())
    bias = (b_in[2 * d :] @ w_o.T + b_o).repeat(n).numpy()
    with torch.no_grad():
        xb = h[None] if module.batch_first else h[:, None]
        out = module(xb, xb, xb, need_weights=False)[0]
        out = out[0] if module.batch_first else out[:, 0]
    return LeafMap(m, bias, out, None, {"attention": attn, "value_output": p}, weight_dynamic=True)
