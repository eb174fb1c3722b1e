"""Piecewise-linear targets (Min, Max, Abs) of a sup-norm property: the disjunctive normal form of the negated
claim, checked against |Y - t(X)| >= eps + tol computed directly in exact arithmetic, in both renderings (the 1.0
text by a small exact evaluator here, the 2.0 text through the vnnlib package), and the property's own checker
catching a planted wrong network."""

from __future__ import annotations

import functools
import itertools
import random
import re
from fractions import Fraction

import pytest

import numerics
import theory
from numerics.peers import Property, render, target_property
from numerics.peers._pieces import (
    MAX_CONJUNCTIONS,
    MAX_PIECES,
    LinearTarget,
    PiecewiseTarget,
)
from numerics.peers._property import replay
from tests.numerics.peers.test_vnnlib import _holds, _parsed

F = Fraction
NET = theory.select(16, [3, 9], 2)  # Y_0 = x3, Y_1 = x9
EPS, TOL = F(1, 8), F(1, 64)
THRESHOLD = EPS + TOL

# each target with its value computed directly (no sympy, no normal form)
TARGETS = {
    "Max(x3, x9)": lambda x: max(x[3], x[9]),
    "Abs(x3 - x9)/2": lambda x: abs(x[3] - x[9]) / 2,
    "Min(x3, 1/2) + 2*x9": lambda x: min(x[3], F(1, 2)) + 2 * x[9],
    "-2*Max(x3, x9) + 1/4": lambda x: -2 * max(x[3], x[9]) + F(1, 4),
    "Max(Min(x3, x9), 1/4 - Abs(x9)) - 3*x3": lambda x: max(min(x[3], x[9]), F(1, 4) - abs(x[9])) - 3 * x[3],
    "Min(Max(x3, 0), Max(x9, -1/2), Abs(x3 + x9))": lambda x: min(max(x[3], 0), max(x[9], F(-1, 2)), abs(x[3] + x[9])),
    "Abs(x3) - Max(x9, 1/2) + x9/4": lambda x: abs(x[3]) - max(x[9], F(1, 2)) + x[9] / 4,
}
# x3, x9 on a grid that holds every kink of the targets above (x3 = x9, x3 = 1/2, x9 = 0, x3 = -x9, ...)
GRID = [F(v) for v in ("-1", "-1/2", "-1/4", "0", "1/4", "1/2", "1")]
DELTAS = [
    F(0),
    THRESHOLD,
    -THRESHOLD,
    THRESHOLD - F(1, 256),
    -THRESHOLD + F(1, 256),
    THRESHOLD + F(1, 256),
    -THRESHOLD - F(1, 256),
    F(3),
    F(-3),
]


# ------------------------------------------------------------------------------------------------ a VNN-LIB 1.0 reader
@functools.lru_cache(maxsize=64)
def _sexprs(text: str) -> list:
    tokens = re.findall(r"\(|\)|[^\s()]+", "\n".join(ln.split(";")[0] for ln in text.splitlines()))
    stack: list[list] = [[]]
    for tok in tokens:
        if tok == "(":
            stack.append([])
        elif tok == ")":
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(tok)
    assert len(stack) == 1
    return stack[0]


def _holds_v1(text: str, x, y) -> bool:
    """Whether every assertion of a VNN-LIB 1.0 text holds at (x, y), exactly (numbers read as decimals)."""
    declared = set()

    def num(e):
        if isinstance(e, str):
            if re.fullmatch(r"[XY]_\d+", e):
                assert e in declared, e
                return (x if e[0] == "X" else y)[int(e[2:])]
            assert re.fullmatch(r"-?\d+\.\d+", e), e  # VNN-LIB 1.0 decimals
            return F(e)
        op, *args = e
        vals = [num(a) for a in args]
        if op == "-":
            return -vals[0] if len(vals) == 1 else vals[0] - sum(vals[1:])
        if op == "+":
            return sum(vals)
        assert op == "*" and len(vals) == 2, e
        return vals[0] * vals[1]

    def truth(e):
        op, *args = e
        if op in ("and", "or"):
            assert args, e
            return (all if op == "and" else any)(truth(a) for a in args)
        assert op in (">=", "<=") and len(args) == 2, e
        a, b = num(args[0]), num(args[1])
        return a >= b if op == ">=" else a <= b

    ok = True
    for form in _sexprs(text):
        if form[0] == "declare-const":
            assert form[2] == "Real"
            declared.add(form[1])
        else:
            assert form[0] == "assert" and len(form) == 2, form
            ok = truth(form[1]) and ok
    return ok


