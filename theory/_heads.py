"""Heads on the routed coordinates, and the tree sum of a per-patch head.

Reconstruction of Wang & Wu (2023) sections 4.1-4.3 (``shared/papers/wang_wu_2023.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from ._errors import bad
from ._layers import ConvLayer, PointwiseLayer
from ._network import Network, positions_sequence, tree_levels
from ._rational import ZERO, as_rational
from ._sparse import SparseArray


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
    Source: the UAT form used by both papers' heads (Wang & Wu 2023 section 4.1; standard).
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
        return Network(d=1, c_in=self.k, layers=layers, meta={"construction": "two_layer_head", "k": self.k, "m": self.m})

    def evaluate(self, z: Sequence[Any]) -> tuple[Fraction, ...]:
        """Exact ``g(z)`` for ``z`` of length k (independent of the network code path: dense loops)."""
        zs = positions_sequence(z, "z")
        if len(zs) != self.k:
            raise bad("z", z, f"{self.k} numbers")
        zq = [as_rational(v, "z") for v in zs]
        w1, b1, w2, b2 = (a.to_dense() for a in (self.w1, self.b1, self.w2, self.b2))
        hidden = [max(ZERO, b1[r] + sum((w1[r, j] * zq[j] for j in range(self.k)), ZERO)) for r in range(self.m)]
        return tuple(b2[o] + sum((w2[o, r] * hidden[r] for r in range(self.m)), ZERO) for o in range(self.n_out))


def tree_sum(d: int, s: int, patch_head: TwoLayerHead, signs: Sequence[int] | None = None) -> Network:
    """``f(x) = sum_p sign(p) h(x[p s : (p+1) s])``: a per-patch two-layer head summed over the tree.

    Layers (``L = log_s d``):

    1. shared conv (kernel s): the head's hidden units on every patch, ``relu(w_r . x_p + c_r)``;
    2. 1x1 ReLU layer: ``(h_+, h_-) = (relu(h), relu(-h))`` with ``h = a . u + a_0``;
    3. ``L - 1`` summing convs ``W[e, e, t] = 1`` (nonnegative values pass ReLU unchanged). With ``signs``
       (one +1/-1 per root subtree), the root layer swaps the pair for subtrees of sign -1;
    4. linear readout ``h_+ - h_-``.

    Depth ``L + 2``. Example: ``h(u, v) = |u| - |v|`` gives ``sum_p |x_2p| - |x_2p+1|`` exactly.

    Args:
        d: ``s^L``; ``L >= 2`` when ``signs`` is given.
        s: kernel = stride.
        patch_head: a :class:`TwoLayerHead` with ``k = s`` inputs and one output.
        signs: optional sequence of ``s`` values in {+1, -1}, e.g. ``(1, -1)`` for first half minus second.
    Source: Wang & Wu (2023) section 4.3 (reconstruction); the signed version gives Li-Zhang-Arora-type
    "first half minus second half" targets.
    """
    L = tree_levels(d, s)
    if not isinstance(patch_head, TwoLayerHead):
        raise bad("patch_head", type(patch_head).__name__, "a theory.TwoLayerHead")
    if patch_head.k != s or patch_head.n_out != 1:
        raise bad("patch_head", f"k={patch_head.k}, n_out={patch_head.n_out}", f"a head with k = s = {s} inputs and 1 output")
    sign_list = None
    if signs is not None:
        sign_list = positions_sequence(signs, "signs")
        if len(sign_list) != s or any(not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v not in (1, -1)
                                      for v in sign_list):
            raise bad("signs", signs, f"{s} values, each +1 or -1 (one per root subtree)")
        if L < 2:
            raise bad("signs", signs, f"None when d = s (one patch, no subtrees); d = {d}")
    m = patch_head.m
    w1 = SparseArray.from_coo((m, 1, s), [(r, 0, t) for (r, t), _ in patch_head.w1.items()], list(patch_head.w1.values), arg="weight")
    layers = [ConvLayer(w1, patch_head.b1)]
    a = {(0, r): v for (_, r), v in patch_head.w2.items()} | {(1, r): -v for (_, r), v in patch_head.w2.items()}
    a0 = patch_head.b2[(0,)]
    layers.append(PointwiseLayer(SparseArray.from_dict((2, m), a), SparseArray.from_dict((2,), {(0,): a0, (1,): -a0})))
    for lvl in range(2, L + 1):
        root = lvl == L and sign_list is not None
        w = {}
        for t in range(s):
            flip = root and sign_list[t] == -1
            for e in (0, 1):
                w[(1 - e if flip else e, e, t)] = 1
        layers.append(ConvLayer(SparseArray.from_dict((2, 2, s), w), SparseArray.zeros((2,))))
    layers.append(PointwiseLayer(SparseArray.from_dict((1, 2), {(0, 0): 1, (0, 1): -1}), SparseArray.zeros((1,)), relu=False))
    meta = {"construction": "tree_sum", "d": d, "s": s, "L": L, "m": m, "signs": [int(v) for v in sign_list] if sign_list else None}
    return Network(d=d, layers=tuple(layers), meta=meta)
