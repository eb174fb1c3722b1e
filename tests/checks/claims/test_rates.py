"""Rates (checks.claims): the log-log slope and the declared rate bands."""

from __future__ import annotations

import pytest

import checks
from checks import ChecksError


def test_loglog_slope():
    xs = [2.0**i for i in range(4, 10)]
    assert checks.loglog_slope(xs, [3 * x**2 for x in xs]) == pytest.approx(2.0, abs=1e-12)
    assert checks.RATE_BANDS["param_count_slope"].ok(1.02, 1.0)
    assert not checks.RATE_BANDS["param_count_slope"].ok(float("nan"), 1.0)
    for xs_, ys_ in (([1.0], [1.0]), ([1.0, 2.0], [1.0, -2.0]), ([2.0, 2.0], [1.0, 3.0]), ([1.0, 2.0], [1.0])):
        with pytest.raises(ChecksError):
            checks.loglog_slope(xs_, ys_)