def _points(f):
    """(x, y, violated) on the grid: y_0 = t(x) + delta, y_1 = x9 (output 1 is exact) or x9 + delta."""
    rng = random.Random(0)
    for a, b in itertools.product(GRID, GRID):
        x = [F(rng.choice((-1, 0, 1))) for _ in range(16)]
        x[3], x[9] = a, b
        t = f(x)
        for delta in DELTAS:
            yield x, [t + delta, x[9]], abs(delta) >= THRESHOLD
        yield x, [t, x[9] + THRESHOLD], True
        yield x, [t, x[9] - THRESHOLD + F(1, 256)], False


# ------------------------------------------------------------------------------------------------ the encoding
@pytest.mark.parametrize("target", list(TARGETS))
def test_the_exact_checker_evaluates_the_target(target):
    p = target_property(NET, f"{target}, x9", eps=EPS, box=(-1, 1), tol=TOL)
    assert isinstance(p.targets[0], PiecewiseTarget) and isinstance(p.targets[1], LinearTarget)
    for x, y, violated in _points(TARGETS[target]):
        assert p.targets[0].value(x) == TARGETS[target](x)
        assert (max(p.errors(x, y)) >= p.threshold) is violated


@pytest.mark.parametrize("target", list(TARGETS))
def test_the_negated_claim_holds_exactly_where_the_claim_fails(target):
    """Both renderings, read back independently of the writer, hold at (x, y) iff |y_j - t_j(x)| >= eps + tol for
    some j, on a grid through the kinks, the threshold itself and points just inside and outside it."""
    p = target_property(NET, f"{target}, x9", eps=EPS, box=(-1, 1), tol=TOL)
    v1, v2 = render(p, "1.0"), render(p, "2.0")
    q = _parsed(v2)
    n_conj = sum(len(p.conjunctions(c)) for c in range(p.cases))
    assert len(q.assertions[-1].expr.to_dnf()) == n_conj and n_conj > 4
    cases = [render(p, "1.0", case=c) for c in range(p.cases)]
    seen = set()
    for x, y, violated in _points(TARGETS[target]):
        assert _holds_v1(v1, x, y) is violated, (x[3], x[9], y)
        assert _holds(q, x, y) is violated, (x[3], x[9], y)
        assert any(_holds_v1(c, x, y) for c in cases) is violated  # the cases split the query, nothing lost
        seen.add(violated)
    assert seen == {True, False}


def test_max_is_written_as_and_above_or_below():
    p = target_property(NET, "Max(x3, x9), x9", eps=0, tol="1/1024")
    text = render(p, "1.0")
    assert "(and (>= (- Y_0 X_3) 0.0009765625) (>= (- Y_0 X_9) 0.0009765625))" in text
    assert "(and (<= (- Y_0 X_3) -0.0009765625))\n    (and (<= (- Y_0 X_9) -0.0009765625))" in text
    assert "(assert (or (and (<= (- Y_0 X_3) -0.0009765625)) (and (<= (- Y_0 X_9) -0.0009765625))))" in render(
        p, "1.0", case=1
    )
    for c in range(p.cases):
        _parsed(render(p, "2.0", case=c))


def test_a_linear_target_is_still_one_atom_per_case():
    p = target_property(NET, "x3 - 1/2, Abs(x9 + 0)", eps=0)
    assert isinstance(p.targets[0], LinearTarget) and p.conjunctions(0) == ((p.targets[0],),)
    assert isinstance(p.targets[1], PiecewiseTarget)  # Abs(x9) = Max(x9, -x9)


