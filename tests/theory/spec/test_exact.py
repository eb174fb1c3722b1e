"""Exact evaluation cross-checked against the naive dense evaluator of ``tests/theory/naive.py``.

The naive evaluator shares nothing with ``theory``'s cone/edge machinery, so agreement on random sparse
networks of all four kinds (mixed ReLU flags, several input channels) checks ``evaluate_exact``,
``trace_exact``, ``receptive_field`` and ``symbolic`` (``to_lcn`` / ``to_fcn``: tests/theory/constructions).
"""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import theory
from tests.theory.naive import as_arg, flat, naive_dependencies, naive_forward, rand_q, random_input, random_network
from theory import ConvLayer, DenseLayer, LocalLayer, Network, PointwiseLayer, SparseArray


@given(net=random_network(), seed=st.integers(0, 2**32))
def test_evaluate_and_trace_match_naive(net, seed):
    x = random_input(net, seed)
    want = naive_forward(net, x)
    assert theory.evaluate_exact(net, as_arg(net, x)) == flat(want[-1])
    assert theory.evaluate_exact(net, x) == flat(want[-1])  # (1, d) is accepted for one channel too
    trace = theory.trace_exact(net, x)
    assert len(trace) == net.depth + 1
    for lvl, (got, ref) in enumerate(zip(trace, want)):
        assert got.shape == (net.positions[lvl], net.channels[lvl])
        assert [list(row) for row in got] == ref, lvl
        assert all(type(v) is Fraction for v in got.reshape(-1))


