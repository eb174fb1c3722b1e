"""Approximation heads against independent computations written here.

* Yarotsky square: the sawtooth ``f_m(t) = t - sum g_s(t)/4^s`` from a plain tent-map loop; ``f_m = t^2`` at
  ``j/2^m`` and ``f_m - t^2 = 2^(-2m-2)`` at ``odd/2^(m+1)`` (Yarotsky 2017, Prop. 2).
* pl_head: a barycentric interpolation on the Kuhn simplex containing the point (sort the fractional
  coordinates), exact; the network's Kuhn hats must agree with it at random rational points.
* Bounds: exact evaluation of the network against the target at 50 digits (mpmath) at sampled points.
"""

from __future__ import annotations

import math
import random
import time
from fractions import Fraction

import mpmath
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import theory
from tests.theory.head_eval import head_value, mp_value, mpq, random_point

ZERO = Fraction(0)
# Tolerance for comparing an exact network value with g evaluated by mpmath at 50 significant digits (the
# precision tests.theory.head_eval sets): the evaluation error of g is below 1e-45 for the small targets used
# here, so 1e-40 absorbs it with margin.
MP_TOL = mpmath.mpf("1e-40")


# ------------------------------------------------------------------------------------------ helpers
def tent(t: Fraction) -> Fraction:
    """The tent map on [0, 1], written by cases (not through ReLUs)."""
    return 2 * t if t <= Fraction(1, 2) else 2 - 2 * t


def sawtooth(m: int, t: Fraction) -> Fraction:
    """Yarotsky's f_m(t) = t - sum_{s=1..m} g_s(t) / 4^s for t in [0, 1]."""
    out, g = t, t
    for s in range(1, m + 1):
        g = tent(g)
        out -= g / 4**s
    return out


def kuhn_interpolate(value, box, n: int, x) -> Fraction:
    """Barycentric interpolation on the Kuhn simplex of ``x``: ``v_0`` the cell corner, ``v_i = v_{i-1} +
    e_{pi(i)}`` with ``pi`` sorting the fractional coordinates decreasingly; ``lambda_0 = 1 - s_pi(1)``,
    ``lambda_i = s_pi(i) - s_pi(i+1)``, ``lambda_k = s_pi(k)``."""
    k = len(x)
    y = [(xa - lo) * n / (hi - lo) for xa, (lo, hi) in zip(x, box)]
    corner = [min(math.floor(ya), n - 1) for ya in y]
    s = [ya - c for ya, c in zip(y, corner)]
    order = sorted(range(k), key=lambda a: -s[a])
    v = list(corner)
    total = (1 - s[order[0]]) * value(tuple(v))
    for i, a in enumerate(order):
        v[a] += 1
        total += (s[a] - (s[order[i + 1]] if i + 1 < k else 0)) * value(tuple(v))
    return total


def exact_vertex_value(expr: sp.Expr, box, n: int):
    syms = theory.head_symbols(len(box))

    def value(v):
        pt = {s: sp.Rational(lo + (hi - lo) * Fraction(i, n)) for s, i, (lo, hi) in zip(syms, v, box)}
        q = sp.Rational(expr.subs(pt))
        return Fraction(int(q.p), int(q.q))

    return value


rationals = st.fractions(min_value=-3, max_value=3, max_denominator=8)


@st.composite
def boxes(draw, k: int):
    out = []
    for _ in range(k):
        lo = draw(rationals)
        width = draw(st.fractions(min_value=Fraction(1, 4), max_value=3, max_denominator=8))
        out.append((lo, lo + width))
    return tuple(out)