# ---------------------------------------------------------------------------------------------- a planted wrong network
def test_planted_wrong_network_is_caught_exactly_at_a_corner():
    """Y = Max(x3, x9) (a pl head, exact) meets the claim everywhere; Y = (x3 + x9)/2 misses it by |x3 - x9|/2, and
    the property's checker and both renderings find that at a box corner, exactly."""
    select = theory.select(16, [3, 9], 2)
    good = theory.compose(select, theory.pl_head("Max(x0, x1)", (-1, 1), 2, lipschitz=1))
    wrong = theory.compose(select, theory.pl_head("(x0 + x1)/2", (-1, 1), 1, k=2))
    found = []
    for net in (good, wrong):
        p = target_property(net, "Max(x3, x9)", eps=EPS, box=(-1, 1), tol=TOL)
        v1, q = render(p, "1.0"), _parsed(render(p, "2.0"))
        worst = F(0)
        for a, b in itertools.product(GRID, GRID):
            x = [F(1)] * 16
            x[3], x[9] = a, b
            xs, y, errors = replay(p, net, x)
            assert errors[0] == abs(y[0] - max(a, b))
            assert _holds_v1(v1, xs, y) is _holds(q, xs, y) is (errors[0] >= p.threshold)
            worst = max(worst, errors[0])
        found.append(worst)
    assert found == [0, 1]  # the wrong one: |(-1 + 1)/2 - 1| at the corner x3 = -1, x9 = 1
    p = target_property(wrong, "Max(x3, x9)", eps=EPS, box=(-1, 1), tol=TOL)
    corner = [F(-1)] * 16
    corner[9] = F(1)
    assert replay(p, wrong, corner)[2] == (1,)


# ------------------------------------------------------------------------------------------------ refused
@pytest.mark.parametrize(
    "target, match",
    [
        ("x3*x9", "piecewise-linear"),
        ("sin(x3)", "piecewise-linear"),
        ("x3*Max(x3, x9)", "product"),
        ("Max(x3, x9)**2", "piecewise-linear"),
        ("sin(Max(x3, x9))", "piecewise-linear"),
        ("pi*Max(x3, x9)", "rational"),
        ("Max(x3, pi*x9)", "rational"),
        ("Abs(x3, x9)", "target"),
        ("Max(x3, x99)", "not an input"),
    ],
)
def test_nonlinear_targets_are_refused(target, match):
    with pytest.raises(numerics.NumericsError, match=match):
        target_property(NET, f"{target}, x9", eps=0)


def test_too_many_pieces_are_refused_naming_the_cap():
    many = " + ".join(f"Abs(x{i})" for i in range(9))  # 2^9 pieces
    with pytest.raises(numerics.NumericsError, match=f"MAX_PIECES = {MAX_PIECES}"):
        target_property(NET, f"{many}, x9", eps=0)
    few = " + ".join(f"Abs(x{i})" for i in range(4))
    assert len(target_property(NET, f"{few}, x9", eps=0).targets[0].leaves()) == 16


def test_too_many_conjunctions_are_refused_naming_the_cap():
    maxes = [f"Max(x{i}, x{i + 1})" for i in range(11)]
    wide = f"Min(Min({', '.join(maxes[:6])}), Min({', '.join(maxes[6:])}))"  # below: 2^11 conjunctions
    with pytest.raises(numerics.NumericsError, match=f"MAX_CONJUNCTIONS = {MAX_CONJUNCTIONS}"):
        target_property(NET, f"{wide}, x9", eps=0)
    narrow = "Min(" + ", ".join(f"Max(x{2 * i}, x{2 * i + 1})" for i in range(4)) + ")"
    p = target_property(NET, f"{narrow}, x9", eps=0)
    assert [len(p.conjunctions(c)) for c in range(4)] == [4, 16, 1, 1]
    n = MAX_CONJUNCTIONS  # the cap is per output: many linear outputs (a wide gather) stay fine
    many = Property(
        "sup-norm",
        n,
        n,
        (F(-1), F(1)),
        tuple(LinearTarget(((i, F(1)),)) for i in range(n)),
        F(0),
        F(1, 1024),
        "h",
        1,
        n,
    )
    assert many.cases == 2 * n > MAX_CONJUNCTIONS


@pytest.mark.parametrize("target", ["Min(x3, 1/3)", "Max(x3, x9)/3", "Abs(x3 - x9/3)"])
def test_a_third_in_a_piece_cannot_be_written_and_says_so(target):
    p = target_property(NET, f"{target}, x9", eps=0)
    for version in ("1.0", "2.0"):
        with pytest.raises(numerics.NumericsError, match="terminating decimal"):
            render(p, version)