@given(net=random_network())
def test_derived_facts_match_layers(net):
    n, c = [net.d], [net.c_in]
    for layer in net.layers:
        W = layer.weight.shape
        if isinstance(layer, ConvLayer):
            n.append(n[-1] // W[2])
        elif isinstance(layer, (LocalLayer, DenseLayer)):
            n.append(W[0])
        else:
            n.append(n[-1])
        c.append(
            W[-3]
            if isinstance(layer, (ConvLayer, LocalLayer))
            else (W[0] if isinstance(layer, PointwiseLayer) else W[1])
        )
    assert net.positions == tuple(n)
    assert net.channels == tuple(c)
    assert net.depth == len(net.layers)
    assert net.n_outputs == n[-1] * c[-1]
    dense = [(layer.weight.to_dense(), layer.bias.to_dense()) for layer in net.layers]
    assert net.nonzeros == sum(int(np.count_nonzero(W != 0)) + int(np.count_nonzero(b != 0)) for W, b in dense)
    assert net.param_count() == sum(W.size + b.size for W, b in dense)
    assert net.param_count(biases=False) == sum(W.size for W, _ in dense)


@given(net=random_network())
def test_receptive_field_matches_boolean_propagation(net):
    got = net.receptive_field()
    want = naive_dependencies(net)
    assert len(got) == net.n_outputs
    assert [set(f.tolist()) for f in got] == want
    assert all(np.all(np.diff(f) > 0) for f in got)


@given(net=random_network(), seed=st.integers(0, 2**32))
def test_output_ignores_inputs_outside_the_receptive_field(net, seed):
    x = random_input(net, seed)
    base = theory.evaluate_exact(net, as_arg(net, x))
    used = set().union(*naive_dependencies(net))
    rng = random.Random(seed + 1)
    y = [[v if p in used else rand_q(rng) * 1000 for p, v in enumerate(row)] for row in x]
    assert theory.evaluate_exact(net, as_arg(net, y)) == base


def test_partial_dependence_network():
    """Output reads x[1] and x[4] only (2 channels in); the rest may be anything finite."""
    d = 6
    W = {(0, 0, 1, 0): 2, (0, 0, 4, 1): Fraction(-1, 3), (0, 1, 1, 1): 1}
    dense = DenseLayer(SparseArray.from_dict((1, 2, d, 2), W), SparseArray.from_dict((1, 2), {(0, 1): Fraction(1, 2)}))
    head = PointwiseLayer(SparseArray.from_dense([[1, -1]]), SparseArray.zeros((1,)), relu=False)
    net = Network(d=d, c_in=2, layers=(dense, head))
    x = [[0, 3, 0, 0, 0, 0], [0, -2, 0, 0, 6, 0]]
    # h0 = relu(2*3 - 6/3) = 4, h1 = relu(-2 + 1/2) = 0 -> 4
    assert theory.evaluate_exact(net, x) == (Fraction(4),)
    rng = random.Random(0)
    for _ in range(5):
        y = [[rng.randint(-99, 99) if p not in (1, 4) else x[c][p] for p in range(d)] for c in range(2)]
        assert theory.evaluate_exact(net, y) == (Fraction(4),)
    assert [f.tolist() for f in net.receptive_field()] == [[1, 4]]
    assert net.receptive_span() == ((0, d),)
    with pytest.raises(theory.TheoryError, match="x"):
        theory.evaluate_exact(net, [[float("nan")] + [0] * 5, [0] * 6])  # outside the cone, still rejected


def test_numeric_and_object_inputs_agree():
    """int, float and Fraction inputs give the same exact output (floats converted to their binary value)."""
    net = theory.compose(
        theory.gather(8), theory.TwoLayerHead([[1, -2, 0, 0, 0, 0, 0, 3]], [Fraction(1, 3)], [[2]], [-1])
    )
    xi = np.arange(-4, 4)
    xf = xi.astype(np.float64) + 0.1
    want_i = 2 * max(Fraction(-4) - 2 * Fraction(-3) + 3 * Fraction(3) + Fraction(1, 3), 0) - 1
    assert theory.evaluate_exact(net, xi) == (want_i,)
    assert theory.evaluate_exact(net, [Fraction(int(v)) for v in xi]) == (want_i,)
    assert theory.evaluate_exact(net, list(map(int, xi))) == (want_i,)
    fx = [Fraction(float(v)) for v in xf]
    want_f = 2 * max(fx[0] - 2 * fx[1] + 3 * fx[7] + Fraction(1, 3), 0) - 1
    assert theory.evaluate_exact(net, xf) == (want_f,)
    assert theory.evaluate_exact(net, xf.tolist()) == (want_f,)
    assert theory.evaluate_exact(net, xf.astype(np.float32)) == (
        2 * max(sum((w * Fraction(float(np.float32(xf[i]))) for i, w in ((0, 1), (1, -2), (7, 3))), Fraction(1, 3)), 0)
        - 1,
    )


def test_longdouble_inputs_are_exact():
    x = np.full(2, np.longdouble(1) / 3)
    if np.finfo(np.longdouble).nmant <= np.finfo(np.float64).nmant:
        pytest.skip("longdouble is float64 on this platform")
    got = theory.evaluate_exact(theory.gather(2), x)
    assert got[0] == Fraction(*x[0].as_integer_ratio())


def test_python_list_mixing_big_ints_and_floats_is_exact():
    assert theory.evaluate_exact(theory.gather(2), [2**60 + 1, 0.5]) == (Fraction(2**60 + 1), Fraction(1, 2))


def test_bools_mixed_into_x_are_rejected():
    with pytest.raises(theory.TheoryError, match="x"):
        theory.evaluate_exact(theory.gather(2), [True, 2])


def test_big_python_ints_alone_are_exact():
    g = theory.gather(2)
    assert theory.evaluate_exact(g, [2**60 + 1, 3]) == (Fraction(2**60 + 1), Fraction(3))
    assert theory.evaluate_exact(g, [-1, 2**63]) == (Fraction(-1), Fraction(2**63))
    assert theory.evaluate_exact(g, [10**40 + 1, Fraction(1, 3)]) == (Fraction(10**40 + 1), Fraction(1, 3))


# ----------------------------------------------------------------------------------- symbolic
def my_symbols(net: Network) -> list[list[sp.Symbol]]:
    """Symbols by the documented naming: x{p} (one channel), x{c} (one position), else x{c}_{p}; indexed [c][p]."""
    if net.d == 1:
        return [[sp.Symbol(f"x{c}", real=True)] for c in range(net.c_in)]
    if net.c_in == 1:
        return [[sp.Symbol(f"x{p}", real=True) for p in range(net.d)]]
    return [[sp.Symbol(f"x{c}_{p}", real=True) for p in range(net.d)] for c in range(net.c_in)]


@given(net=random_network(max_depth=3), seed=st.integers(0, 2**32))
def test_symbolic_matches_exact_at_random_points(net, seed):
    exprs = theory.symbolic(net)
    assert len(exprs) == net.n_outputs
    syms = my_symbols(net)
    allowed = {s for row in syms for s in row}
    assert all(e.free_symbols <= allowed for e in exprs)
    for k in range(2):
        x = random_input(net, seed + k)
        sub = {
            syms[c][p]: sp.Rational(x[c][p].numerator, x[c][p].denominator)
            for c in range(net.c_in)
            for p in range(net.d)
        }
        got = []
        for e in exprs:
            v = e.xreplace(sub)
            assert v.is_Rational, v
            got.append(Fraction(int(v.p), int(v.q)))
        assert tuple(got) == theory.evaluate_exact(net, as_arg(net, x))
        assert tuple(got) == flat(naive_forward(net, x)[-1])


def test_symbolic_tree_sum_abs_difference():
    head = theory.TwoLayerHead([[1, 0], [-1, 0], [0, 1], [0, -1]], [0] * 4, [[1, 1, -1, -1]], [0])
    (e,) = theory.symbolic(theory.tree_sum(4, 2, head))
    xs = sp.symbols("x0:4", real=True)
    want = sp.Abs(xs[0]) - sp.Abs(xs[1]) + sp.Abs(xs[2]) - sp.Abs(xs[3])
    rng = random.Random(3)
    for _ in range(10):
        pt = {s: sp.Rational(rng.randint(-20, 20), rng.randint(1, 4)) for s in xs}
        assert e.xreplace(pt) == want.xreplace(pt)


def test_symbolic_refuses_large_inputs():
    net = theory.gather(16)
    with pytest.raises(theory.TheoryError, match="max_inputs"):
        theory.symbolic(net, max_inputs=8)
    assert len(theory.symbolic(net, max_inputs=16)) == 16
    big = theory.select(2**13, [0])
    with pytest.raises(theory.TheoryError, match="max_inputs"):
        theory.symbolic(big)
