"""SparseArray: canonical form, the three constructors agree, equality, digest, immutability, validation."""

from __future__ import annotations

import dataclasses
import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import theory
from theory import SparseArray

rationals = st.fractions(min_value=-20, max_value=20, max_denominator=12)
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


@st.composite
def dense_arrays(draw):
    shape = draw(shapes)
    n = int(np.prod(shape))
    vals = draw(st.lists(st.one_of(st.just(Fraction(0)), rationals), min_size=n, max_size=n))
    arr = np.empty(n, dtype=object)
    arr[:] = vals
    return arr.reshape(shape)


def coords(shape):
    return list(itertools.product(*(range(n) for n in shape)))


@given(dense=dense_arrays())
def test_constructors_agree_and_are_canonical(dense):
    a = SparseArray.from_dense(dense)
    entries = {c: dense[c] for c in coords(dense.shape) if dense[c] != 0}
    b = SparseArray.from_dict(dense.shape, entries)
    idx = list(entries)
    c = SparseArray.from_coo(dense.shape, np.array(idx, dtype=np.int64).reshape(-1, dense.ndim), list(entries.values()))
    # the same nonzeros scattered with zeros and split into duplicates, shuffled
    rng = np.random.default_rng(len(idx))
    rows, vals = [], []
    for key, v in entries.items():
        rows += [key, key]
        vals += [v / 3, v * 2 / 3]
    for key in coords(dense.shape)[:3]:
        rows.append(key)
        vals.append(0)
    order = rng.permutation(len(rows))
    e = SparseArray.from_coo(
        dense.shape,
        np.array([rows[i] for i in order], dtype=np.int64).reshape(-1, dense.ndim),
        [vals[i] for i in order],
    )
    for arr in (a, b, c, e):
        assert arr == a
        assert arr.shape == dense.shape and arr.ndim == dense.ndim and arr.size == dense.size
        assert arr.nnz == len(entries)
        # canonical form: strictly increasing row-major keys, nonzero Fraction values
        assert np.all(np.diff(arr.keys) > 0)
        assert arr.keys.tolist() == [int(np.ravel_multi_index(k, dense.shape)) for k in sorted(entries)]
        assert all(type(v) is Fraction and v != 0 for v in arr.values)
        assert dict(arr.items()) == entries
        assert [tuple(r) for r in arr.indices.tolist()] == sorted(entries)
        assert np.array_equal(arr.to_dense(), dense)
        for key in coords(dense.shape):
            assert arr[key] == dense[key]
        assert arr.digest().hexdigest() == a.digest().hexdigest()


def test_duplicates_are_summed_and_cancelling_entries_dropped():
    a = SparseArray.from_coo(
        (2, 3), [[1, 2], [0, 0], [1, 2], [0, 1], [0, 1]], [Fraction(1, 3), 5, Fraction(1, 6), 2, -2]
    )
    assert a.keys.tolist() == [0, 5]
    assert a.values.tolist() == [Fraction(5), Fraction(1, 2)]
    assert a[0, 1] == 0 and a[1, 2] == Fraction(1, 2)


def test_scalar_value_broadcasts_in_from_coo():
    a = SparseArray.from_coo((4,), [[3], [1]], "1/2")
    assert dict(a.items()) == {(1,): Fraction(1, 2), (3,): Fraction(1, 2)}


def test_value_conversion():
    a = SparseArray.from_dense([0.5, "1/3", 2, Fraction(-7, 9), np.int64(4), np.float32(0.1)])
    assert a.values.tolist() == [
        Fraction(1, 2),
        Fraction(1, 3),
        Fraction(2),
        Fraction(-7, 9),
        Fraction(4),
        Fraction(float(np.float32(0.1))),
    ]


def test_equality_is_by_content():
    a = SparseArray.from_dense([[1, 0], [0, 2]])
    assert a == SparseArray.from_dict((2, 2), {(1, 1): 2, (0, 0): 1})
    assert a != SparseArray.from_dense([[1, 0], [0, 3]])
    assert a != SparseArray.from_dense([[1, 0, 0], [0, 2, 0]])
    assert a != SparseArray.from_dense([1, 0, 0, 2])  # same keys, other shape
    assert a != SparseArray.from_dense([[0, 1], [0, 2]])
    assert a.__eq__("a") is NotImplemented
    assert SparseArray.zeros((2, 2)) == SparseArray.from_dense([[0, 0], [0, 0]])
    assert SparseArray.zeros((2, 2)).nnz == 0
    assert SparseArray.from_dense([1, 0]).digest().hexdigest() != SparseArray.from_dense([0, 1]).digest().hexdigest()
    with pytest.raises(TypeError):
        hash(a)


