"""TwoLayerHead against the plain-loop evaluation of ``tests/theory/random_heads.py``."""

from __future__ import annotations

import random
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

import theory
from tests.theory.random_heads import ZERO, rand_q, random_head_lists, two_layer


@given(seed=st.integers(0, 2**32), k=st.integers(1, 5), m=st.integers(1, 5), n_out=st.integers(1, 3))
def test_two_layer_head_network_and_evaluate(seed, k, m, n_out):
    rng = random.Random(seed)
    lists = random_head_lists(rng, k, m, n_out)
    head = theory.TwoLayerHead(*lists)
    assert (head.k, head.m, head.n_out) == (k, m, n_out)
    z = [rand_q(rng) for _ in range(k)]
    want = two_layer(*lists, z)
    assert head.evaluate(z) == want
    net = head.network()
    assert net.d == 1 and net.c_in == k and net.depth == 2 and net.kinds == ("pointwise", "pointwise")
    assert theory.evaluate_exact(net, [[v] for v in z]) == want


def test_two_layer_head_accepts_floats_strings_and_sparse():
    a = theory.TwoLayerHead([[0.5, "1/3"]], ["-2"], [[Fraction(3, 7)]], [0.25])
    b = theory.TwoLayerHead(
        theory.SparseArray.from_dense([[Fraction(1, 2), Fraction(1, 3)]]),
        theory.SparseArray.from_dense([-2]),
        theory.SparseArray.from_dense([[Fraction(3, 7)]]),
        theory.SparseArray.from_dense([Fraction(1, 4)]),
    )
    assert a.w1 == b.w1 and a.b1 == b.b1 and a.w2 == b.w2 and a.b2 == b.b2
    z = [Fraction(6), Fraction(3)]
    assert a.evaluate(z) == (Fraction(3, 7) * max(Fraction(3) + 1 - 2, ZERO) + Fraction(1, 4),)
