"""approximate_sparse and approximate_head: routing + the smallest head that meets eps, against exact evaluation of
the head alone and 50-digit values of the target (``tests/theory/head_eval.py``)."""

from __future__ import annotations

import random
import time
from fractions import Fraction

import pytest

import theory
from tests.theory.head_eval import head_value, mp_value, mpq, random_point
from theory.heads._interpolation import InterpolationBound


def test_approximate_sparse_example():
    t0 = time.perf_counter()
    net = theory.approximate_sparse(d=4096, support=[5, 4000], g="sin(3*x0)*x1", box=(-1, 1), eps=1e-3)
    seconds = time.perf_counter() - t0
    meta = net.meta
    assert meta["construction"] == "approximate_sparse" and meta["target"] == "x4000*sin(3*x5)"
    assert dict(meta["box"]) == {"x5": ("-1", "1"), "x4000": ("-1", "1")}
    assert Fraction(meta["a_priori_bound"]) <= Fraction(meta["eps"]) == Fraction(1e-3)
    assert meta["head"]["name"] == "pl" and {"n", "k", "p"} <= set(meta["head"]["params"])
    head = theory.approximate_head("sin(3*x0)*x1", (-1, 1), 1e-3)
    assert str(head.bound) == meta["a_priori_bound"]
    n = head.params["n"]
    bound = InterpolationBound(head.target, 2, head.box)
    assert bound(n) * Fraction(101, 100) <= Fraction(1e-3) < bound(n - 1) * Fraction(101, 100)  # smallest n
    rng = random.Random(11)
    for _ in range(4):
        x = [Fraction(rng.randint(-50, 50), 37) for _ in range(4096)]
        x[5], x[4000] = random_point(rng, head.box)
        got = theory.evaluate_exact(net, x)[0]
        assert got == head_value(head, [x[5], x[4000]])
        assert abs(mpq(got) - mp_value(head.target, [x[5], x[4000]])) <= mpq(Fraction(meta["a_priori_bound"]))
    print(
        f"approximate_sparse sin(3*x0)*x1 eps=1e-3: n={n}, units={sum(net.channels[-4:-1])}, "
        f"nonzeros={net.nonzeros}, {seconds:.2f} s"
    )


@pytest.mark.parametrize(
    "g, name",
    [("x0*x1", "polynomial"), ("x0**2 - x1/2 + 1", "polynomial"), ("2*x0 - x1", "polynomial"), ("exp(x0/2)*x1", "pl")],
)
def test_approximate_sparse_picks_head(g, name):
    eps = Fraction(1, 200)
    net = theory.approximate_sparse(64, [63, 0], g, [(-1, 1), (0, 2)], eps)
    head = theory.approximate_head(g, [(-1, 1), (0, 2)], eps)
    assert net.meta["head"]["name"] == name == head.params["name"]
    assert Fraction(net.meta["a_priori_bound"]) == head.bound <= eps
    if name == "polynomial" and head.bound > 0:  # the smallest m
        m = head.params["m"]
        assert theory.polynomial_head(g, [(-1, 1), (0, 2)], m - 1).bound > eps if m > 1 else True
    rng = random.Random(5)
    for _ in range(5):
        x = [Fraction(rng.randint(-9, 9), 4) for _ in range(64)]
        x[63], x[0] = random_point(rng, head.box)
        assert theory.evaluate_exact(net, x)[0] == head_value(head, [x[63], x[0]])
