"""Routing constructions: gather all d inputs (universality) or select k of them (sparse long-range).

Reconstruction of the universality and sparse constructions of Wang & Wu (2023, arXiv 2305.08404; see
docs/catalogue.md, "Wang & Wu: what is reconstructed"): the sign-split identity ``z = relu(z) - relu(-z)``
lets every later ReLU copy nonnegative values unchanged, so
the routing is exact; kernel = stride = s downsampling with multichanneling moves coordinates to the root
in ``L = log_s d`` layers.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._errors import bad
from ..cli import MEMORY_BUDGET, check_budget
from ..spec import ConvLayer, Layer, Network, PointwiseLayer, SparseArray
from ..spec._network import positions_sequence, tree_levels
from ..spec._rational import MINUS_ONE, ONE
from ._compose import to_fcn, to_lcn
from ._memory import guard_spec

ARCHITECTURES = ("cnn", "lcn", "fcn")


def _signs(n: int) -> np.ndarray:
    """Object array ``[+1, -1, +1, -1, ...]`` of length ``n`` (shared Fraction objects, 8 bytes each)."""
    out = np.empty(n, dtype=object)
    out[0::2] = ONE
    out[1::2] = MINUS_ONE
    return out


def _ones(n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = ONE
    return out


def unsplit_layer(k: int) -> PointwiseLayer:
    """Linear 1x1 readout ``(k, 2k)``: output j = channel 2j - channel 2j+1 (undoes the sign split)."""
    keys = np.arange(2 * k, dtype=np.int64) + np.repeat(np.arange(k, dtype=np.int64) * 2 * k, 2)
    return PointwiseLayer(SparseArray((k, 2 * k), keys, _signs(2 * k)), SparseArray.zeros((k,)), relu=False)


def _architecture(net: Network, architecture: Any, memory_budget: int) -> Network:
    if architecture == "cnn":
        return net
    if architecture == "lcn":
        return to_lcn(net, memory_budget=memory_budget)
    if architecture == "fcn":
        return to_fcn(net, memory_budget=memory_budget)
    raise bad("architecture", architecture, "one of 'cnn', 'lcn', 'fcn'")


def gather_nonzeros(d: int, s: int) -> list[int]:
    """Nonzeros of each layer of ``gather(d, s)``: ``2s``, then ``2 s^(l+1)`` for ``l = 1 .. L-1``, then ``2d``."""
    L = tree_levels(d, s)
    return [2 * s] + [2 * s ** (lvl + 1) for lvl in range(1, L)] + [2 * d]


def gather(d: int, s: int = 2, *, memory_budget: int = MEMORY_BUDGET) -> Network:
    """Universality routing: move all ``d`` inputs, sign-split, to the single root position.

    Layers (``L = log_s d`` shared tree convolutions, then a linear 1x1 readout):

    * layer 1: ``C_0 = 1 -> C_1 = 2s``, ``W[2t + e, 0, t'] = (-1)^e [t' = t]``;
    * layer l+1: ``C_l = 2 s^l -> 2 s^(l+1)``, ``W[t C_l + c, c', t'] = [c' = c][t' = t]`` (block t copies
      child t);
    * readout: ``x_i = h[2i] - h[2i+1]``.

    Invariant: at level l, position p, channel ``2r + e`` holds ``relu((-1)^e x[p s^l + r])``, so
    ``n_l * C_l = 2d`` at every level ``l >= 1``. Output: ``x`` itself, exactly. Storage is O(d) nonzeros
    (``2 s (d - 1)/(s - 1)`` in the tree layers), although the dense filter count is Theta(d^2).

    Args:
        d: input length, a power of ``s`` (``d = s^L``, ``L >= 1``).
        s: kernel = stride, ``>= 2``.
        memory_budget: bytes the spec may take while it is built (default 4 GiB; about 16 bytes per stored
            nonzero plus the layer being built, e.g. ~0.4 GiB at d = 2^22, s = 2).
    Raises:
        TheoryError: ``d`` not a power of ``s``, or the estimated size above ``memory_budget`` (refused before
            allocating: ``gather: estimated 96 GiB for the spec (nnz ~ 6.4e9) exceeds memory_budget 4 GiB; ...``).
    Source: Wang & Wu (2023), universality with depth O(log d) (reconstruction, docs/catalogue.md).
    """
    budget = check_budget(memory_budget)
    L = tree_levels(d, s)
    guard_spec("gather", gather_nonzeros(d, s), budget, "use a smaller d")
    t = np.arange(s, dtype=np.int64)
    first_keys = np.repeat(t, 2) + np.repeat(2 * t, 2) * s + np.tile([0, s], s)  # o = 2t+e, key = o*s + t
    layers: list[Layer] = [
        ConvLayer(SparseArray((2 * s, 1, s), first_keys, _signs(2 * s)), SparseArray.zeros((2 * s,)))
    ]
    c = 2 * s
    for _ in range(1, L):
        o = np.arange(s * c, dtype=np.int64)
        keys = (o * c + o % c) * s + o // c  # W[o = t*c + cc, cc, t] with t = o // c, cc = o % c
        layers.append(ConvLayer(SparseArray((s * c, c, s), keys, _ones(s * c)), SparseArray.zeros((s * c,))))
        c *= s
    layers.append(unsplit_layer(d))
    return Network(d=d, layers=tuple(layers), meta={"construction": "gather", "d": d, "s": s, "L": L})


def validate_support(support: Any, d: int) -> list[int]:
    """Check a support: a non-empty sequence of distinct ints in ``[0, d)``."""
    items = positions_sequence(support, "support")
    if not items:
        raise bad("support", support, f"a non-empty sequence of distinct ints in [0, {d})")
    out = []
    for i in items:
        if not isinstance(i, (int, np.integer)) or isinstance(i, (bool, np.bool_)):
            raise bad("support", support, f"ints in [0, {d}); {i!r} is not an int")
        if not 0 <= i < d:
            raise bad("support", support, f"ints in [0, {d}); {int(i)} is out of range")
        out.append(int(i))
    if len(set(out)) != len(out):
        dup = sorted({i for i in out if out.count(i) > 1})
        raise bad("support", support, f"distinct indices; repeated: {dup}")
    return out


def select(
    d: int, support: Sequence[int], s: int = 2, architecture: str = "cnn", *, memory_budget: int = MEMORY_BUDGET
) -> Network:
    """Sparse long-range routing: output j is ``x[support[j]]`` exactly, with ``2k`` channels per level.

    Layers (``k = len(support)``, ``delta_l(i) = floor(i / s^l) mod s`` the base-s digits):

    * layer 1: ``W[2j + e, 0, t] = (-1)^e [t = delta_0(i_j)]``;
    * layer l+1: ``W[2j + e, 2j' + e', t] = [j = j'][e = e'][t = delta_l(i_j)]``;
    * readout: ``x[i_j] = h[2j] - h[2j+1]``.

    Invariant: level l, position p, channel ``(j, e)`` holds ``relu((-1)^e x[p s^l + (i_j mod s^l)])``. The
    selection rule depends only on a digit of ``i_j``, never on ``p``: one shared filter per level works
    everywhere. Parameters of the L tree layers (dense count, no biases): ``2ks + (L-1) 4k^2 s``; nonzeros
    ``2kL``.

    Args:
        d: input length ``s^L``.
        support: k distinct indices in ``[0, d)``, any order, any distance apart (``0`` and ``d-1`` included).
        s: kernel = stride, ``>= 2``.
        architecture: ``"cnn"`` (shared filters), ``"lcn"`` (the same function, weights untied per position:
            ``sum_l d_l s (2k)^2`` parameters) or ``"fcn"`` (every layer dense on the flattened signal).
        memory_budget: bytes the LCN / FCN counterpart may take while it is built (default 4 GiB; the CNN
            itself stores ``O(k log d)`` nonzeros); see :func:`to_lcn`.
    Raises:
        TheoryError: bad ``d``, ``support``, ``s`` or ``architecture``, or an LCN / FCN counterpart whose
            estimated size exceeds ``memory_budget``.
    Source: Wang & Wu (2023), sparse long-range functions (reconstruction, docs/catalogue.md).
    """
    budget = check_budget(memory_budget)
    L = tree_levels(d, s)
    idx = validate_support(support, d)
    if not isinstance(architecture, str) or architecture not in ARCHITECTURES:
        raise bad("architecture", architecture, "one of 'cnn', 'lcn', 'fcn'")
    k = len(idx)
    digits = [[(i // s**lvl) % s for i in idx] for lvl in range(L)]
    first = {(2 * j + e, 0, digits[0][j]): (-1) ** e for j in range(k) for e in (0, 1)}
    layers: list[Layer] = [
        ConvLayer(SparseArray.from_dict((2 * k, 1, s), first, arg="weight"), SparseArray.zeros((2 * k,)))
    ]
    for lvl in range(1, L):
        w = {(o, o, digits[lvl][o // 2]): 1 for o in range(2 * k)}
        layers.append(ConvLayer(SparseArray.from_dict((2 * k, 2 * k, s), w, arg="weight"), SparseArray.zeros((2 * k,))))
    layers.append(unsplit_layer(k))
    meta = {"construction": "select", "d": d, "s": s, "L": L, "support": idx, "architecture": architecture}
    return _architecture(Network(d=d, layers=tuple(layers), meta=meta), architecture, budget)
