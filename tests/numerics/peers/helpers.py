"""Shared nets of the peers tests: a correct select network and a planted wrong one (output 0 = x_i + x_j / 2)."""

from __future__ import annotations

from fractions import Fraction

import theory


def planted(net: theory.Network) -> theory.Network:
    """``net`` (a select spec with k >= 2) with output 0 reading x[support[0]] + x[support[1]] / 2: one readout
    weight pair added, the meta (support) kept, so the routing claim is wrong by |x[support[1]]| / 2."""
    last = net.layers[-1]
    entries = dict(last.weight.items())
    entries[(0, 2)], entries[(0, 3)] = Fraction(1, 2), Fraction(-1, 2)
    readout = theory.PointwiseLayer(theory.SparseArray.from_dict(last.weight.shape, entries), last.bias, relu=False)
    return theory.Network(d=net.d, layers=net.layers[:-1] + (readout,), meta=net.meta)


def skip_without_marabou() -> None:
    """Skip where maraboupy is not installed, without importing it here: its import sets CUDA_VISIBLE_DEVICES=-1
    for the whole test process (and every subprocess it starts)."""
    import pytest

    from numerics.peers import marabou_available

    if not marabou_available():
        pytest.skip("needs maraboupy (the peers extra)")
