"""Routing constructions (select, gather) against the closed forms of our Wang & Wu (2023) reconstruction.

Every expected value here is computed independently in the test: the routing invariants from the index
formula ``x[p s^l + (i mod s^l)]``, the parameter counts from the architecture formulas (docs/catalogue.md,
"Wang & Wu: what is reconstructed") and worked examples, receptive fields from the support itself.
"""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st

import theory

MAX_D = 1024


def relu(q: Fraction) -> Fraction:
    return q if q > 0 else Fraction(0)


def random_x(d: int, seed: int) -> list[Fraction]:
    """Random exact inputs with both signs, zeros and non-dyadic denominators."""
    rng = random.Random(seed)
    return [Fraction(rng.randint(-50, 50), rng.choice((1, 2, 3, 7, 10))) for _ in range(d)]


def levels_for(s: int) -> int:
    """Largest L with s^L <= MAX_D."""
    L = 1
    while s ** (L + 1) <= MAX_D:
        L += 1
    return L


@st.composite
def tree_shape(draw):
    s = draw(st.integers(2, 5))
    L = draw(st.integers(1, levels_for(s)))
    return s, L


@st.composite
def select_case(draw):
    """(s, L, support): supports mix extremes (0, d-1), adjacent pairs and arbitrary indices, any order."""
    s, L = draw(tree_shape())
    d = s**L
    k = draw(st.integers(1, min(4, d)))
    pool = draw(st.sampled_from(["extremes", "adjacent", "random", "tail"]))
    if pool == "extremes":
        forced = [0, d - 1] if d > 1 else [0]
    elif pool == "adjacent":
        i = draw(st.integers(0, d - 2))
        forced = [i, i + 1]
    elif pool == "tail":
        forced = [d - 1, d - 2] if d > 2 else [d - 1]
    else:
        forced = []
    rest = draw(st.lists(st.integers(0, d - 1), min_size=k, max_size=k, unique=True))
    support = list(dict.fromkeys(forced + rest))[:k]
    support = draw(st.permutations(support))
    return s, L, list(support)


