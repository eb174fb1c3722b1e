"""Targets at the edge of their domain: the certifier's upper bound is sound and finite wherever the target is
bounded (fractional powers and sqrt at 0), and where it is not (log near 0, 1/x across 0, a fractional power of a
negative number) the certificate says so instead of claiming a bound. Each case is compared with the true sup error,
computed independently on a fine grid (the network outputs x1 exactly)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import theory
from theory.certify._elementary import iv_log

NET = theory.select(4, [1], 2)  # output = x1 exactly


def grid_sup(f, lo, hi, n=200001):
    x = np.linspace(lo, hi, n)
    with np.errstate(all="ignore"):
        return float(np.nanmax(np.abs(x - f(x))))


@pytest.mark.parametrize(
    "target, box, f",
    [
        ("x1**(1/3)", (0, 1), np.cbrt),
        ("x1**(2/3)", (0, 1), lambda x: np.cbrt(x) ** 2),
        ("sqrt(x1)", (0, 1), np.sqrt),
        ("x1**(1/3)", ("1/2", 1), np.cbrt),
    ],
)
def test_bounded_targets_get_a_finite_sound_bound(target, box, f):
    cert = theory.certify_sup_error(NET, target, box, time_limit_s=10)
    true = grid_sup(f, float(Fraction(box[0])), float(Fraction(box[1])))
    assert cert.status == "proved" and cert.upper is not None
    assert float(cert.lower) <= true * (1 + 1e-9) and true <= float(cert.upper)  # grid: a lower bound of the sup
    assert float(cert.upper) <= 1.02 * float(cert.lower)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # no numpy "invalid value" noise from the search either
@pytest.mark.parametrize(
    "target, box",
    [
        ("log(x1)", (0, 1)),
        ("1/x1", (-1, 1)),
        ("x1**(1/3)", (-1, 1)),
        ("sqrt(x1)", (-1, 1)),
        ("x1**(-2)", (-1, 1)),
        ("log(x1 + 1)", (-1, 1)),
    ],
)
def test_unbounded_or_undefined_targets_are_never_proved(target, box):
    cert = theory.certify_sup_error(NET, target, box, time_limit_s=2)
    assert cert.status == "unknown" and cert.upper is None
    assert "no finite upper bound" in cert.details["reason"] and "no finite upper bound" in cert.claim


def test_log_at_zero_is_minus_infinity_not_the_whole_line():
    lo, hi = iv_log((np.array([0.0, -1.0, 0.25]), np.array([0.5, 0.5, 0.5])))
    assert lo[0] == -np.inf and np.log(0.5) <= hi[0] < np.log(0.5) + 1e-12  # [0, 1/2]: (-inf, log 1/2]
    assert lo[1] == -np.inf and hi[1] == np.inf  # reaches below 0: no information
    assert lo[2] <= np.log(0.25) <= hi[2] and hi[2] >= np.log(0.5)