def test_immutable():
    a = SparseArray.from_dense([1, 0, 2])
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.shape = (4,)
    with pytest.raises(ValueError):
        a.keys[0] = 1
    with pytest.raises(ValueError):
        a.values[0] = Fraction(3)
    src_keys = np.array([0, 2])
    src_vals = np.array([Fraction(1), Fraction(2)], dtype=object)
    b = SparseArray((3,), src_keys, src_vals)
    src_keys[0] = 1
    src_vals[0] = Fraction(9)
    assert b.keys.tolist() == [0, 2] and b.values.tolist() == [1, 2]


F = Fraction


@pytest.mark.parametrize(
    "make, arg",
    [
        (lambda: SparseArray((0,), [], []), "shape"),
        (lambda: SparseArray((), [], []), "shape"),
        (lambda: SparseArray((2, -1), [], []), "shape"),
        (lambda: SparseArray((True, 2), [], []), "shape"),
        (lambda: SparseArray((2.0,), [], []), "shape"),
        (lambda: SparseArray((2**40, 2**40), [], []), "shape"),
        (lambda: SparseArray((3,), [2, 1], [F(1), F(1)]), "keys"),
        (lambda: SparseArray((3,), [1, 1], [F(1), F(1)]), "keys"),
        (lambda: SparseArray((3,), [3], [F(1)]), "keys"),
        (lambda: SparseArray((3,), [-1], [F(1)]), "keys"),
        (lambda: SparseArray((3,), [0.5], [F(1)]), "keys"),
        (lambda: SparseArray((3,), [[0]], [F(1)]), "keys"),
        (lambda: SparseArray((3,), [0], [F(0)]), "values"),
        (lambda: SparseArray((3,), [0], [1]), "values"),
        (lambda: SparseArray((3,), [0], [0.5]), "values"),
        (lambda: SparseArray((3,), [0, 1], [F(1)]), "values"),
        (lambda: SparseArray.from_coo((3,), [[3]], [1]), "values"),
        (lambda: SparseArray.from_coo((3, 2), [[0, 2]], [1]), "values"),
        (lambda: SparseArray.from_coo((3,), [[-1]], [1]), "values"),
        (lambda: SparseArray.from_coo((3,), [[0], [1]], [1, 2, 3]), "values"),
        (lambda: SparseArray.from_coo((3,), [[0]], [float("nan")], arg="w1"), "w1"),
        (lambda: SparseArray.from_coo((3,), [[0]], [float("inf")]), "values"),
        (lambda: SparseArray.from_coo((3,), [[0]], [True]), "values"),
        (lambda: SparseArray.from_coo((3,), [[0]], ["one"]), "values"),
        (lambda: SparseArray.from_coo((3,), [[0]], [None]), "values"),
        (lambda: SparseArray.from_dict((3,), {(5,): 1}), "values"),
        (lambda: SparseArray.from_dense(3), "values"),
        (lambda: SparseArray.from_dense([[1, 2], [3]]), "values"),
        (lambda: SparseArray.from_dense([1, float("-inf")], arg="bias"), "bias"),
        (lambda: SparseArray.from_dense([1, 2])[2], "coords"),
        (lambda: SparseArray.from_dense([1, 2])[0, 0], "coords"),
        (lambda: SparseArray.from_dense([1, 2])[-1], "coords"),
    ],
    ids=[
        "shape-0",
        "shape-empty",
        "shape-neg",
        "shape-bool",
        "shape-float",
        "shape-huge",
        "keys-unsorted",
        "keys-dup",
        "keys-high",
        "keys-neg",
        "keys-float",
        "keys-2d",
        "explicit-zero",
        "value-int",
        "value-float",
        "value-count",
        "coo-high",
        "coo-axis1",
        "coo-neg",
        "coo-count",
        "coo-nan-named",
        "coo-inf",
        "coo-bool",
        "coo-word",
        "coo-none",
        "dict-high",
        "dense-scalar",
        "dense-ragged",
        "dense-inf-named",
        "getitem-high",
        "getitem-ndim",
        "getitem-neg",
    ],
)
def test_validation(make, arg):
    with pytest.raises(theory.TheoryError) as info:
        make()
    assert isinstance(info.value, ValueError)
    assert arg in str(info.value)


def test_non_integer_indices_are_rejected():
    with pytest.raises(theory.TheoryError):
        SparseArray.from_dict((3,), {(1.7,): 1})


@pytest.mark.parametrize(
    "make",
    [
        lambda: SparseArray.from_dict((3, 3), {(0, 1): 1, (0,): 2}),
        lambda: SparseArray.from_coo((3, 3), [[0, 1, 2]], [1]),
        lambda: SparseArray.from_coo((3,), [["a"]], [1]),
    ],
    ids=["dict-ragged", "coo-arity", "coo-word-index"],
)
def test_malformed_coordinates_are_theory_errors(make):
    with pytest.raises(theory.TheoryError):
        make()
