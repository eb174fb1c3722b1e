"""The record one supported leaf layer produces: its local affine map and the forward-pass factors behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import scipy.sparse as sp
import torch

from ..._errors import NumericsError


@dataclass(frozen=True)
class LeafMap:
    """One layer as ``y = matrix @ x + bias`` at the current input (row-major flattening).

    ``static`` is the input-independent matrix part (the whole matrix for conv/linear/BN/avg-pool, the centring
    part for LayerNorm, ``None`` where every factor is dynamic); ``factors`` holds the forward-pass quantities
    (masks, gates, selections, attention, LayerNorm inverse scales) and fixed factors worth reporting.
    """

    matrix: sp.csr_matrix
    bias: np.ndarray
    out: torch.Tensor
    static: sp.csr_matrix | None = None
    factors: Mapping[str, torch.Tensor] = field(default_factory=dict)
    weight_dynamic: bool = False
    bias_dynamic: bool = False
    blocks: np.ndarray | None = None
    """``(T or 1, p, q)``: the matrix is block-diagonal with these T blocks (one block = shared by all T), for
    fast products with dense-ish operands."""

    def __post_init__(self):
        n_out, n_in = self.matrix.shape
        if self.bias.shape != (n_out,) or self.out.numel() != n_out:
            raise NumericsError(
                f"internal: layer map of shape {self.matrix.shape} with bias {self.bias.shape} "
                f"and output {tuple(self.out.shape)}"
            )


def forward(module: torch.nn.Module, h: torch.Tensor) -> torch.Tensor:
    """Run one supported leaf on one sample (batch of one, on a copy so in-place layers cannot alter ``h``)."""
    with torch.no_grad():
        return module(h[None].clone())[0]


def flat(t: torch.Tensor) -> np.ndarray:
    """Row-major flattening as a float64 numpy vector."""
    return t.detach().reshape(-1).to(torch.float64).cpu().numpy()
