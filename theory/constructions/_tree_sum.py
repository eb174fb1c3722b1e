"""The tree sum of a per-patch two-layer head: ``sum_p sign(p) h(x_p)`` by a depth-log d CNN.

Our reconstruction, after Wang & Wu (2023, arXiv 2305.08404), of the per-patch sums used for the separation
upper bounds (docs/catalogue.md, "Wang & Wu: what is reconstructed").
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .._errors import bad
from ..heads import TwoLayerHead
from ..spec import ConvLayer, Layer, Network, PointwiseLayer, SparseArray
from ..spec._network import positions_sequence, tree_levels


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
    Source: Wang & Wu (2023), sums of per-patch functions (reconstruction); the signed version gives Li-Zhang-Arora-type
    "first half minus second half" targets.
    """
    L = tree_levels(d, s)
    if not isinstance(patch_head, TwoLayerHead):
        raise bad("patch_head", type(patch_head).__name__, "a theory.TwoLayerHead")
    if patch_head.k != s or patch_head.n_out != 1:
        raise bad(
            "patch_head", f"k={patch_head.k}, n_out={patch_head.n_out}", f"a head with k = s = {s} inputs and 1 output"
        )
    sign_list = None
    if signs is not None:
        sign_list = positions_sequence(signs, "signs")
        if len(sign_list) != s or any(
            not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v not in (1, -1) for v in sign_list
        ):
            raise bad("signs", signs, f"{s} values, each +1 or -1 (one per root subtree)")
        if L < 2:
            raise bad("signs", signs, f"None when d = s (one patch, no subtrees); d = {d}")
    m = patch_head.m
    w1 = SparseArray.from_coo(
        (m, 1, s), [(r, 0, t) for (r, t), _ in patch_head.w1.items()], list(patch_head.w1.values), arg="weight"
    )
    layers: list[Layer] = [ConvLayer(w1, patch_head.b1)]
    a = {(0, r): v for (_, r), v in patch_head.w2.items()} | {(1, r): -v for (_, r), v in patch_head.w2.items()}
    a0 = patch_head.b2[(0,)]
    layers.append(PointwiseLayer(SparseArray.from_dict((2, m), a), SparseArray.from_dict((2,), {(0,): a0, (1,): -a0})))
    for lvl in range(2, L + 1):
        root = lvl == L and sign_list is not None
        w: dict[tuple[int, int, int], int] = {}
        for t in range(s):
            flip = root and sign_list is not None and sign_list[t] == -1
            for e in (0, 1):
                w[(1 - e if flip else e, e, t)] = 1
        layers.append(ConvLayer(SparseArray.from_dict((2, 2, s), w), SparseArray.zeros((2,))))
    layers.append(
        PointwiseLayer(SparseArray.from_dict((1, 2), {(0, 0): 1, (0, 1): -1}), SparseArray.zeros((1,)), relu=False)
    )
    meta = {
        "construction": "tree_sum",
        "d": d,
        "s": s,
        "L": L,
        "m": m,
        "signs": [int(v) for v in sign_list] if sign_list else None,
    }
    return Network(d=d, layers=tuple(layers), meta=meta)
