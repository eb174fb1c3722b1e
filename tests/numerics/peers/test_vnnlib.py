"""VNN-LIB properties (numerics.peers): exact numbers, the two renderings, parsing by the vnnlib package, and the
exact checker catching a planted wrong routing network at a box corner."""

from __future__ import annotations

import os
import random
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

import numerics
import theory
from numerics.peers import (
    DEFAULT_MARGIN,
    Property,
    decimal,
    export_vnnlib,
    render,
    routing_property,
    target_property,
)
from tests.numerics.peers.helpers import planted

NET = theory.select(16, [0, 9, 15], 2)


# ------------------------------------------------------------------------------------------------ numbers
@pytest.mark.parametrize(
    "q, text",
    [
        (Fraction(0), "0.0"),
        (Fraction(3), "3.0"),
        (Fraction(-1, 2), "-0.5"),
        (Fraction(1, 1024), "0.0009765625"),
        (Fraction(1, 10), "0.1"),
        (Fraction(-7, 4), "-1.75"),
        (Fraction(12345, 8), "1543.125"),
    ],
)
def test_decimal_is_exact(q, text):
    assert decimal(q) == text and Fraction(text) == q


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_decimal_of_every_float_reads_back_exactly(v):
    assert Fraction(decimal(Fraction(v))) == Fraction(v)
    assert float(decimal(Fraction(v))) == v


@pytest.mark.parametrize("q", [Fraction(1, 3), Fraction(-2, 7), Fraction(1, 6)])
def test_decimal_refuses_a_non_terminating_decimal(q):
    with pytest.raises(numerics.NumericsError, match="terminating decimal"):
        decimal(q)


# ------------------------------------------------------------------------------------------------ properties
def test_routing_property_reads_the_support_from_the_spec():
    p = routing_property(NET)
    assert p.support == (0, 9, 15) and p.n_inputs == 16 and p.n_outputs == 3 and p.eps == 0
    assert p.tol == DEFAULT_MARGIN == Fraction(1, 1024) and p.box == (Fraction(-1), Fraction(1))
    assert [t.terms for t in p.targets] == [((0, 1),), ((9, 1),), ((15, 1),)]
    assert p.spec_hash == NET.content_hash and p.cases == 6


def test_routing_property_of_gather_is_the_identity():
    p = routing_property(theory.gather(8, 2))
    assert p.support == tuple(range(8))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"support": [0, 1]}, "support"),
        ({"support": [0, 9, 16]}, "support"),
        ({"support": "abc"}, "support"),
        ({"box": (1, -1)}, "lo <= hi"),
        ({"box": (0,)}, "box"),
        ({"box": ("nan", 1)}, "box"),
        ({"tol": 0}, "tol"),
        ({"tol": -1}, "tol"),
    ],
)
def test_routing_property_rejects_bad_arguments(kwargs, match):
    with pytest.raises(numerics.NumericsError, match=match):
        routing_property(NET, **kwargs)


def test_routing_property_needs_a_support_on_a_spec_without_one():
    net = theory.Network(d=NET.d, layers=NET.layers, meta={})
    with pytest.raises(numerics.NumericsError, match="support"):
        routing_property(net)
    assert routing_property(net, support=[0, 9, 15]).support == (0, 9, 15)


def test_target_property_is_linear_and_exact():
    p = target_property(NET, "x0 + 2*x9 - 1/2, x9, -x15/4", eps="1/8", box=(0, 1))
    assert p.claim == "sup-norm" and p.eps == Fraction(1, 8) and p.box == (0, 1)
    assert p.targets[0].terms == ((0, 1), (9, 2)) and p.targets[0].constant == Fraction(-1, 2)
    assert p.targets[2].terms == ((15, Fraction(-1, 4)),)
    x = [Fraction(1)] * 16
    assert p.errors(x, [Fraction(5, 2), Fraction(1), Fraction(0)]) == (0, 0, Fraction(1, 4))


@pytest.mark.parametrize(
    "target, match",
    [
        ("x0*x1, x9, x15", "linear"),
        ("x0**2, x9, x15", "linear"),
        ("pi*x0, x9, x15", "rational"),
        ("x0, x9", "3 formulas"),
        ("x0, x9, x99", "not an input"),
        ("__import__('os'), x9, x15", "target"),
    ],
)
def test_target_property_rejects_what_vnnlib_cannot_state(target, match):
    with pytest.raises(numerics.NumericsError, match=match):
        target_property(NET, target, eps=0)


def test_a_third_cannot_be_written_and_says_so():
    p = target_property(NET, "x0/3, x9, x15", eps=0)
    with pytest.raises(numerics.NumericsError, match="terminating decimal"):
        render(p)


# ------------------------------------------------------------------------------------------------ renderings
def test_vnnlib_1_declares_the_onnx_sizes(tmp_path):
    onnx = pytest.importorskip("onnx")
    path = numerics.export_onnx(NET, tmp_path / "net.onnx", dtype="float64")
    model = onnx.load(str(path))
    dims = lambda vi: [d.dim_value for d in vi.type.tensor_type.shape.dim][1:]
    n_in, n_out = dims(model.graph.input[0]), dims(model.graph.output[0])
    text = render(routing_property(NET), "1.0")
    xs = [ln for ln in text.splitlines() if ln.startswith("(declare-const X_")]
    ys = [ln for ln in text.splitlines() if ln.startswith("(declare-const Y_")]
    assert [len(xs)] == n_in == [16] and [len(ys)] == n_out == [3]
    assert "(and (>= (- Y_1 X_9) 0.0009765625))" in text and "(and (<= (- Y_2 X_15) -0.0009765625))" in text
    assert text.count("(assert (>= X_") == 16 and text.count("(assert (<= X_") == 16


