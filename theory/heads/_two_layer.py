"""The exact two-layer ReLU head on routed coordinates (any two-layer net, no approximation).

Reconstruction, after Wang & Wu (2023, arXiv 2305.08404), of the two-layer head on routed coordinates
(docs/catalogue.md, "Wang & Wu: what is reconstructed").
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from .._errors import bad
from ..spec import Network, PointwiseLayer, SparseArray, as_rational
from ..spec._network import positions_sequence
from ..spec._rational import ZERO


def _as_sparse(value: Any, name: str, ndim: int) -> SparseArray:
    arr = value if isinstance(value, SparseArray) else None
    if arr is None:
        try:
            dense = np.asarray(value, dtype=object)
        except (TypeError, ValueError):
            raise bad(name, value, f"a {ndim}-d array of exact rationals") from None
        if dense.ndim != ndim or 0 in dense.shape:
            raise bad(f"{name} shape", dense.shape, f"a non-empty {ndim}-d array")
        arr = SparseArray.from_dense(dense, arg=name)
    if arr.ndim != ndim:
        raise bad(f"{name} shape", arr.shape, f"{ndim} axes")
    return arr


@dataclass(frozen=True, eq=False)
class TwoLayerHead:
    """Any two-layer ReLU network ``g(z) = W2 relu(W1 z + b1) + b2`` on ``k`` routed coordinates.

    Shapes: ``w1 (m, k)``, ``b1 (m,)``, ``w2 (n_out, m)``, ``b2 (n_out,)``; entries exact rationals
    (anything :func:`theory.as_rational` accepts; converted on creation).
    Source: the UAT form used by both papers' heads (Wang & Wu 2023, universality; standard).
    """

    w1: Any
    b1: Any
    w2: Any
    b2: Any

    def __post_init__(self) -> None:
        w1, b1 = _as_sparse(self.w1, "w1", 2), _as_sparse(self.b1, "b1", 1)
        w2, b2 = _as_sparse(self.w2, "w2", 2), _as_sparse(self.b2, "b2", 1)
        m = w1.shape[0]
        if b1.shape != (m,):
            raise bad("b1 shape", b1.shape, f"({m},): one bias per hidden unit of w1 {w1.shape}")
        if w2.shape[1] != m:
            raise bad("w2 shape", w2.shape, f"(n_out, {m}): w2 must read the {m} hidden units of w1")
        if b2.shape != (w2.shape[0],):
            raise bad("b2 shape", b2.shape, f"({w2.shape[0]},): one bias per output of w2")
        for name, v in (("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)):
            object.__setattr__(self, name, v)

    @property
    def k(self) -> int:
        """Number of inputs (routed coordinates)."""
        return self.w1.shape[1]

    @property
    def m(self) -> int:
        """Hidden width."""
        return self.w1.shape[0]

    @property
    def n_out(self) -> int:
        return self.w2.shape[0]

    def network(self) -> Network:
        """The head as a network on one position with ``k`` channels: 1x1 ReLU layer, then 1x1 linear."""
        layers = (PointwiseLayer(self.w1, self.b1, relu=True), PointwiseLayer(self.w2, self.b2, relu=False))
        return Network(
            d=1, c_in=self.k, layers=layers, meta={"construction": "two_layer_head", "k": self.k, "m": self.m}
        )

    def evaluate(self, z: Sequence[Any]) -> tuple[Fraction, ...]:
        """Exact ``g(z)`` for ``z`` of length k (independent of the network code path: dense loops)."""
        zs = positions_sequence(z, "z")
        if len(zs) != self.k:
            raise bad("z", z, f"{self.k} numbers")
        zq = [as_rational(v, "z") for v in zs]
        w1, b1, w2, b2 = (a.to_dense() for a in (self.w1, self.b1, self.w2, self.b2))
        hidden = [max(ZERO, b1[r] + sum((w1[r, j] * zq[j] for j in range(self.k)), ZERO)) for r in range(self.m)]
        return tuple(b2[o] + sum((w2[o, r] * hidden[r] for r in range(self.m)), ZERO) for o in range(self.n_out))
