"""Targets whose values or derivatives leave the float range: a clear error naming the argument, never a
traceback, a hang or a warning on stderr."""

from __future__ import annotations

import subprocess
import sys
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
