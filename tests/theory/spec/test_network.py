"""The Network spec: frozen, self-validating, with every derived fact computed from the layers alone."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import theory
from theory import ConvLayer, DenseLayer, LocalLayer, Network, PointwiseLayer, SparseArray


def ones_conv(c_out, c_in, s, relu=True):
    return ConvLayer(
        SparseArray.from_dense(np.ones((c_out, c_in, s), dtype=int)), SparseArray.zeros((c_out,)), relu=relu
    )


def ones_local(n_out, c_out, c_in, s):
    return LocalLayer(
        SparseArray.from_dense(np.ones((n_out, c_out, c_in, s), dtype=int)), SparseArray.zeros((n_out, c_out))
    )


def ones_pointwise(c_out, c_in, relu=True):
    return PointwiseLayer(
        SparseArray.from_dense(np.ones((c_out, c_in), dtype=int)), SparseArray.zeros((c_out,)), relu=relu
    )


def ones_dense(n_out, c_out, n_in, c_in):
    return DenseLayer(
        SparseArray.from_dense(np.ones((n_out, c_out, n_in, c_in), dtype=int)), SparseArray.zeros((n_out, c_out))
    )


@st.composite
def tree_stack(draw):
    """A stack of conv / local / pointwise / dense layers with full (all-ones) weights and its expected spans."""
    kernels = draw(st.lists(st.sampled_from([2, 3]), min_size=1, max_size=3))
    d = int(np.prod(kernels)) * draw(st.sampled_from([1, 2]))
    layers, n, c = [], d, draw(st.integers(1, 2))
    c_in = c
    spans = [(p, p + 1) for p in range(d)]
    for s in kernels:
        if draw(st.booleans()):
            c_out = draw(st.integers(1, 2))
            layers.append(ones_pointwise(c_out, c))
            c = c_out
        c_out = draw(st.integers(1, 2))
        if draw(st.booleans()):
            layers.append(ones_conv(c_out, c, s))
        else:
            layers.append(ones_local(n // s, c_out, c, s))
        spans = [(spans[p * s][0], spans[p * s + s - 1][1]) for p in range(n // s)]
        n, c = n // s, c_out
    if draw(st.booleans()):
        n_out = draw(st.integers(1, 3))
        layers.append(ones_dense(n_out, 1, n, c))
        spans = [(0, d)] * n_out
        n, c = n_out, 1
    return Network(d=d, c_in=c_in, layers=tuple(layers)), spans


@given(case=tree_stack())
def test_receptive_span_and_field_of_full_stacks(case):
    net, spans = case
    assert net.receptive_span() == tuple(spans)
    # with all-ones weights the actual dependencies are the whole span
    field = net.receptive_field()
    C = net.channels[-1]
    for u, f in enumerate(field):
        lo, hi = spans[u // C]
        assert f.tolist() == list(range(lo, hi))


def test_receptive_span_of_select_levels():
    net = theory.select(27, [5, 20], 3)
    for lvl in range(1, 4):
        part = Network(d=27, layers=net.layers[:lvl])
        assert part.receptive_span() == tuple((p * 3**lvl, (p + 1) * 3**lvl) for p in range(27 // 3**lvl))


def test_network_is_frozen_and_meta_is_read_only():
    net = theory.select(8, [1, 6])
    with pytest.raises(dataclasses.FrozenInstanceError):
        net.d = 16
    with pytest.raises(dataclasses.FrozenInstanceError):
        net.layers[0].relu = False
    with pytest.raises(TypeError):
        net.meta["d"] = 16
    with pytest.raises(TypeError):
        net.meta["support"][0] = 3  # lists in meta are frozen to tuples
    assert isinstance(net.layers, tuple)
    with pytest.raises(TypeError):
        hash(net)


def test_layers_given_as_a_list_are_copied():
    layers = list(theory.select(8, [1, 6]).layers)
    net = Network(d=8, layers=layers, meta={"a": [1, {"b": [2]}], "n": np.int64(3)})
    layers.pop()
    assert net.depth == 4
    assert net.meta["a"] == (1, {"b": (2,)}) and type(net.meta["n"]) is int


def test_derived_facts_of_a_mixed_network():
    layers = (
        ones_pointwise(3, 2),  # (12, 2) -> (12, 3)
        ones_conv(2, 3, 3),  # -> (4, 2)
        ones_local(2, 4, 2, 2),  # -> (2, 4)
        ones_dense(5, 1, 2, 4),  # -> (5, 1)
        ones_pointwise(2, 1, relu=False),  # -> (5, 2)
    )
    net = Network(d=12, c_in=2, layers=layers)
    assert net.positions == (12, 12, 4, 2, 5, 5)
    assert net.channels == (2, 3, 2, 4, 1, 2)
    assert net.depth == 5 and net.n_outputs == 10
    assert net.kinds == ("pointwise", "conv", "local", "dense", "pointwise")
    weights = [3 * 2, 2 * 3 * 3, 2 * 4 * 2 * 2, 5 * 1 * 2 * 4, 2 * 1]
    biases = [3, 2, 2 * 4, 5 * 1, 2]
    assert net.param_count(biases=False) == sum(weights)
    assert net.param_count() == sum(weights) + sum(biases)
    assert net.nonzeros == sum(weights)  # all-ones weights, zero biases
    assert [layer.kernel for layer in layers] == [1, 3, 2, 0, 1]
    assert [(layer.c_in, layer.c_out) for layer in layers] == [(2, 3), (3, 2), (2, 4), (4, 1), (1, 2)]
    assert net.receptive_span() == ((0, 12),) * 5
    text = net.summary()
    assert "d=12" in text and "depth=5" in text and str(net.param_count()) in text and net.content_hash[:16] in text
    assert "d=12" in repr(net)


def test_equality_ignores_meta_but_not_weights_kind_or_shape():
    a = theory.select(8, [1, 6])
    b = Network(d=8, layers=a.layers, meta={"construction": "copy"})
    assert a == b and a.content_hash == b.content_hash
    assert a != theory.select(8, [1, 5])
    assert a != theory.to_lcn(a)
    assert theory.to_lcn(a) != theory.to_fcn(a)
    # the same one-channel 1x1 layer on 2 vs 4 positions
    p = ones_pointwise(1, 1)
    assert Network(d=2, layers=(p,)) != Network(d=4, layers=(p,))
    assert Network(d=2, layers=(p,)).content_hash != Network(d=4, layers=(p,)).content_hash
    assert a.__eq__(3) is NotImplemented


def test_layer_edges_and_biases_by_hand():
    """conv (c_out=2, c_in=2, s=2): unit p*2+o reads input units (p*2+t)*2+c where W[o, c, t] != 0."""
    w = SparseArray.from_dict((2, 2, 2), {(0, 1, 0): 5, (1, 0, 1): Fraction(-1, 2), (1, 1, 1): 3})
    b = SparseArray.from_dict((2,), {(1,): Fraction(7, 3)})
    layer = ConvLayer(w, b)
    units = np.array([0, 1, 3], dtype=np.int64)  # (p=0, o=0), (p=0, o=1), (p=1, o=1)
    which, in_units, nz = layer.edges(units)
    got = sorted((int(units[i]), int(u), w.values[k]) for i, u, k in zip(which, in_units, nz))
    assert got == sorted(
        [
            (0, (0 * 2 + 0) * 2 + 1, Fraction(5)),
            (1, (0 * 2 + 1) * 2 + 0, Fraction(-1, 2)),
            (1, (0 * 2 + 1) * 2 + 1, Fraction(3)),
            (3, (1 * 2 + 1) * 2 + 0, Fraction(-1, 2)),
            (3, (1 * 2 + 1) * 2 + 1, Fraction(3)),
        ]
    )
    assert layer.bias_of(units).tolist() == [0, Fraction(7, 3), Fraction(7, 3)]
    assert layer.out_positions(6) == 3
    with pytest.raises(theory.TheoryError):
        layer.out_positions(5)
