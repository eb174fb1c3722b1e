"""certify_sup_error when the target and the network look at different inputs: a target in inputs outside the
network's output cone, a constant target, a target that ignores routed inputs. The search runs over the union
of both sets of variables; each bound is checked against exact evaluations of the network (theory.evaluate_exact)
and of the target at grid points and at the witness (an independent computation of sup |net - target|)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
import sympy as sp

import theory
from theory import certify_sup_error

# Tightness (not soundness) of an upper bound that meets the ideal value sup + a-priori bound exactly: the
# certifier's bounds are float64 enclosures rounded outward after every operation, so they may exceed an exact
# ideal by a few units in the 14th digit (relative 2^-40 covers that with room; soundness is checked exactly).
TOLERANCES = {"outward_rounding": Fraction(1, 2**40)}


@pytest.fixture(scope="module")
def product_net() -> theory.Network:
    """``N(x) ~ x0 * x700`` on [-1, 1]^2 with a proved a-priori bound (the command line's 'build approx')."""
    return theory.approximate_sparse(1024, [0, 700], "x0*x1", (-1, 1), Fraction(1, 100))


def _exact_error(net: theory.Network, target: sp.Expr, point: dict[str, Fraction]) -> Fraction:
    """``|N(point) - target(point)|`` exactly (every other input 0; a rational target)."""
    x = [Fraction(0)] * net.d
    for name, v in point.items():
        x[int(name[1:])] = v
    value = target.subs({sp.Symbol(n, real=True): sp.Rational(v.numerator, v.denominator) for n, v in point.items()})
    assert value.is_Rational
    return abs(theory.evaluate_exact(net, x)[0] - Fraction(int(value.p), int(value.q)))


def _grid_sup(net, target, names, values):
    """max of the exact error over a grid: a lower bound of the true sup, computed independently."""
    return max(_exact_error(net, target, dict(zip(names, pt))) for pt in itertools.product(values, repeat=len(names)))


def _check(net, cert, target, names, grid):
    apriori = Fraction(net.meta["a_priori_bound"])
    assert cert.status == "proved" and cert.upper is not None and cert.lower is not None
    assert [list(row) for row in cert.assumptions["domain"]] == [[n, "-1", "1"] for n in names]
    assert list(cert.details["variables"]) == names
    low = _grid_sup(net, target, names, grid)
    assert cert.lower <= cert.upper and low <= cert.upper  # sound: above what exact points reach
    assert set(cert.witness) == set(names)
    assert _exact_error(net, target, cert.witness) == cert.lower  # the witness, re-evaluated exactly
    return low, apriori


def test_target_outside_the_cone(product_net):
    """x5 * x6 against N ~ x0 * x700 on [-1, 1]^4: sup = max|N| + 1, about 2 (the command line's IndexError case)."""
    target = theory.parse_formula("x5*x6")
    cert = certify_sup_error(product_net, "x5*x6", (-1, 1), time_limit_s=20)
    names = ["x0", "x5", "x6", "x700"]
    low, apriori = _check(product_net, cert, target, names, [-1, 0, 1])
    assert low == 2  # N(1, -1) = -1, target(1, 1) = 1
    assert cert.upper <= 2 + apriori and cert.lower >= 2 - apriori


@pytest.mark.parametrize("c", ["1/4", "3", sp.Integer(-2), 0])
def test_constant_target(product_net, c):
    """sup |N - c| = max(max N - c, c - min N); max N, min N within the a-priori bound of +-1."""
    cert = certify_sup_error(product_net, c, (-1, 1), time_limit_s=20)
    cq = Fraction(str(c))
    target = sp.Rational(cq.numerator, cq.denominator)
    low, apriori = _check(product_net, cert, target, ["x0", "x700"], [Fraction(i, 4) for i in range(-4, 5)])
    assert low == 1 + abs(cq)  # N = +-1 exactly at the corners
    assert cert.upper <= 1 + abs(cq) + apriori


@pytest.mark.parametrize("text, sup", [("x0", 2), ("x700**2", 2), ("0*x700 + x0/2", Fraction(3, 2))])
def test_target_ignoring_routed_inputs(product_net, text, sup):
    """x0 (ignores x700): |x0 x700 - x0| <= 2 at x0 = 1, x700 = -1; x700^2: |x0 x700 - x700^2| at (-1, 1)."""
    target = theory.parse_formula(text)
    cert = certify_sup_error(product_net, text, (-1, 1), time_limit_s=20)
    low, apriori = _check(product_net, cert, target, ["x0", "x700"], [Fraction(i, 4) for i in range(-4, 5)])
    assert low == sup and cert.upper <= (sup + apriori) * (1 + TOLERANCES["outward_rounding"])


def test_many_variables_outside_the_cone(product_net):
    """Seven variables (beyond the face enumeration of the Taylor form): still a sound, tight bound."""
    text = "x1*x2 + x3*x4*x5"
    cert = certify_sup_error(product_net, text, (-1, 1), time_limit_s=20)
    names = ["x0", "x1", "x2", "x3", "x4", "x5", "x700"]
    low, apriori = _check(product_net, cert, theory.parse_formula(text), names, [-1, 1])
    assert low == 3 and cert.upper <= 3 + apriori


def test_irrational_target_outside_the_cone(product_net):
    """sin(x5) * x6: sup = 1 + sin(1) (N = -1 at x0 = 1, x700 = -1 and sin(1) at x5 = x6 = 1)."""
    cert = certify_sup_error(product_net, "sin(x5)*x6", (-1, 1), time_limit_s=20)
    apriori = Fraction(product_net.meta["a_priori_bound"])
    true = 1 + sp.sin(1)
    assert cert.status == "proved"
    assert cert.lower <= cert.upper and float(true) - 1e-12 <= float(cert.upper) <= float(true) + float(apriori)