@st.composite
def targets(draw, k: int) -> sp.Expr:
    """A small grammar: sums of one or two products of factors from {x_j, x_j^2, sin(L), cos(L), exp(L)},
    L a linear form with small rational coefficients."""
    xs = theory.head_symbols(k)
    small = st.fractions(min_value=-2, max_value=2, max_denominator=4)

    def linear():
        return sum((sp.Rational(draw(small)) * x for x in xs), sp.Rational(draw(small)))

    def factor():
        kind = draw(st.sampled_from(["x", "x2", "sin", "cos", "exp"]))
        x = xs[draw(st.integers(0, k - 1))]
        return {
            "x": lambda: x,
            "x2": lambda: x**2,
            "sin": lambda: sp.sin(linear()),
            "cos": lambda: sp.cos(linear()),
            "exp": lambda: sp.exp(linear() / 2),
        }[kind]()

    terms = [
        sp.Rational(draw(small)) * factor() * (factor() if draw(st.booleans()) else 1)
        for _ in range(draw(st.integers(1, 2)))
    ]
    expr = sum(terms, sp.Rational(draw(small)))
    return expr if expr.free_symbols else expr + xs[0]


# ------------------------------------------------------------------------------------ Yarotsky square
@pytest.mark.parametrize("m", range(1, 9))
def test_square_breakpoints_midpoints_and_tightness(m):
    head = theory.square_head(m)
    delta = Fraction(1, 4 ** (m + 1))
    assert (
        head.bound == sp.Rational(delta)
        and head.formula.subs(sp.Symbol("m", positive=True, integer=True), m) == head.bound
    )
    assert head.net.depth == m + 1 and head.net.kinds == ("pointwise",) * (m + 1) and not head.net.layers[-1].relu
    for j in range(2**m + 1):  # breakpoints: exact
        t = Fraction(j, 2**m)
        assert head_value(head, [t]) == sawtooth(m, t) == t * t
    for j in range(2**m):  # cell midpoints: the bound is attained exactly
        t = Fraction(2 * j + 1, 2 ** (m + 1))
        v = head_value(head, [t])
        assert v == sawtooth(m, t)
        assert v - t * t == delta


