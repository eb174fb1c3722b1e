"""Targets whose values or derivatives leave the float range: a clear error naming the argument, never a
traceback, a hang or a warning on stderr."""

from __future__ import annotations

import subprocess
import sys
import time
from fractions import Fraction

import pytest

import numerics
import theory


@pytest.mark.parametrize("g", ["exp(1000*x0)*x1", "exp(-1000*x0)*x1", "exp(800*x1)"])
def test_a_head_whose_second_derivatives_overflow_is_refused(g):
    with pytest.raises(theory.TheoryError, match="within the float64 range"):
        theory.approximate_sparse(16, [1, 9], g, (-1, 1), Fraction(1, 10))


@pytest.mark.parametrize("g", ["exp(1000*x1)*x9", "exp(710*x1)"])
def test_an_error_beyond_the_float_range_is_refused_at_scale(g):
    net = theory.select(16, [1, 9])
    with pytest.raises(numerics.NumericsError, match="within the float64 range"):
        numerics.check_at_scale(net, [g, "x9"], (-1, 1), samples=256, search_steps=2, certify=False)


def test_the_command_line_exits_2_without_a_traceback_or_a_warning(tmp_path):
    cmd = [sys.executable, "-W", "default", "-m", "theory", "build", "approx", "--d", "16", "--support", "1,9"]
    cmd += ["--g", "exp(1000*x0)*x1", "--eps", "0.1", "--out", str(tmp_path / "o")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.startswith("error: argument 'g'")
    assert "Traceback" not in out.stderr and "Warning" not in out.stderr
    assert not (tmp_path / "o").exists()


BIG = "(" + " + ".join(f"x{i}" for i in range(12)) + ")**64"  # about 4.9e12 terms once expanded


def test_a_formula_is_sized_before_it_is_expanded():
    from theory.formula import MAX_EXPANDED_TERMS, expanded_terms, parse_formula, structural_degree

    g = parse_formula(BIG, variables="head", name="g")
    assert expanded_terms(g) > MAX_EXPANDED_TERMS and structural_degree(g, g.free_symbols) == 64
    small = parse_formula("(x0 + x1)**3 * (x0 - 1)", variables="head", name="g")
    import sympy as sp

    assert len(sp.expand(small).args) <= expanded_terms(small) == 8  # an upper bound, here reached


def test_a_polynomial_head_too_large_to_expand_is_refused_fast():
    t0 = time.perf_counter()
    with pytest.raises(theory.TheoryError, match="terms once expanded"):
        theory.polynomial_head(BIG, (-1, 1), 2, k=12)
    assert time.perf_counter() - t0 < 5


def test_a_property_target_too_large_to_expand_is_refused_fast():
    net = theory.select(16, list(range(12)))
    t0 = time.perf_counter()
    with pytest.raises(numerics.NumericsError, match="degree 1"):
        numerics.target_property(net, [BIG] + ["x1"] * 11, eps=1)
    assert time.perf_counter() - t0 < 5


def test_a_forged_head_target_does_not_stall_the_certificate(tmp_path):
    """A spec whose meta names a huge head_target: the piecewise method does not expand it to compare it with
    x0 x1 (it is not), and the certificate runs under its own budget."""
    from theory.certify.pieces._grid import _product_m

    net = theory.approximate_sparse(16, [1, 9], "x0*x1", (-1, 1), Fraction(1, 10))
    honest = {"head": dict(net.meta["head"]), "head_target": "x0*x1"}
    assert _product_m(honest) == net.meta["head"]["params"]["m"]
    t0 = time.perf_counter()
    assert _product_m({**honest, "head_target": BIG}) is None
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("g", ["exp(exp(exp(5*x1)))", "exp(exp(exp(exp(x1))))*x9"])
def test_an_exponent_tower_is_a_clear_error_at_scale(g):
    net = theory.select(16, [1, 9])
    t0 = time.perf_counter()
    with pytest.raises((numerics.NumericsError, theory.TheoryError), match="target"):
        numerics.check_at_scale(net, [g, "x9"], (-1, 1), samples=256, search_steps=2, certify=False)
    assert time.perf_counter() - t0 < 30


def test_tiny_enclosures_round_outward():
    from theory.heads._target import MAX_BITS, enclose_target

    g = theory.parse_formula("exp(-exp(exp(5*x0)))", variables="head", name="g")
    lo, hi = enclose_target(g, {next(iter(g.free_symbols)): Fraction(1)})
    assert lo == 0 < hi <= Fraction(1, 2**MAX_BITS)  # exp(-e^(e^5)) is far below 2^-4096, and positive
