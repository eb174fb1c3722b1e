"""Elementwise activations as input-dependent diagonal matrices (M4, M4a, M4b).

* ReLU / LeakyReLU: ``sigma(z) = D(1[z > 0] or a) z``: piecewise constant, equal to the Jacobian off z = 0.
* SiLU, GELU: ``sigma(z) = D(g(z)) z`` with ``g`` = sigmoid, Phi (erf) or the tanh-approximated Phi.
* Sigmoid, Tanh: ``sigma(z) = D((sigma(z) - sigma(0)) / z) z + sigma(0) 1``; the removable singularity at z = 0
  takes the limit ``sigma'(0)`` exactly (1/4 for sigmoid, 1 for tanh).
For the smooth ones ``D`` is a gating decomposition, not the Jacobian. Source: Wang & Li, DUAT (arXiv
2407.17480); the forms are our reconstruction (docs/duat.md, M4, M4a and M4b).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..._errors import NumericsError
from .._sparse import diag
from ._leaf import LeafMap, flat, forward


def _gate(module: nn.Module, z: torch.Tensor, path: str) -> tuple[torch.Tensor, float]:
    """Diagonal factor ``g(z)`` and constant ``c`` with ``module(z) = g(z) z + c`` elementwise."""
    if isinstance(module, nn.ReLU):
        return (z > 0).to(z.dtype), 0.0
    if isinstance(module, nn.LeakyReLU):
        return torch.where(z > 0, torch.ones_like(z), torch.full_like(z, module.negative_slope)), 0.0
    if isinstance(module, nn.SiLU):
        return torch.sigmoid(z), 0.0
    if isinstance(module, nn.GELU):
        if module.approximate == "tanh":
            return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z**3))), 0.0
        if module.approximate != "none":
            raise NumericsError(
                f"{path}: GELU(approximate={module.approximate!r}) is not supported; allowed: 'none' (erf) or 'tanh'"
            )
        return 0.5 * (1.0 + torch.erf(z / math.sqrt(2.0))), 0.0
    if isinstance(module, nn.Sigmoid):
        safe = torch.where(z == 0, torch.ones_like(z), z)
        return torch.where(z == 0, torch.full_like(z, 0.25), (torch.sigmoid(z) - 0.5) / safe), 0.5
    if isinstance(module, nn.Tanh):
        safe = torch.where(z == 0, torch.ones_like(z), z)
        return torch.where(z == 0, torch.ones_like(z), torch.tanh(z) / safe), 0.0
    raise NumericsError(f"internal: no gate for {type(module).__name__}")


def activation(module: nn.Module, h: torch.Tensor, path: str, structural: bool) -> LeafMap:
    """``D(g(z)) z + c``: the mask (ReLU family) or gate (smooth activations) at the layer's input ``z = h``.

    Shape:
        ``h``: any per-sample shape; the matrix is ``(h.numel(), h.numel())`` diagonal.
    """
    g, c = _gate(module, h.detach().to(torch.float64), path)
    piecewise = isinstance(module, (nn.ReLU, nn.LeakyReLU))
    m = diag(np.ones(h.numel()) if structural else flat(g))
    return LeafMap(
        m,
        np.full(h.numel(), c),
        forward(module, h),
        None,
        {("mask" if piecewise else "gate"): g.reshape(h.shape)},
        weight_dynamic=True,
    )


ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.SiLU, nn.GELU, nn.Sigmoid, nn.Tanh)