@given(m=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_square_random_points_against_tent_formula(m, seed):
    head = theory.square_head(m)
    rng = random.Random(seed)
    for _ in range(10):
        t = Fraction(rng.randint(0, 10**6), 10**6)
        v = head_value(head, [t])
        assert v == sawtooth(m, t)
        assert 0 <= v - t * t <= head.bound


@given(m=st.integers(1, 6), box=boxes(1), seed=st.integers(0, 2**32 - 1))
def test_square_general_box(m, box, seed):
    head = theory.square_head(m, box[0])
    ((a, b),) = box
    assert head.bound == sp.Rational((b - a) ** 2 / 4 ** (m + 1))
    rng = random.Random(seed)
    for x in [a, b] + [random_point(rng, box)[0] for _ in range(8)]:
        assert 0 <= head_value(head, [x]) - x * x <= head.bound
    x = a + (b - a) * Fraction(2 * rng.randrange(2**m) + 1, 2 ** (m + 1))
    assert head_value(head, [x]) - x * x == head.bound


# ------------------------------------------------------------------------------- products, polynomials
@given(
    m=st.integers(1, 6),
    B=st.fractions(min_value=Fraction(1, 8), max_value=8, max_denominator=8),
    seed=st.integers(0, 2**32 - 1),
)
def test_product_head_bound_and_attained(m, B, seed):
    head = theory.product_head(m, B)
    assert head.bound == sp.Rational(B * B / 4 ** (m + 1))
    rng = random.Random(seed)
    for _ in range(10):
        x0, x1 = random_point(rng, head.box)
        assert abs(head_value(head, [x0, x1]) - x0 * x1) <= head.bound
    x = B / 2 ** (m + 1)  # u = x/B = 1/2^(m+1) (a cell midpoint), v = 0
    assert head_value(head, [x, x]) - x * x == head.bound


@st.composite
def polynomials(draw):
    k = draw(st.integers(1, 3))
    xs = theory.head_symbols(k)
    coef = st.fractions(min_value=-3, max_value=3, max_denominator=4)
    expr = sp.Rational(draw(coef))
    for _ in range(draw(st.integers(1, 4))):
        exps = [draw(st.integers(0, 3)) for _ in range(k)]
        while sum(exps) > 3:
            exps[draw(st.integers(0, k - 1))] = 0
        expr += sp.Rational(draw(coef)) * sp.Mul(*[x**e for x, e in zip(xs, exps)])
    return expr, draw(boxes(k))


@given(poly=polynomials(), m=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_polynomial_head_sampled_errors_within_bound(poly, m, seed):
    expr, box = poly
    head = theory.polynomial_head(expr, box, m)
    assert head.formula.subs(sp.Symbol("m", positive=True, integer=True), m) == head.bound
    rng = random.Random(seed)
    syms = theory.head_symbols(len(box))
    for _ in range(6):
        pt = random_point(rng, box)
        want = sp.Rational(expr.subs({s: sp.Rational(p) for s, p in zip(syms, pt)}))
        assert abs(head_value(head, pt) - Fraction(int(want.p), int(want.q))) <= head.bound
    if sp.Poly(expr, *syms).total_degree() <= 1:
        assert head.bound == 0 and head.net.depth == 1


def test_polynomial_head_cubic_products():
    head = theory.polynomial_head("x0*x1*x2", (-1, 1), 3)
    assert head.net.depth == 2 * 3 + 1
    rng = random.Random(1)
    worst = ZERO
    for _ in range(40):
        pt = random_point(rng, head.box)
        worst = max(worst, abs(head_value(head, pt) - pt[0] * pt[1] * pt[2]))
    assert 0 < worst <= head.bound


# -------------------------------------------------------------------------------------------- pl_head
@given(k=st.integers(1, 2), data=st.data())
def test_pl_head_equals_kuhn_interpolation_and_g_at_vertices(k, data):
    """Polynomial targets: vertex values are exact, so the network must equal the independent interpolation."""
    box = data.draw(boxes(k))
    n = data.draw(st.integers(1, 6 if k == 2 else 12))
    xs = theory.head_symbols(k)
    expr = (
        sp.Rational(data.draw(rationals)) * xs[0] ** 2
        + sp.Rational(data.draw(rationals)) * xs[-1] * xs[0]
        + sp.Rational(1, 3)
    )
    head = theory.pl_head(expr, box, n)
    value = exact_vertex_value(expr, box, n)
    for v in [(0,) * k, (n,) * k, tuple(data.draw(st.integers(0, n)) for _ in range(k))]:
        pt = [lo + (hi - lo) * Fraction(i, n) for i, (lo, hi) in zip(v, box)]
        assert head_value(head, pt) == value(v)
    rng = random.Random(data.draw(st.integers(0, 2**32 - 1)))
    for _ in range(8):
        pt = random_point(rng, box)
        assert head_value(head, pt) == kuhn_interpolate(value, box, n, pt)


def test_pl_head_k3_equals_kuhn_interpolation():
    xs = theory.head_symbols(3)
    expr = xs[0] * xs[1] - xs[2] ** 2 + xs[0] * xs[2] / 2
    box = ((-1, 1), (0, 2), (Fraction(-1, 2), 1))
    box_q = tuple((Fraction(a), Fraction(b)) for a, b in box)
    head = theory.pl_head(expr, box, 3)
    assert head.net.depth == 3 + 2
    value = exact_vertex_value(expr, box_q, 3)
    rng = random.Random(7)
    for _ in range(12):
        pt = random_point(rng, box_q)
        assert head_value(head, pt) == kuhn_interpolate(value, box_q, 3, pt)


@given(k=st.integers(1, 2), data=st.data())
def test_pl_head_bound_covers_sampled_errors(k, data):
    """Transcendental targets: rounded vertex values, piecewise-linear between (checked against the Kuhn
    interpolation of the network's own vertex values), and sampled errors within the a-priori bound."""
    expr = data.draw(targets(k))
    box = data.draw(boxes(k))
    n = data.draw(st.integers(2, 8 if k == 2 else 24))
    head = theory.pl_head(expr, box, n)
    box_q = head.box
    rounding = Fraction(head.params["rounding_bound"])
    cache = {}

    def net_at_vertex(v):
        if v not in cache:
            cache[v] = head_value(head, [lo + (hi - lo) * Fraction(i, n) for i, (lo, hi) in zip(v, box_q)])
        return cache[v]

    rng = random.Random(data.draw(st.integers(0, 2**32 - 1)))
    for _ in range(6):
        v = tuple(rng.randint(0, n) for _ in range(k))
        pt = [lo + (hi - lo) * Fraction(i, n) for i, (lo, hi) in zip(v, box_q)]
        assert abs(mpq(net_at_vertex(v)) - mp_value(expr, pt)) <= mpq(rounding) + MP_TOL
        pt = random_point(rng, box_q)
        got = head_value(head, pt)
        assert got == kuhn_interpolate(net_at_vertex, box_q, n, pt)
        assert abs(mpq(got) - mp_value(expr, pt)) <= mpq(head.bound) + MP_TOL


def test_pl_head_hessian_bound_value():
    """g = x0^2 + x0 x1 on [0, 1]^2: M = [[2, 1], [1, 0]], bound (1/8)(2 h^2 + 2 h^2) = h^2/2; exact values."""
    head = theory.pl_head("x0**2 + x0*x1", (0, 1), 4)
    want = Fraction(1, 32)
    got = Fraction(head.params["interpolation_bound"])
    assert want <= got <= want * (1 + Fraction(1, 10**5))
    assert head.params["rounding_bound"] == "0" and head.bound == sp.Rational(got)
    # the 1-d bound M h^2/8 is attained at cell midpoints for x^2
    head1 = theory.pl_head("x0**2", (0, 1), 8)
    x, h = Fraction(1, 16), Fraction(1, 8)
    assert head_value(head1, [x]) - x * x == 2 * h * h / 8 <= head1.bound


def test_pl_head_user_constants_and_callable():
    def g(x0, x1):
        return abs(x0) - x1 / 2  # Lipschitz 3/2 in the inf-norm

    head = theory.pl_head(g, [(-1, 1), (-1, 1)], 4, lipschitz=Fraction(3, 2))
    assert head.bound == sp.Rational(3, 2) * sp.Rational(1, 2)  # L * max h
    rng = random.Random(3)
    for _ in range(10):
        pt = random_point(rng, head.box)
        assert abs(head_value(head, pt) - g(*pt)) <= head.bound
    h2 = theory.pl_head("sin(x0)", (0, 1), 10, hessian=1)
    assert Fraction(h2.params["interpolation_bound"]) == Fraction(1, 800)
    h3 = theory.pl_head("x0 + x1", (0, 1), 3, lipschitz=1, norm="1")
    assert h3.bound == sp.Rational(2, 3)


def test_pl_head_sizes():
    """3 units per vertex with g(v) != 0 (sin(3*0) = 0 exactly: the grid lines x0 = 0 and x1 = 0 drop out)."""
    head = theory.pl_head("sin(3*x0)*x1", (-1, 1), 20)
    nonzero = 20 * 20
    assert head.net.channels[-2] == nonzero and head.net.channels[-3] == 2 * nonzero


# ------------------------------------------------------------------------------------------- bad input
BAD = [
    (lambda: theory.square_head(0), "m"),
    (lambda: theory.square_head(True), "m"),
    (lambda: theory.square_head(2.0), "m"),
    (lambda: theory.square_head(2, (1, 1)), "box"),
    (lambda: theory.square_head(2, (1, 0)), "box"),
    (lambda: theory.square_head(2, ()), "box"),
    (lambda: theory.square_head(2, (0, float("inf"))), "box"),
    (lambda: theory.product_head(1, 0), "B"),
    (lambda: theory.product_head(1, float("nan")), "B"),
    (lambda: theory.product_head(-1, 1), "m"),
    (lambda: theory.polynomial_head("sin(x0)", (0, 1), 2), "expr"),
    (lambda: theory.polynomial_head("x0*y", (0, 1), 2), "expr"),
    (lambda: theory.polynomial_head("pi*x0**2", (0, 1), 2), "expr"),
    (lambda: theory.polynomial_head("x0**9", (0, 1), 2), "expr"),
    (lambda: theory.pl_head("x0", (0, 1), 0), "n"),
    (lambda: theory.pl_head("x0", (0, 1), 10**7), "n"),
    (lambda: theory.pl_head("x0*x2", [(0, 1), (0, 1)], 2), "g"),
    (lambda: theory.pl_head("1/x0", (-1, 1), 2), "g"),
    (lambda: theory.pl_head("log(x0)", (-1, 1), 3), "g"),
    (lambda: theory.pl_head("Abs(x0)", (-1, 1), 3), "g"),
    (lambda: theory.pl_head("x0 +", (0, 1), 3), "g"),
    (lambda: theory.pl_head("f(x0)", (0, 1), 3), "g"),
    (lambda: theory.pl_head("x0*oo", (0, 1), 3), "g"),
    (lambda: theory.pl_head(lambda x0: x0, [(0, 1)], 2), "g"),
    (lambda: theory.pl_head("x0", (0, 1), 2, lipschitz=-1), "lipschitz"),
    (lambda: theory.pl_head("x0", (0, 1), 2, lipschitz=1, norm="3"), "norm"),
    (lambda: theory.pl_head("x0", (0, 1), 2, hessian=[[1]] * 2), "hessian"),
    (lambda: theory.pl_head("x0", (0, float("nan")), 2), "box"),
    (lambda: theory.approximate_sparse(64, [1, 2], "x0*x1", (-1, 1), 0), "eps"),
    (lambda: theory.approximate_sparse(64, [1, 2], "x0*x1", (-1, 1), -1), "eps"),
    (lambda: theory.approximate_sparse(64, [1, 2], "x0*x1", (-1, 1), float("nan")), "eps"),
    (lambda: theory.approximate_sparse(64, [1, 2], "x0*x1", (-1, 1), float("inf")), "eps"),
    (lambda: theory.approximate_sparse(64, [1, 2], "x0*x2", (-1, 1), 0.1), "g"),
    (lambda: theory.approximate_sparse(64, [1, 2], "x0*z", (-1, 1), 0.1), "g"),
    (lambda: theory.approximate_sparse(64, [], "x0", (-1, 1), 0.1), "support"),
    (lambda: theory.approximate_sparse(60, [1], "x0", (-1, 1), 0.1), "d"),
    (lambda: theory.approximate_sparse(64, [1], "x0", (1, -1), 0.1), "box"),
    (lambda: theory.approximate_sparse(64, [1], "x0", (-1, 1), 0.1, method="spline"), "method"),
    (lambda: theory.approximate_sparse(64, [1, 2, 3], "sin(x0*x1*x2)", (-1, 1), 1e-12), "eps"),
    (lambda: theory.latex(theory.square_head(1).net, mode="tikz"), "mode"),
]


@pytest.mark.parametrize("call, arg", BAD, ids=[f"{i}-{a}" for i, (_, a) in enumerate(BAD)])
def test_bad_input_names_the_argument(call, arg):
    with pytest.raises(theory.TheoryError, match=rf"argument '{arg}'"):
        call()


# ------------------------------------------------------------------------------------------------- slow
@pytest.mark.slow
def test_pl_head_n90_k2_build():
    t0 = time.perf_counter()
    head = theory.pl_head("sin(3*x0)*x1", (-1, 1), 90)
    seconds = time.perf_counter() - t0
    assert head.params["n"] == 90 and head.net.depth == 4
    rng = random.Random(2)
    for _ in range(3):
        pt = random_point(rng, head.box)
        assert abs(mpq(head_value(head, pt)) - mp_value(head.target, pt)) <= mpq(head.bound)
    print(f"pl_head n=90 k=2: units={sum(head.net.channels[1:-1])}, nonzeros={head.net.nonzeros}, {seconds:.2f} s")


@pytest.mark.slow
@pytest.mark.parametrize("m", [10, 12])
def test_square_large_m_tight(m):
    head = theory.square_head(m)
    rng = random.Random(m)
    for _ in range(20):
        t = Fraction(2 * rng.randrange(2**m) + 1, 2 ** (m + 1))
        assert head_value(head, [t]) - t * t == head.bound