# ---------------------------------------------------------------------------------------------- select
@given(case=select_case(), seed=st.integers(0, 2**32))
@example(case=(2, 10, [0, 1023, 511, 512]), seed=0)
@example(case=(3, 6, [728, 0, 1, 727]), seed=1)
@example(case=(5, 4, [0, 624]), seed=2)
@example(case=(4, 5, [1023]), seed=3)
def test_select_invariant_at_every_level_and_position(case, seed):
    s, L, support = case
    d, k = s**L, len(support)
    net = theory.select(d, support, s)
    x = random_x(d, seed)
    trace = theory.trace_exact(net, x)
    assert len(trace) == L + 2
    assert [t.shape for t in trace[1 : L + 1]] == [(d // s**lvl, 2 * k) for lvl in range(1, L + 1)]
    for lvl in range(1, L + 1):
        level = trace[lvl]
        for p in range(d // s**lvl):
            for j, i in enumerate(support):
                src = x[p * s**lvl + (i % s**lvl)]
                assert level[p, 2 * j] == relu(src), (lvl, p, j)
                assert level[p, 2 * j + 1] == relu(-src), (lvl, p, j)
    want = tuple(x[i] for i in support)
    assert tuple(trace[L + 1].reshape(-1)) == want
    assert theory.evaluate_exact(net, x) == want


@given(case=select_case())
@example(case=(2, 10, [0, 1023, 5]))
def test_select_structure_and_counts(case):
    s, L, support = case
    d, k = s**L, len(support)
    net = theory.select(d, support, s)
    assert net.depth == L + 1
    assert net.channels == (1,) + (2 * k,) * L + (k,)
    assert net.positions == tuple(d // s**lvl for lvl in range(L + 1)) + (1,)
    assert net.kinds == ("conv",) * L + ("pointwise",)
    assert [layer.relu for layer in net.layers] == [True] * L + [False]
    assert net.n_outputs == k
    # Dense filter parameters of the L tree layers, biases excluded (docs/catalogue.md): 2ks + (L-1) 4k^2 s.
    tree = net.layers[:L]
    assert sum(layer.param_count(biases=False) for layer in tree) == 2 * k * s + (L - 1) * 4 * k**2 * s
    # The whole network, biases included: tree filters + 2k biases per level + the (k, 2k) readout + k.
    assert net.param_count() == 2 * k * s + (L - 1) * 4 * k**2 * s + 2 * k * L + 2 * k * k + k
    # Nonzeros: 2k per tree layer (one tap per channel), 2k in the readout, no biases.
    assert sum(layer.nonzeros for layer in tree) == 2 * k * L
    assert net.nonzeros == 2 * k * L + 2 * k
    field = net.receptive_field()
    assert len(field) == k
    for f, i in zip(field, support):
        assert f.tolist() == [i]
    assert net.receptive_span() == ((0, d),)


@pytest.mark.parametrize(
    "s, L, k, params, nonzeros",
    [(2, 10, 3, 660, 60), (3, 6, 4, 984, 48), (5, 4, 2, 260, 16)],
    ids=["s2-L10-k3", "s3-L6-k4", "s5-L4-k2"],
)
def test_select_counts_match_paper_examples(s, L, k, params, nonzeros):
    d = s**L
    support = [0, d - 1, d // 2, 1][:k]
    net = theory.select(d, support, s)
    assert sum(layer.param_count(biases=False) for layer in net.layers[:L]) == params
    assert sum(layer.nonzeros for layer in net.layers[:L]) == nonzeros


@given(case=select_case(), seed=st.integers(0, 2**32))
def test_select_lcn_fcn_counts_and_outputs(case, seed):
    s, L, support = case
    d, k = s**L, len(support)
    if d > 256:  # the FCN's dense weights are enumerated by the checks below; keep them small
        return
    cnn = theory.select(d, support, s)
    lcn = theory.select(d, support, s, architecture="lcn")
    fcn = theory.select(d, support, s, architecture="fcn")
    C = [1] + [2 * k] * L  # channels at levels 0..L
    n = [d // s**lvl for lvl in range(L + 1)]  # positions at levels 0..L
    # LCN: the CNN count with layer l's term multiplied by its position count d_l (docs/catalogue.md).
    assert lcn.kinds == ("local",) * L + ("pointwise",)
    assert sum(layer.param_count(biases=False) for layer in lcn.layers[:L]) == sum(
        n[lvl] * s * C[lvl - 1] * C[lvl] for lvl in range(1, L + 1)
    )
    assert lcn.param_count(biases=False) == sum(n[lvl] * s * C[lvl - 1] * C[lvl] for lvl in range(1, L + 1)) + 2 * k * k
    assert lcn.nonzeros == sum(n[lvl] * 2 * k for lvl in range(1, L + 1)) + 2 * k
    # FCN: sum_l N_{l-1} N_l with N_l = n_l C_l (and N_{L+1} = k after the readout).
    N = [n[lvl] * C[lvl] for lvl in range(L + 1)] + [k]
    assert fcn.kinds == ("dense",) * (L + 1)
    assert fcn.param_count(biases=False) == sum(N[i] * N[i + 1] for i in range(L + 1))
    assert fcn.param_count() == sum(N[i] * N[i + 1] + N[i + 1] for i in range(L + 1))
    assert fcn.nonzeros == lcn.nonzeros
    assert cnn.meta["architecture"] == "cnn" and lcn.meta["architecture"] == "lcn" and fcn.meta["architecture"] == "fcn"
    x = random_x(d, seed)
    want = tuple(x[i] for i in support)
    for net in (cnn, lcn, fcn):
        assert theory.evaluate_exact(net, x) == want
        assert [f.tolist() for f in net.receptive_field()] == [[i] for i in support]


@given(case=select_case(), seed=st.integers(0, 2**32))
def test_select_truncated_tree_fields_and_spans(case, seed):
    """The first l tree layers alone: unit (p, 2j+e) reads x[p s^l + (i_j mod s^l)] and spans [p s^l, (p+1) s^l)."""
    s, L, support = case
    d, k = s**L, len(support)
    net = theory.select(d, support, s)
    lvl = 1 + seed % L
    part = theory.Network(d=d, layers=net.layers[:lvl])
    n_l = d // s**lvl
    assert part.receptive_span() == tuple((p * s**lvl, (p + 1) * s**lvl) for p in range(n_l))
    field = part.receptive_field()
    assert len(field) == n_l * 2 * k
    for p in range(n_l):
        for j, i in enumerate(support):
            for e in (0, 1):
                assert field[p * 2 * k + 2 * j + e].tolist() == [p * s**lvl + i % s**lvl]


def test_select_long_range_at_large_d():
    """d = 2^20: output x[0], x[d-1] and a mid pair exactly; the spec stays O(k log d)."""
    d = 2**20
    support = [0, d - 1, d // 2 - 1, d // 2, 12345, 777777]
    net = theory.select(d, support)
    rng = np.random.default_rng(0)
    x = rng.integers(-(10**6), 10**6, size=d)
    assert theory.evaluate_exact(net, x) == tuple(Fraction(int(x[i])) for i in support)
    assert net.nonzeros == 2 * len(support) * 20 + 2 * len(support)
    assert [f.tolist() for f in net.receptive_field()] == [[i] for i in support]
    xf = rng.standard_normal(d)
    assert theory.evaluate_exact(net, xf) == tuple(Fraction(float(xf[i])) for i in support)


@pytest.mark.parametrize("s, L", [(2, 3), (3, 2), (2, 4)], ids=["s2-d8", "s3-d9", "s2-d16"])
def test_select_symbolic_is_the_support(s, L):
    d = s**L
    support = [d - 1, 0, 1] if d > 8 else [0, d - 1]
    exprs = theory.symbolic(theory.select(d, support, s), simplify=True)
    assert exprs == tuple(sp.Symbol(f"x{i}", real=True) for i in support)


# ---------------------------------------------------------------------------------------------- gather
@given(shape=tree_shape(), seed=st.integers(0, 2**32))
@example(shape=(2, 10), seed=0)
@example(shape=(3, 6), seed=1)
@example(shape=(5, 4), seed=2)
def test_gather_invariant_at_every_level_and_position(shape, seed):
    s, L = shape
    d = s**L
    net = theory.gather(d, s)
    x = random_x(d, seed)
    trace = theory.trace_exact(net, x)
    assert len(trace) == L + 2
    for lvl in range(1, L + 1):
        level = trace[lvl]
        n_l, C_l = d // s**lvl, 2 * s**lvl
        assert level.shape == (n_l, C_l)
        assert n_l * C_l == 2 * d
        for p in range(n_l):
            for r in range(s**lvl):
                src = x[p * s**lvl + r]
                assert level[p, 2 * r] == relu(src)
                assert level[p, 2 * r + 1] == relu(-src)
    assert tuple(trace[L + 1].reshape(-1)) == tuple(x)
    assert theory.evaluate_exact(net, x) == tuple(x)


@given(shape=tree_shape())
def test_gather_structure_and_counts(shape):
    s, L = shape
    d = s**L
    net = theory.gather(d, s)
    assert net.depth == L + 1
    assert net.channels == (1,) + tuple(2 * s**lvl for lvl in range(1, L + 1)) + (d,)
    assert net.positions == tuple(d // s**lvl for lvl in range(L + 1)) + (1,)
    assert all(net.positions[lvl] * net.channels[lvl] == 2 * d for lvl in range(1, L + 1))
    tree = net.layers[:L]
    assert sum(layer.nonzeros for layer in tree) * (s - 1) == 2 * s * (d - 1)
    assert sum(layer.nonzeros for layer in tree) == sum(2 * s**lvl for lvl in range(1, L + 1))
    assert sum(layer.param_count(biases=False) for layer in tree) == 2 * s**2 + sum(
        4 * s ** (2 * lvl) for lvl in range(2, L + 1)
    )
    assert net.nonzeros == sum(2 * s**lvl for lvl in range(1, L + 1)) + 2 * d
    if d <= 256:
        assert [f.tolist() for f in net.receptive_field()] == [[i] for i in range(d)]
    assert net.receptive_span() == ((0, d),)


@pytest.mark.parametrize("s, L, params", [(2, 5, 5448), (3, 3, 3258), (4, 3, 17440)], ids=["s2-L5", "s3-L3", "s4-L3"])
def test_gather_dense_counts_match_paper_examples(s, L, params):
    net = theory.gather(s**L, s)
    assert sum(layer.param_count(biases=False) for layer in net.layers[:L]) == params


def test_gather_symbolic_is_identity():
    exprs = theory.symbolic(theory.gather(8, 2), simplify=True)
    assert exprs == tuple(sp.Symbol(f"x{i}", real=True) for i in range(8))


def test_gather_and_select_agree_on_the_support():
    d, s = 81, 3
    support = [80, 0, 40, 41]
    x = random_x(d, 7)
    g = theory.evaluate_exact(theory.gather(d, s), x)
    assert theory.evaluate_exact(theory.select(d, support, s), x) == tuple(g[i] for i in support)


@pytest.mark.slow
@pytest.mark.parametrize(
    "construction, s, L", [("select", 2, 14), ("select", 4, 7), ("gather", 2, 12), ("gather", 4, 6)]
)
def test_invariants_at_larger_d(construction, s, L):
    d = s**L
    support = [0, d - 1, d // 2, d // 2 - 1, 1, d - 2, d // 3, 2 * d // 3]
    net = theory.select(d, support, s) if construction == "select" else theory.gather(d, s)
    x = random_x(d, L)
    trace = theory.trace_exact(net, x)
    for lvl in range(1, L + 1):
        level = trace[lvl]
        span = s**lvl
        for p in range(d // span):
            if construction == "select":
                pairs = [(j, p * span + i % span) for j, i in enumerate(support)]
            else:
                pairs = [(r, p * span + r) for r in range(span)]
            for c, src in pairs:
                assert level[p, 2 * c] == relu(x[src]) and level[p, 2 * c + 1] == relu(-x[src])
    want = tuple(x[i] for i in support) if construction == "select" else tuple(x)
    assert theory.evaluate_exact(net, x) == want
