"""tree_sum and compose against direct per-patch / dense evaluation (plain loops in ``tests/theory/random_heads.py``).

Source of the formulas: Wang & Wu (2023), universality (gather + two-layer head, depth log_s d + 2) and the
sums of per-patch functions (signed root for "first half minus second half"); reconstructions, docs/catalogue.md.
"""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import theory
from tests.theory.random_heads import ZERO, rand_q, random_head_lists, two_layer


def random_x(d: int, seed: int) -> list[Fraction]:
    rng = random.Random(seed)
    return [rand_q(rng, 30) for _ in range(d)]


# ---------------------------------------------------------------------------------------------- tree_sum
ABS_DIFF = ([[1, 0], [-1, 0], [0, 1], [0, -1]], [0] * 4, [[1, 1, -1, -1]], [0])


def test_tree_sum_abs_difference_d256():
    """sum_p |x_2p| - |x_2p+1| exactly at d = 256, s = 2 (an exact check of the tree-sum reconstruction)."""
    d = 256
    net = theory.tree_sum(d, 2, theory.TwoLayerHead(*ABS_DIFF))
    assert net.depth == 8 + 2
    for seed in range(3):
        x = random_x(d, seed)
        want = sum((abs(x[2 * p]) - abs(x[2 * p + 1]) for p in range(d // 2)), ZERO)
        assert theory.evaluate_exact(net, x) == (want,)
        trace = theory.trace_exact(net, x)
        # level 2 holds (h+, h-) of each patch's value, level l >= 3 the partial sums of s^(l-2) patches
        for p in range(d // 2):
            h = abs(x[2 * p]) - abs(x[2 * p + 1])
            assert (trace[2][p, 0], trace[2][p, 1]) == (max(h, ZERO), max(-h, ZERO))
        assert trace[-1].shape == (1, 1)


def test_tree_sum_first_half_minus_second_half():
    d = 64
    net = theory.tree_sum(d, 2, theory.TwoLayerHead(*ABS_DIFF), signs=(1, -1))
    x = random_x(d, 11)
    h = [abs(x[2 * p]) - abs(x[2 * p + 1]) for p in range(d // 2)]
    assert theory.evaluate_exact(net, x) == (sum(h[: d // 4], ZERO) - sum(h[d // 4 :], ZERO),)


@st.composite
def tree_sum_case(draw):
    s = draw(st.integers(2, 4))
    L = draw(st.integers(1, {2: 7, 3: 4, 4: 3}[s]))
    m = draw(st.integers(1, 4))
    signed = L >= 2 and draw(st.booleans())
    signs = draw(st.lists(st.sampled_from([1, -1]), min_size=s, max_size=s)) if signed else None
    return s, L, m, signs, draw(st.integers(0, 2**32))


@given(case=tree_sum_case())
def test_tree_sum_random_heads_and_signs(case):
    s, L, m, signs, seed = case
    d = s**L
    rng = random.Random(seed)
    w1, b1, w2, b2 = random_head_lists(rng, s, m)
    net = theory.tree_sum(d, s, theory.TwoLayerHead(w1, b1, w2, b2), signs=signs)
    assert net.depth == L + 2
    assert net.positions[-1] == 1 and net.channels[-1] == 1
    x = random_x(d, seed)
    subtree = d // s  # inputs per root subtree
    want = ZERO
    for p in range(d // s):
        (g,) = two_layer(w1, b1, w2, b2, x[p * s : (p + 1) * s])
        sign = 1 if signs is None else signs[(p * s) // subtree]
        want += sign * g
    assert theory.evaluate_exact(net, x) == (want,)
    # O(1) parameters per summing layer: (2, 2, s) filters.
    assert all(layer.weight.shape == (2, 2, s) for layer in net.layers[2 : L + 1])


# ---------------------------------------------------------------------------------------------- compose
@st.composite
def gather_head_case(draw):
    s = draw(st.integers(2, 4))
    L = draw(st.integers(1, {2: 6, 3: 3, 4: 3}[s]))
    return s, L, draw(st.integers(1, 4)), draw(st.integers(1, 2)), draw(st.integers(0, 2**32))


@given(case=gather_head_case())
def test_compose_gather_reproduces_any_two_layer_net(case):
    """Universality (Wang & Wu 2023, reconstruction): gather + head == the head on x, depth log_s d + 2."""
    s, L, m, n_out, seed = case
    d = s**L
    rng = random.Random(seed)
    lists = random_head_lists(rng, d, m, n_out, density=0.5)
    net = theory.compose(theory.gather(d, s), theory.TwoLayerHead(*lists))
    assert net.depth == L + 2
    assert net.kinds == ("conv",) * L + ("pointwise", "pointwise")
    assert net.n_outputs == n_out
    for k in range(2):
        x = random_x(d, seed + k)
        assert theory.evaluate_exact(net, x) == two_layer(*lists, x)
    # output o depends on exactly the inputs some hidden unit with a nonzero output weight reads
    w1, _, w2, _ = lists
    for o, field in enumerate(net.receptive_field()):
        want = {i for r in range(m) if w2[o][r] != 0 for i in range(d) if w1[r][i] != 0}
        assert set(field.tolist()) == want


@given(seed=st.integers(0, 2**32), k=st.integers(1, 4))
def test_compose_select_with_head(seed, k):
    rng = random.Random(seed)
    s, L = rng.choice([(2, 7), (3, 4), (5, 2)])
    d = s**L
    support = rng.sample(range(d), k)
    lists = random_head_lists(rng, k, 3)
    net = theory.compose(theory.select(d, support, s), theory.TwoLayerHead(*lists))
    assert net.depth == L + 2
    x = random_x(d, seed)
    assert theory.evaluate_exact(net, x) == two_layer(*lists, [x[i] for i in support])


def test_compose_without_fusion_appends_layers():
    """A routing ending in a ReLU layer is not fused: depth adds up, the function is still head(routing(x))."""
    d, s = 8, 2
    routing = theory.Network(d=d, layers=theory.gather(d, s).layers[:3])  # 1 position x 2d channels, ReLU
    lists = random_head_lists(random.Random(5), 2 * d, 2)
    head = theory.TwoLayerHead(*lists)
    net = theory.compose(routing, head)
    assert net.depth == 3 + 2
    x = random_x(d, 5)
    split = [v for xi in x for v in (max(xi, ZERO), max(-xi, ZERO))]
    assert theory.evaluate_exact(net, x) == two_layer(*lists, split)


def test_compose_fuses_biases_of_the_linear_readout():
    """W_h (W_r h + b_r) + b_h, with a nonzero routing bias."""
    d = 4
    g = theory.gather(d)
    readout = g.layers[-1]
    shifted = theory.PointwiseLayer(readout.weight, theory.SparseArray.from_dense([1, 2, 3, 4]), relu=False)
    routing = theory.Network(d=d, layers=g.layers[:-1] + (shifted,))
    w1, b1, w2, b2 = [[1, 0, -1, 2]], [Fraction(-1, 2)], [[3]], [1]
    net = theory.compose(routing, theory.TwoLayerHead(w1, b1, w2, b2))
    assert net.depth == theory.gather(d).depth + 1
    x = random_x(d, 2)
    y = [x[i] + (i + 1) for i in range(d)]
    assert theory.evaluate_exact(net, x) == two_layer(w1, b1, w2, b2, y)


def test_compose_head_size_mismatch():
    head = theory.TwoLayerHead([[1, 2, 3]], [0], [[1]], [0])
    with pytest.raises(theory.TheoryError, match="head"):
        theory.compose(theory.gather(4), head)
    with pytest.raises(theory.TheoryError, match="head"):
        theory.compose(theory.select(16, [0, 15]), head)
    with pytest.raises(theory.TheoryError, match="routing"):
        theory.compose("gather", head)
    assert theory.compose(theory.select(16, [0, 5, 15]), head).n_outputs == 1


def test_compose_network_head():
    """A Network head (here a 1x1 linear layer on 2 positions) composed after a partial tree."""
    d = 8
    routing = theory.Network(d=d, layers=theory.select(d, [1, 6]).layers[:2])  # 2 positions x 4 channels
    head = theory.Network(
        d=2,
        c_in=4,
        layers=(
            theory.PointwiseLayer(
                theory.SparseArray.from_dense([[1, -1, 0, 0], [0, 0, 1, -1]]),
                theory.SparseArray.zeros((2,)),
                relu=False,
            ),
        ),
    )
    net = theory.compose(routing, head)
    x = random_x(d, 9)
    # position p of level 2 reads x[4p + (i mod 4)]: i = 1 -> x[4p+1], i = 6 -> x[4p+2]
    assert theory.evaluate_exact(net, x) == (x[1], x[2], x[5], x[6])
    assert np.array_equal(net.positions, (8, 4, 2, 2))
