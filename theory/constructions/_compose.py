"""Composition of specs and the LCN / FCN counterparts of a CNN spec."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from typing import Any

import numpy as np

from .._errors import TheoryError, bad
from ..cli import MEMORY_BUDGET, check_budget
from ..spec import ConvLayer, DenseLayer, Layer, LocalLayer, Network, PointwiseLayer, SparseArray
from ..spec._network import thaw
from ._memory import guard_spec


def _matmul(a: SparseArray, b: SparseArray) -> SparseArray:
    """Exact sparse product of 2-d arrays ``a (p, q) @ b (q, r)``."""
    rows_b: dict[int, list[tuple[int, Fraction]]] = defaultdict(list)
    for (j, c), v in b.items():
        rows_b[j].append((c, v))
    acc: dict[tuple[int, int], Fraction] = defaultdict(Fraction)
    for (i, j), v in a.items():
        for c, w in rows_b.get(j, ()):
            acc[(i, c)] += v * w
    return SparseArray.from_dict((a.shape[0], b.shape[1]), acc)


def _matvec(a: SparseArray, b: SparseArray) -> SparseArray:
    """Exact ``a (p, q) @ b (q,)``."""
    bd = dict(zip(b.keys.tolist(), b.values))
    acc: dict[tuple[int], Fraction] = defaultdict(Fraction)
    for (i, j), v in a.items():
        if j in bd:
            acc[(i,)] += v * bd[j]
    return SparseArray.from_dict((a.shape[0],), acc)


def _add(x: SparseArray, y: SparseArray) -> SparseArray:
    """Exact ``x + y`` of arrays of one shape."""
    return SparseArray._canonical(x.shape, np.concatenate([x.keys, y.keys]), np.concatenate([x.values, y.values]))


def _as_network(part: Any, name: str) -> Network:
    if isinstance(part, Network):
        return part
    if hasattr(part, "network") and callable(part.network):
        return part.network()
    raise bad(name, type(part).__name__, "a theory.Network or a head (e.g. theory.TwoLayerHead)")


def compose(routing: Any, head: Any) -> Network:
    """The network ``head(routing(x))``.

    When ``routing`` ends in a linear 1x1 layer (the sign-split readout of ``gather``/``select``) and
    ``head`` starts with a 1x1 layer, the two affine maps are fused exactly, ``W = W_h W_r``,
    ``b = W_h b_r + b_h``, so ``compose(gather(d, s), TwoLayerHead(...))`` has depth ``log_s d + 2``.

    Args:
        routing: a :class:`Network` whose output is ``(n, C)``.
        head: a :class:`Network` on ``n`` positions with ``C`` input channels, or a head object with a
            ``network()`` method (:class:`TwoLayerHead`).
    Raises:
        TheoryError: when the head's input size does not match the routing's output.
    Source: Wang & Wu (2023), universality: gather + two-layer head (reconstruction, docs/catalogue.md).
    """
    first = _as_network(routing, "routing")
    second = _as_network(head, "head")
    n, c = first.positions[-1], first.channels[-1]
    if (second.d, second.c_in) != (n, c):
        raise bad(
            "head",
            f"input of {second.d} position(s) x {second.c_in} channel(s)",
            f"{n} position(s) x {c} channel(s), the routing network's output",
        )
    a, b = first.layers[-1], second.layers[0]
    if isinstance(a, PointwiseLayer) and not a.relu and isinstance(b, PointwiseLayer):
        fused = PointwiseLayer(_matmul(b.weight, a.weight), _add(_matvec(b.weight, a.bias), b.bias), relu=b.relu)
        layers = first.layers[:-1] + (fused,) + second.layers[1:]
    else:
        layers = first.layers + second.layers
    meta = {"construction": "compose", "parts": [thaw(first.meta), thaw(second.meta)]}
    return Network(
        d=first.d, c_in=first.c_in, layers=layers, meta=meta, meta_covered=first.meta_covered and second.meta_covered
    )


def _untie(layer: ConvLayer, n_out: int) -> LocalLayer:
    per = layer.weight.size
    keys = (np.arange(n_out, dtype=np.int64)[:, None] * per + layer.weight.keys[None, :]).reshape(-1)
    vals = np.tile(layer.weight.values, n_out)
    bkeys = (np.arange(n_out, dtype=np.int64)[:, None] * layer.c_out + layer.bias.keys[None, :]).reshape(-1)
    bias = SparseArray((n_out, layer.c_out), bkeys, np.tile(layer.bias.values, n_out))
    return LocalLayer(SparseArray((n_out,) + layer.weight.shape, keys, vals), bias, relu=layer.relu)


def to_lcn(net: Network, *, memory_budget: int = MEMORY_BUDGET) -> Network:
    """The same function with every shared conv untied: ``W_lcn[p, o, c, t] = W[o, c, t]`` at every position.

    Parameters grow from ``s C_{l-1} C_l`` to ``n_l s C_{l-1} C_l`` per layer (Wang & Wu 2023 architectures), and so
    do the stored nonzeros: ``n_l`` copies of each conv's filter and bias.

    Args:
        net: a :class:`Network`.
        memory_budget: bytes the LCN may take while it is built (default 4 GiB), estimated from the nonzeros.
    Raises:
        TheoryError: the estimated size exceeds ``memory_budget`` (refused before allocating).
    """
    if not isinstance(net, Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    budget = check_budget(memory_budget)
    counts = [n * l.nonzeros if isinstance(l, ConvLayer) else l.nonzeros for l, n in zip(net.layers, net.positions[1:])]
    guard_spec("to_lcn", counts, budget, "use a smaller d")
    layers = tuple(_untie(l, n) if isinstance(l, ConvLayer) else l for l, n in zip(net.layers, net.positions[1:]))
    return Network(
        d=net.d,
        c_in=net.c_in,
        layers=layers,
        meta={**thaw(net.meta), "architecture": "lcn"},
        meta_covered=net.meta_covered,
    )  # an uncovered meta stays uncovered


def _densify(layer: Layer, n_in: int, n_out: int) -> DenseLayer:
    """A layer as the equivalent dense map ``(n_out, c_out, n_in, c_in)`` (same nonzeros, moved)."""
    if isinstance(layer, DenseLayer):
        return layer
    units = np.arange(n_out * layer.c_out, dtype=np.int64)
    which, in_units, nz = layer.edges(units)
    keys = units[which] * (n_in * layer.c_in) + in_units
    order = np.argsort(keys, kind="stable")
    weight = SparseArray((n_out, layer.c_out, n_in, layer.c_in), keys[order], layer.weight.values[nz][order])
    bias_vals = layer.bias_of(units)
    keep = np.fromiter((v != 0 for v in bias_vals), dtype=bool, count=bias_vals.size)
    bias = SparseArray((n_out, layer.c_out), units[keep], bias_vals[keep])
    return DenseLayer(weight, bias, relu=layer.relu)


def to_fcn(net: Network, *, memory_budget: int = MEMORY_BUDGET) -> Network:
    """The same function with every layer dense on the flattened signal (fully connected network).

    The dense parameter count is ``sum_l N_{l-1} N_l`` with ``N_l = n_l C_l`` (Wang & Wu 2023 architectures); the
    stored nonzeros are those of the function: a shared conv or 1x1 layer stores one copy of its filter per
    position (as :func:`to_lcn`).

    Args:
        net: a :class:`Network`.
        memory_budget: bytes the FCN may take while it is built (default 4 GiB), estimated from the nonzeros.
    Raises:
        TheoryError: a dense shape above ``2**62`` entries, or the estimated size above ``memory_budget``
            (refused before allocating).
    """
    if not isinstance(net, Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    budget = check_budget(memory_budget)
    if net.d * net.c_in * max(p * c for p, c in zip(net.positions, net.channels)) > 2**62:
        raise TheoryError("to_fcn: the dense shape would exceed 2**62 entries")
    shared = [isinstance(l, (ConvLayer, PointwiseLayer)) for l in net.layers]
    counts = [n * l.nonzeros if sh else l.nonzeros for l, n, sh in zip(net.layers, net.positions[1:], shared)]
    units = max(
        (n * l.c_out for l, n in zip(net.layers, net.positions[1:]) if not isinstance(l, DenseLayer)), default=0
    )
    guard_spec("to_fcn", counts, budget, "use a smaller d", largest_units=units)
    layers = tuple(
        _densify(l, n_in, n_out) for l, n_in, n_out in zip(net.layers, net.positions[:-1], net.positions[1:])
    )
    return Network(
        d=net.d,
        c_in=net.c_in,
        layers=layers,
        meta={**thaw(net.meta), "architecture": "fcn"},
        meta_covered=net.meta_covered,
    )  # an uncovered meta stays uncovered
