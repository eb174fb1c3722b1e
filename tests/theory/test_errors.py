"""Bad input at the public boundary: every case raises theory.TheoryError (a ValueError) naming the argument.

docs/soundness.md, "Bad input": one error type per package, raised at the boundary, naming the argument,
its value and what is allowed; never a traceback from deep inside numpy.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import theory
from theory import ConvLayer, DenseLayer, LocalLayer, Network, PointwiseLayer, SparseArray

F = Fraction
ABS_HEAD = theory.TwoLayerHead([[1, 0], [-1, 0], [0, 1], [0, -1]], [0] * 4, [[1, 1, -1, -1]], [0])
HEAD3 = theory.TwoLayerHead([[1, 0, 1]], [0], [[1]], [0])
HEAD2_OUT2 = theory.TwoLayerHead([[1, 0]], [0], [[1], [2]], [0, 0])
SEL8 = theory.select(8, [0, 7])
TWO_CH = Network(d=4, c_in=2, layers=(PointwiseLayer(SparseArray.from_dense([[1, 1]]), SparseArray.zeros((1,))),))


def conv(c_out, c_in, s, **kw):
    return ConvLayer(SparseArray.from_coo((c_out, c_in, s), [[0, 0, 0]], [1]), SparseArray.zeros((c_out,)), **kw)


def local(n_out, c_out, c_in, s, **kw):
    return LocalLayer(
        SparseArray.from_coo((n_out, c_out, c_in, s), [[0, 0, 0, 0]], [1]), SparseArray.zeros((n_out, c_out)), **kw
    )


def pointwise(c_out, c_in, **kw):
    return PointwiseLayer(SparseArray.from_coo((c_out, c_in), [[0, 0]], [1]), SparseArray.zeros((c_out,)), **kw)


def dense(n_out, c_out, n_in, c_in, **kw):
    return DenseLayer(
        SparseArray.from_coo((n_out, c_out, n_in, c_in), [[0, 0, 0, 0]], [1]), SparseArray.zeros((n_out, c_out)), **kw
    )


CASES = [
    # ----- s
    ("s<2-gather", lambda: theory.gather(8, 1), "'s'"),
    ("s=0-select", lambda: theory.select(8, [0], 0), "'s'"),
    ("s<0", lambda: theory.gather(8, -2), "'s'"),
    ("s=2.0", lambda: theory.gather(8, 2.0), "'s'"),
    ("s=2.0-select", lambda: theory.select(8, [0], 2.0), "'s'"),
    ("s=True", lambda: theory.gather(8, True), "'s'"),
    ("s=np.True_", lambda: theory.select(8, [0], np.True_), "'s'"),
    ("s=str", lambda: theory.gather(8, "2"), "'s'"),
    ("s-tree_sum", lambda: theory.tree_sum(8, 1, ABS_HEAD), "'s'"),
    # ----- d
    ("d-not-power", lambda: theory.gather(12, 2), "'d'"),
    ("d-not-power-s3", lambda: theory.select(10, [0], 3), "'d'"),
    ("d-power-of-other-s", lambda: theory.select(8, [0], 3), "'d'"),
    ("d=1", lambda: theory.gather(1, 2), "'d'"),
    ("d=1-select", lambda: theory.select(1, [0]), "'d'"),
    ("d=0", lambda: theory.gather(0), "'d'"),
    ("d<0", lambda: theory.select(-8, [0]), "'d'"),
    ("d=8.0", lambda: theory.gather(8.0), "'d'"),
    ("d=True", lambda: theory.gather(True), "'d'"),
    ("d-tree_sum", lambda: theory.tree_sum(6, 2, ABS_HEAD), "'d'"),
    # ----- support
    ("support-empty", lambda: theory.select(8, []), "'support'"),
    ("support-empty-tuple", lambda: theory.select(8, ()), "'support'"),
    ("support-duplicate", lambda: theory.select(8, [3, 1, 3]), "'support'"),
    ("support-minus-1", lambda: theory.select(8, [0, -1]), "'support'"),
    ("support-d", lambda: theory.select(8, [8]), "'support'"),
    ("support-2.0", lambda: theory.select(8, [1, 2.0]), "'support'"),
    ("support-'3'", lambda: theory.select(8, ["3"]), "'support'"),
    ("support-True", lambda: theory.select(8, [True]), "'support'"),
    ("support-np.float", lambda: theory.select(8, np.array([1.0, 2.0])), "'support'"),
    ("support-Fraction", lambda: theory.select(8, [F(2)]), "'support'"),
    ("support-None-entry", lambda: theory.select(8, [None]), "'support'"),
    ("support-string", lambda: theory.select(8, "01"), "'support'"),
    ("support-bytes", lambda: theory.select(8, b"\x00"), "'support'"),
    ("support-int", lambda: theory.select(8, 3), "'support'"),
    ("support-None", lambda: theory.select(8, None), "'support'"),
    # ----- architecture
    ("architecture-unknown", lambda: theory.select(8, [0], architecture="rnn"), "'architecture'"),
    ("architecture-case", lambda: theory.select(8, [0], architecture="CNN"), "'architecture'"),
    ("architecture-None", lambda: theory.select(8, [0], architecture=None), "'architecture'"),
    # ----- compose
    ("compose-head-size", lambda: theory.compose(theory.gather(8), HEAD3), "'head'"),
    ("compose-head-size-select", lambda: theory.compose(SEL8, HEAD3), "'head'"),
    ("compose-head-type", lambda: theory.compose(SEL8, [[1, 2]]), "'head'"),
    ("compose-routing-type", lambda: theory.compose(None, HEAD3), "'routing'"),
    # ----- tree_sum
    ("signs-zero", lambda: theory.tree_sum(8, 2, ABS_HEAD, signs=(1, 0)), "'signs'"),
    ("signs-short", lambda: theory.tree_sum(8, 2, ABS_HEAD, signs=(1,)), "'signs'"),
    ("signs-long", lambda: theory.tree_sum(8, 2, ABS_HEAD, signs=(1, -1, 1)), "'signs'"),
    ("signs-two", lambda: theory.tree_sum(8, 2, ABS_HEAD, signs=(2, -1)), "'signs'"),
    ("signs-bool", lambda: theory.tree_sum(8, 2, ABS_HEAD, signs=(True, -1)), "'signs'"),
    ("signs-str-entry", lambda: theory.tree_sum(8, 2, ABS_HEAD, signs=("1", -1)), "'signs'"),
    ("signs-string", lambda: theory.tree_sum(8, 2, ABS_HEAD, signs="+-"), "'signs'"),
    ("signs-at-d=s", lambda: theory.tree_sum(2, 2, ABS_HEAD, signs=(1, -1)), "'signs'"),
    ("patch_head-k!=s", lambda: theory.tree_sum(8, 2, HEAD3), "'patch_head'"),
    ("patch_head-k!=s-3", lambda: theory.tree_sum(9, 3, ABS_HEAD), "'patch_head'"),
    ("patch_head-n_out", lambda: theory.tree_sum(8, 2, HEAD2_OUT2), "'patch_head'"),
    ("patch_head-type", lambda: theory.tree_sum(8, 2, SEL8), "'patch_head'"),
    # ----- x
    ("x-nan", lambda: theory.evaluate_exact(SEL8, [0, 1, 2, float("nan"), 4, 5, 6, 7]), "'x'"),
    ("x-inf", lambda: theory.evaluate_exact(SEL8, [float("inf")] + [0] * 7), "'x'"),
    ("x-neg-inf-np", lambda: theory.evaluate_exact(SEL8, np.array([0.0] * 7 + [-np.inf])), "'x'"),
    ("x-nan-np32", lambda: theory.evaluate_exact(SEL8, np.full(8, np.nan, dtype=np.float32)), "'x'"),
    ("x-nan-trace", lambda: theory.trace_exact(SEL8, [float("nan")] * 8), "'x'"),
    ("x-nan-object", lambda: theory.evaluate_exact(SEL8, np.array([F(1)] * 7 + [float("nan")], dtype=object)), "'x'"),
    ("x-nan-2ch", lambda: theory.evaluate_exact(TWO_CH, [[0, 0, 0, 0], [0, float("nan"), 0, 0]]), "'x'"),
    ("x-short", lambda: theory.evaluate_exact(SEL8, [0] * 7), "'x"),
    ("x-long", lambda: theory.evaluate_exact(SEL8, [0] * 9), "'x"),
    ("x-2d", lambda: theory.evaluate_exact(SEL8, [[0] * 8] * 2), "'x"),
    ("x-column", lambda: theory.evaluate_exact(SEL8, [[0]] * 8), "'x"),
    ("x-scalar", lambda: theory.evaluate_exact(SEL8, 3), "'x"),
    ("x-2ch-transposed", lambda: theory.evaluate_exact(TWO_CH, [[0, 0]] * 4), "'x"),
    ("x-2ch-flat", lambda: theory.evaluate_exact(TWO_CH, [0] * 8), "'x"),
    ("x-ragged", lambda: theory.evaluate_exact(TWO_CH, [[0, 0, 0, 0], [0, 0]]), "'x"),
    ("x-None", lambda: theory.evaluate_exact(SEL8, [None] * 8), "'x'"),
    ("x-word", lambda: theory.evaluate_exact(SEL8, ["abc"] * 8), "'x'"),
    ("x-object", lambda: theory.evaluate_exact(SEL8, [object()] * 8), "'x'"),
    ("x-complex", lambda: theory.evaluate_exact(SEL8, [1j] * 8), "'x'"),
    ("x-bool", lambda: theory.evaluate_exact(SEL8, [True] * 8), "'x'"),
    ("x-bool-np", lambda: theory.evaluate_exact(SEL8, np.ones(8, dtype=bool)), "'x'"),
    ("x-nested-list", lambda: theory.evaluate_exact(SEL8, [[1]] + [0] * 7), "'x"),
    ("x-string", lambda: theory.evaluate_exact(SEL8, "01234567"), "'x"),
    # ----- layers and networks
    ("layers-channels-chain", lambda: Network(d=4, layers=(conv(4, 1, 2), conv(2, 3, 2))), "layers[1]"),
    ("layers-channels-first", lambda: Network(d=4, c_in=2, layers=(conv(4, 1, 2),)), "layers[0]"),
    ("layers-pointwise-chain", lambda: Network(d=4, layers=(pointwise(3, 1), pointwise(1, 2))), "layers[1]"),
    ("conv-does-not-tile", lambda: Network(d=6, layers=(conv(2, 1, 4),)), "layers[0]"),
    ("conv-does-not-tile-later", lambda: Network(d=8, layers=(conv(2, 1, 2), conv(2, 2, 3))), "layers[1]"),
    ("local-positions", lambda: Network(d=8, layers=(local(3, 2, 1, 2),)), "layers[0]"),
    ("dense-positions", lambda: Network(d=8, layers=(dense(1, 1, 4, 1),)), "layers[0]"),
    ("conv-stride", lambda: conv(2, 1, 2, stride=1), "stride"),
    ("conv-stride-3", lambda: conv(2, 1, 2, stride=3), "stride"),
    ("local-stride", lambda: local(2, 2, 1, 2, stride=4), "stride"),
    ("conv-kernel-1", lambda: conv(2, 1, 1), "kernel"),
    ("local-kernel-1", lambda: local(2, 2, 1, 1), "kernel"),
    ("conv-weight-ndim", lambda: ConvLayer(SparseArray.from_dense([[1]]), SparseArray.zeros((1,))), "weight"),
    ("dense-weight-ndim", lambda: DenseLayer(SparseArray.from_dense([[1]]), SparseArray.zeros((1,))), "weight"),
    (
        "conv-bias-shape",
        lambda: ConvLayer(SparseArray.from_coo((2, 1, 2), [[0, 0, 0]], [1]), SparseArray.zeros((3,))),
        "bias",
    ),
    (
        "local-bias-shape",
        lambda: LocalLayer(SparseArray.from_coo((2, 2, 1, 2), [[0, 0, 0, 0]], [1]), SparseArray.zeros((2,))),
        "bias",
    ),
    ("weight-not-sparse", lambda: PointwiseLayer([[1]], SparseArray.zeros((1,))), "weight"),
    ("bias-not-sparse", lambda: PointwiseLayer(SparseArray.from_dense([[1]]), [0]), "bias"),
    ("relu-not-bool", lambda: pointwise(1, 1, relu=1), "relu"),
    ("network-d=0", lambda: Network(d=0, layers=(pointwise(1, 1),)), "'d'"),
    ("network-d-float", lambda: Network(d=4.0, layers=(pointwise(1, 1),)), "'d'"),
    ("network-c_in=0", lambda: Network(d=4, c_in=0, layers=(pointwise(1, 1),)), "'c_in'"),
    ("network-no-layers", lambda: Network(d=4, layers=()), "'layers'"),
    ("network-not-a-layer", lambda: Network(d=4, layers=("conv",)), "layers[0]"),
    # ----- heads
    ("head-b1-shape", lambda: theory.TwoLayerHead([[1, 2]], [0, 0], [[1]], [0]), "b1"),
    ("head-w2-shape", lambda: theory.TwoLayerHead([[1, 2]], [0], [[1, 1]], [0]), "w2"),
    ("head-b2-shape", lambda: theory.TwoLayerHead([[1, 2]], [0], [[1]], [0, 0]), "b2"),
    ("head-w1-ndim", lambda: theory.TwoLayerHead([1, 2], [0], [[1]], [0]), "w1"),
    ("head-w1-empty", lambda: theory.TwoLayerHead([[]], [0], [[1]], [0]), "w1"),
    ("head-w1-nan", lambda: theory.TwoLayerHead([[float("nan")]], [0], [[1]], [0]), "w1"),
    ("head-b2-word", lambda: theory.TwoLayerHead([[1]], [0], [[1]], ["x"]), "b2"),
    ("head-evaluate-len", lambda: ABS_HEAD.evaluate([1]), "'z'"),
    ("head-evaluate-nan", lambda: ABS_HEAD.evaluate([1, float("nan")]), "'z'"),
    # ----- evaluation entry points
    ("evaluate-net-type", lambda: theory.evaluate_exact("net", [0]), "'net'"),
    ("trace-net-type", lambda: theory.trace_exact(ABS_HEAD, [0]), "'net'"),
    ("symbolic-net-type", lambda: theory.symbolic(None), "'net'"),
    ("symbolic-max_inputs", lambda: theory.symbolic(SEL8, max_inputs=4), "max_inputs"),
    ("symbolic-max_inputs-0", lambda: theory.symbolic(SEL8, max_inputs=0), "'max_inputs'"),
    ("to_json-type", lambda: theory.to_json({"d": 8}), "'net'"),
    ("as_rational-bool", lambda: theory.as_rational(True, "w"), "'w'"),
    ("as_rational-nan", lambda: theory.as_rational(float("nan"), "w"), "'w'"),
    ("parse_size-unit", lambda: theory.cli.parse_size("4 gigs", "--memory-budget"), "'--memory-budget'"),
    ("parse_size-zero", lambda: theory.cli.parse_size("0", "--memory-budget"), "'--memory-budget'"),
    ("parse_size-fraction", lambda: theory.cli.parse_size("1.5", "--memory-budget"), "'--memory-budget'"),
    ("parse_size-huge", lambda: theory.cli.parse_size("1e19", "--memory-budget"), "'--memory-budget'"),
    ("parse_size-type", lambda: theory.cli.parse_size(4096, "--memory-budget"), "'--memory-budget'"),
    ("as_rational-sympy-nan", lambda: theory.as_rational(sp.nan, "w"), "'w'"),
    ("as_rational-sympy-inf", lambda: theory.as_rational(sp.Float("inf"), "w"), "'w'"),
]


@pytest.mark.parametrize("make, arg", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_theory_error_naming_the_argument(make, arg):
    with pytest.raises(theory.TheoryError) as info:
        make()
    assert isinstance(info.value, ValueError)
    assert arg in str(info.value), str(info.value)


def test_case_ids_are_unique():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


def test_messages_name_value_and_what_is_allowed():
    with pytest.raises(theory.TheoryError) as info:
        theory.select(12, [0])
    assert "12" in str(info.value) and "power" in str(info.value)
    with pytest.raises(theory.TheoryError) as info:
        theory.select(8, [0, 9])
    assert "9" in str(info.value) and "[0, 8)" in str(info.value)
    with pytest.raises(theory.TheoryError) as info:
        theory.select(8, [1, 1])
    assert "repeated" in str(info.value) and "1" in str(info.value)


def test_valid_edge_inputs_are_accepted():
    """The boundary of the allowed region: numpy ints, d = s, support in any order, c_in given as (1, d)."""
    assert theory.select(np.int64(8), [np.int64(7), np.int32(0)], s=np.int64(2)).meta["support"] == (7, 0)
    assert theory.gather(2, 2).depth == 2
    assert theory.select(3, [2], 3).depth == 2
    assert theory.evaluate_exact(SEL8, [[F(i) for i in range(8)]]) == (F(0), F(7))
    assert theory.tree_sum(2, 2, ABS_HEAD).depth == 3
    assert theory.evaluate_exact(SEL8, ["1/2"] * 8) == (F(1, 2), F(1, 2))


def test_sympy_floats_are_read_at_their_exact_binary_value():
    """``head.bound * 0.99`` is a sympy Float; it enters exactly, as a Python float does (independent: mpmath)."""
    value = sp.Rational(1, 16384) * 0.99
    assert isinstance(value, sp.Float)
    man, exp = value._mpf_[1] * (-1) ** value._mpf_[0], value._mpf_[2]
    assert theory.as_rational(value, "eps") == Fraction(man) * Fraction(2) ** exp
    assert theory.as_rational(sp.Float(0.5), "eps") == Fraction(1, 2)


@pytest.mark.parametrize(
    "text, size",
    [
        ("4GiB", 4 << 30),
        ("512 MiB", 512 << 20),
        ("2GB", 2 * 10**9),
        ("1e9", 10**9),
        ("1000000000", 10**9),
        ("1KiB", 1024),
        ("3 b", 3),
        ("1.5KiB", 1536),
    ],
)
def test_sizes_parse_to_bytes(text, size):
    assert theory.cli.parse_size(text) == size
