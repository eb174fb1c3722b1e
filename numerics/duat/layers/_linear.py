"""Fixed linear layers: Linear on tokens ``(I_N (x) W) vec_r X + 1_N (x) b`` (M7), shape-only layers (Flatten,
Unflatten, Identity, Dropout in eval: the identity on the row-major vector) and the channels-to-tokens
permutation of patch embedding (M8). Source: Wang & Li, DUAT (arXiv 2407.17480); our reconstruction
(docs/duat.md, M7 and M8).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..._errors import NumericsError
from .._sparse import coo, eye, kron_eye
from ._leaf import LeafMap, forward


def linear(module: nn.Linear, h: torch.Tensor, path: str, structural: bool) -> LeafMap:
    """Linear on the last dimension: ``(I_N (x) W)`` with ``N = h.numel() / in_features`` tokens.

    Shape:
        ``h``: ``(..., in_features)``; matrix ``(N out_features, N in_features)``.
    """
    if h.shape[-1] != module.in_features:
        raise NumericsError(f"{path}: Linear({module.in_features}, ...) got input of shape {tuple(h.shape)}")
    tokens = h.numel() // module.in_features
    w = module.weight.detach().double().numpy()
    m = kron_eye(tokens, np.ones_like(w) if structural else w)
    b = module.bias.detach().double().numpy() if module.bias is not None else np.zeros(module.out_features)
    return LeafMap(m, np.tile(b, tokens), forward(module, h), m, blocks=None if structural else w[None])


def reshape_only(module: nn.Module, h: torch.Tensor, path: str, structural: bool) -> LeafMap:
    """Flatten / Unflatten / Identity / Dropout (eval): the identity on the row-major flattened sample.

    Raises:
        NumericsError: for Dropout in train mode (random, not a function of the input).
    """
    if isinstance(module, nn.Dropout) and module.training and module.p > 0:
        raise NumericsError(
            f"{path}: Dropout(p={module.p}) in train mode is random; allowed: eval mode (call model.eval())"
        )
    if isinstance(module, nn.Flatten) and module.start_dim == 0:
        raise NumericsError(f"{path}: Flatten(start_dim=0) merges the batch dimension; allowed: start_dim >= 1")
    m = eye(h.numel())
    return LeafMap(m, np.zeros(h.numel()), forward(module, h), m)


class ChannelsToTokens(nn.Module):
    """``(B, C, H, W) -> (B, H W, C)``: ``x.flatten(2).transpose(1, 2)``, the token layout after patch embedding."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).transpose(1, 2)


def channels_to_tokens(module: ChannelsToTokens, h: torch.Tensor, path: str, structural: bool) -> LeafMap:
    """The permutation ``Pi``: output row ``n C + c`` reads input ``c HW + n`` (part of M8).

    Shape:
        ``h``: ``(C, H, W)`` -> ``(H W, C)``.
    """
    if h.dim() != 3:
        raise NumericsError(f"{path}: ChannelsToTokens needs a (C, H, W) sample, got {tuple(h.shape)}")
    c, hw = h.shape[0], h.shape[1] * h.shape[2]
    n, ch = np.meshgrid(np.arange(hw), np.arange(c), indexing="ij")
    m = coo(n * c + ch, ch * hw + n, np.ones(n.shape), (c * hw, c * hw))
    return LeafMap(m, np.zeros(c * hw), forward(module, h), m)
