"""Normalisation layers: BatchNorm in eval mode is a fixed diagonal affine map (M5); LayerNorm over the last
dimension is an input-dependent scalar per token times a fixed centring matrix (M6).

* BN(eval): ``D(s (x) 1_HW) x + t (x) 1_HW`` with ``s = gamma / sqrt(var + eps)``, ``t = beta - s mu``.
* LN (per token of width n): ``D(gamma) sigma(x)^-1 (I - 11^T/n) x + beta`` with
  ``sigma(x) = sqrt(mean((x - mean x)^2) + eps)``; block-diagonal over tokens.
Source: Wang & Li, DUAT (arXiv 2407.17480); our reconstruction (docs/duat.md, M5 and M6).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..._errors import NumericsError
from .._sparse import coo, diag
from ._leaf import LeafMap, forward


def batch_norm(module: nn.modules.batchnorm._BatchNorm, h: torch.Tensor, path: str, structural: bool) -> LeafMap:
    """BatchNorm1d/2d in eval mode with running statistics as ``D(s) x + t`` per channel (axis 0 of ``h``).

    Raises:
        NumericsError: in train mode, or without running statistics (batch statistics are not per-sample maps).
    """
    if module.training or module.running_mean is None or module.running_var is None:
        raise NumericsError(
            f"{path}: {type(module).__name__} in train mode (or without running statistics) "
            f"normalises by batch statistics, which is not a per-sample map; allowed: eval mode "
            f"with track_running_stats=True (call model.eval())"
        )
    c = h.shape[0]
    if module.num_features != c:
        raise NumericsError(f"{path}: {type(module).__name__}({module.num_features}) got {c} channels")
    per = h.numel() // c
    mu, var = module.running_mean.double(), module.running_var.double()
    gamma = module.weight.detach().double() if module.weight is not None else torch.ones(c, dtype=torch.float64)
    beta = module.bias.detach().double() if module.bias is not None else torch.zeros(c, dtype=torch.float64)
    s = gamma / torch.sqrt(var + module.eps)
    t = beta - s * mu
    m = diag(np.ones(h.numel()) if structural else np.repeat(s.numpy(), per))
    return LeafMap(m, np.repeat(t.numpy(), per), forward(module, h), m)


def layer_norm(module: nn.LayerNorm, h: torch.Tensor, path: str, structural: bool) -> LeafMap:
    """LayerNorm over the last dimension as ``D(gamma) sigma_t^-1 (I - 11^T/n) x + beta`` for each token ``t``.

    Shape:
        ``h``: ``(..., n)``; the matrix is block-diagonal with ``h.numel()/n`` dense ``n x n`` blocks.

    Raises:
        NumericsError: when the normalised shape is not just the last dimension.
    """
    if len(module.normalized_shape) != 1:
        raise NumericsError(
            f"{path}: LayerNorm{tuple(module.normalized_shape)} is not supported; allowed: "
            f"normalisation over the last dimension only"
        )
    if h.shape[-1] != module.normalized_shape[0]:
        raise NumericsError(f"{path}: LayerNorm({module.normalized_shape[0]}) got input of shape {tuple(h.shape)}")
    n = h.shape[-1]
    x = h.detach().double().reshape(-1, n)
    tokens = x.shape[0]
    inv = 1.0 / torch.sqrt(x.var(dim=1, unbiased=False) + module.eps)
    gamma = module.weight.detach().double() if module.weight is not None else torch.ones(n, dtype=torch.float64)
    beta = module.bias.detach().double() if module.bias is not None else torch.zeros(n, dtype=torch.float64)
    t, e, f = np.meshgrid(np.arange(tokens), np.arange(n), np.arange(n), indexing="ij")
    centre = np.eye(n) - 1.0 / n
    rows, cols = t * n + e, t * n + f
    static = coo(rows, cols, np.broadcast_to(gamma.numpy()[:, None] * centre, rows.shape), (x.numel(), x.numel()))
    if structural:
        m = coo(rows, cols, np.ones(rows.shape), static.shape)
    else:
        m = (diag(np.repeat(inv.numpy(), n)) @ static).tocsr()
    blocks = inv.numpy()[:, None, None] * (gamma.numpy()[:, None] * centre)[None]
    return LeafMap(
        m,
        np.tile(beta.numpy(), tokens),
        forward(module, h),
        static,
        {"inv_std": inv.reshape(h.shape[:-1])},
        weight_dynamic=True,
        blocks=None if structural else blocks,
    )