def _parsed(text):
    vnnlib = pytest.importorskip("vnnlib")
    return vnnlib.parse_query_string(text)


def _holds(query, x, y) -> bool:
    """Whether every assertion of a parsed VNN-LIB 2.0 query holds at (x, y), in exact arithmetic (each
    coefficient the parser read is a float, converted exactly)."""
    ops = {"GreaterEqual": lambda a, b: a >= b, "LessEqual": lambda a, b: a <= b}

    def value(expr):
        le = expr.to_linear_expr()
        vals = {"X": x, "Y": y}
        return Fraction(le.constant) + sum(Fraction(t.coeff) * vals[t.var_name[0]][t.var.indices[-1]] for t in le.terms)

    return all(
        any(all(ops[type(c).__name__](value(c.lhs), value(c.rhs)) for c in conj) for conj in a.expr.to_dnf())
        for a in query.assertions
    )


def test_vnnlib_2_parses_with_the_onnx_shapes(tmp_path):
    q = _parsed(render(routing_property(NET), "2.0"))
    vnnlib = pytest.importorskip("vnnlib")
    path = export_vnnlib(routing_property(NET), tmp_path / "p.vnnlib", version="2.0")
    assert str(vnnlib.parse_query_file(str(path))) == str(q)
    (net,) = q.networks
    assert list(net.inputs[0].shape) == [1, 16] and list(net.outputs[0].shape) == [1, 3]
    dnf = q.assertions[-1].expr.to_dnf()
    assert len(dnf) == 6 and all(len(conj) == 1 for conj in dnf)
    assert len(q.assertions) == 2 * 16 + 1


def test_planted_wrong_routing_is_caught_at_a_box_corner():
    """The parsed query (the negated claim) is satisfied at a corner for the planted network, exactly, and at no
    sampled corner for the correct one; the property's own checker agrees."""
    bad = planted(NET)
    p_bad, p_good = routing_property(bad), routing_property(NET)
    q = _parsed(render(p_bad, "2.0"))
    corner = [Fraction(1)] * 16
    y_bad = theory.evaluate_exact(bad, corner)
    assert y_bad[0] == Fraction(3, 2)  # x0 + x9 / 2
    assert _holds(q, corner, y_bad) and max(p_bad.errors(corner, y_bad)) == Fraction(1, 2) >= p_bad.threshold
    rng = random.Random(0)
    for _ in range(20):
        x = [Fraction(rng.choice((-1, 1))) for _ in range(16)]
        y = theory.evaluate_exact(NET, x)
        assert not _holds(q, x, y) and max(p_good.errors(x, y)) == 0


def test_a_single_case_is_one_disjunct():
    text = render(routing_property(NET), "1.0", case=3)
    assert "(assert (or" not in text and "(assert (and (<= (- Y_1 X_9) -0.0009765625)))" in text
    with pytest.raises(numerics.NumericsError, match="case"):
        render(routing_property(NET), case=6)
    _parsed(render(routing_property(NET), "2.0", case=0))


@pytest.mark.parametrize("prop, version", [("no", "1.0"), (None, "3.0")])
def test_render_rejects_bad_arguments(prop, version):
    with pytest.raises(numerics.NumericsError):
        render(routing_property(NET) if prop is None else prop, version)


def test_export_is_atomic_and_refuses_to_overwrite(tmp_path):
    p = routing_property(NET)
    out = export_vnnlib(p, tmp_path / "sub" / "routing.vnnlib")
    assert out.read_text() == render(p, "1.0")
    with pytest.raises(numerics.NumericsError, match="force"):
        export_vnnlib(p, out, version="2.0")
    export_vnnlib(p, out, version="2.0", force=True)
    assert out.read_text().startswith("(vnnlib-version <2.0>)")
    assert sorted(os.listdir(out.parent)) == ["routing.vnnlib"]  # no temporary file left behind


def test_property_validates_itself():
    p = routing_property(NET)
    with pytest.raises(numerics.NumericsError, match="tol"):
        Property(p.claim, p.n_inputs, p.n_outputs, p.box, p.targets, p.eps, Fraction(0), p.spec_hash, 1, 16)
    with pytest.raises(numerics.NumericsError, match="targets"):
        Property(p.claim, p.n_inputs, 2, p.box, p.targets, p.eps, p.tol, p.spec_hash, 1, 16)


def test_a_linear_target_parses_with_its_coefficients_and_constant():
    """``x0 + 2*x9 - 1/2``: the parsed query holds exactly where |Y_0 - t_0(x)| >= eps + tol, and only there."""
    p = target_property(NET, "x0 + 2*x9 - 1/2, x9, -x15/4", eps="1/8", tol="1/8")
    q = _parsed(render(p, "2.0"))
    x = [Fraction(1, 2)] * 16
    t = [Fraction(1), Fraction(1, 2), Fraction(-1, 8)]  # targets at x
    for y0, expected in [
        (t[0] + Fraction(1, 4), True),
        (t[0] + Fraction(1, 4) - Fraction(1, 64), False),
        (t[0] - Fraction(1, 4), True),
        (t[0], False),
    ]:
        y = [y0, t[1], t[2]]
        assert _holds(q, x, y) is expected
        assert (max(p.errors(x, y)) >= p.threshold) is expected
