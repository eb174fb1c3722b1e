"""The one function table: every row parses, and every target evaluator of theory encloses it correctly.

The heads' evaluator (:func:`theory.enclose_target`: exact, or mpmath intervals) and the certifier's (numpy
outward-rounded intervals with an mpmath fallback, :class:`theory.certify._enclosure.Target`) are compared
with mpmath at 200 bits (an independent computation) at points and on small boxes. The torch evaluator is
checked in tests/numerics/scale/test_formula_functions.py.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp

import theory
from theory.certify._enclosure import Target
from theory.formula import FUNCTION_CLASSES, FUNCTIONS, parse_formula

REFERENCE = {
    "sin": mpmath.sin,
    "cos": mpmath.cos,
    "tan": mpmath.tan,
    "exp": mpmath.exp,
    "log": mpmath.log,
    "sqrt": mpmath.sqrt,
    "sinh": mpmath.sinh,
    "cosh": mpmath.cosh,
    "tanh": mpmath.tanh,
    "atan": mpmath.atan,
    "Abs": abs,
    "abs": abs,
    "Min": min,
    "Max": max,
}
POSITIVE_ONLY = {"log", "sqrt"}
POINTS = [
    (Fraction(3, 8), Fraction(-5, 8)),
    (Fraction(5, 4), Fraction(1, 2)),
    (Fraction(-5, 8), Fraction(9, 4)),
    (Fraction(-3, 1), Fraction(-7, 2)),
]


def _text(name: str) -> str:
    return f"{name}(x0, x1)" if FUNCTIONS[name].min_args == 2 else f"{name}(x0)"


def _reference(name: str, point) -> mpmath.mpf:
    with mpmath.workprec(200):
        args = [mpmath.mpf(v.numerator) / v.denominator for v in point[: FUNCTIONS[name].min_args]]
        return REFERENCE[name](*args)


def _cases():
    return [(name, p) for name in FUNCTIONS for p in POINTS if name not in POSITIVE_ONLY or p[0] > 0]


def test_reference_covers_the_table():
    assert set(REFERENCE) == set(FUNCTIONS)
    built = {type(parse_formula(_text(name))) for name in FUNCTIONS} - {sp.Pow}
    assert built == set(FUNCTION_CLASSES)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_every_row_parses_with_its_arity(name):
    fn = FUNCTIONS[name]
    expr = parse_formula(_text(name))
    assert isinstance(expr, fn.kind) if fn.kind is not None else expr == sp.sqrt(sp.Symbol("x0", real=True))
    with pytest.raises(theory.TheoryError, match="arguments"):
        parse_formula(f"{name}(" + ", ".join(["x0"] * (fn.max_args + 1)) + ")")


@pytest.mark.parametrize("name, point", _cases())
def test_heads_evaluator_encloses_every_function(name, point):
    expr = parse_formula(_text(name), variables="head")
    syms = theory.head_symbols(2)
    lo, hi = theory.enclose_target(expr, dict(zip(syms, point)), bits=128)
    ref = _reference(name, point)
    with mpmath.workprec(200):
        assert mpmath.mpf(lo.numerator) / lo.denominator <= ref <= mpmath.mpf(hi.numerator) / hi.denominator
    assert hi - lo <= Fraction(1, 2**100) * max(1, abs(hi))


@pytest.mark.parametrize("name, point", _cases())
def test_certifier_evaluator_encloses_every_function(name, point):
    expr = parse_formula(_text(name), variables="inputs")
    target = Target(expr, ["x0", "x1"])
    ref = float(_reference(name, point))
    c = np.array([[float(point[0])], [float(point[1])]])  # the points are dyadic: exact floats
    gd = target.data(c, c)
    for enc in (gd.g0, gd.gB):
        assert enc[0][0] <= ref <= enc[1][0], (enc, ref)
        assert enc[1][0] - enc[0][0] <= 1e-12 * max(1.0, abs(ref))  # a few ulps: outward rounding only
    lo, hi = target.point_hp(list(point))
    with mpmath.workprec(200):
        r = _reference(name, point)
        assert mpmath.mpf(lo.numerator) / lo.denominator <= r <= mpmath.mpf(hi.numerator) / hi.denominator
    # a small box around the point: its enclosure holds the function at points inside
    w = 2.0**-6
    gd = target.data(c - w, c + w)
    for t in np.linspace(-w, w, 7):
        inner = (point[0] + Fraction(t), point[1] - Fraction(t))
        if name in ("log", "sqrt") and inner[0] <= 0:
            continue
        v = float(_reference(name, inner))
        assert gd.gB[0][0] <= v <= gd.gB[1][0]


def test_certifier_uses_its_own_interval_functions_where_it_has_them():
    """sin, cos, exp, log, atan, Abs, Min, Max, powers: the vectorised numpy path (no mpmath per box)."""
    for text in (
        "sin(x0) + cos(x1)",
        "exp(x0) * log(x1**2 + 1)",
        "atan(x0) - Abs(x1)",
        "Min(x0, x1) + Max(x0, 1)",
        "sqrt(x0**2 + 1)",
        "tanh(x0) + sinh(x1) * cosh(x0)",
    ):
        assert Target(parse_formula(text), ["x0", "x1"]).fast, text
    assert not Target(parse_formula("tan(x0)"), ["x0"]).fast  # tan: the mpmath fallback


def test_min_max_fallback_uses_interval_min_max():
    """With tan (mpmath fallback) next to Min, the builtin min would compare intervals; the fallback's min
    must enclose instead."""
    target = Target(parse_formula("Min(tan(x0), x1)"), ["x0", "x1"])
    lo = np.array([[0.0], [0.25]])
    hi = np.array([[0.5], [0.75]])
    gd = target.data(lo, hi)
    for a in np.linspace(0, 0.5, 5):
        for b in np.linspace(0.25, 0.75, 5):
            v = min(float(mpmath.tan(a)), b)
            assert gd.gB[0][0] <= v <= gd.gB[1][0]
