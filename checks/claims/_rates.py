"""Growth-rate checks: least-squares log-log slopes over a declared window, and their named bands.

Rate claims are checked by a log-log slope fit over a declared window, not by one point (docs/soundness.md,
"Numbers: tolerances and rates"). Every band here states why it has its width: a float comparison names its
tolerance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .._errors import bad


@dataclass(frozen=True)
class RateBand:
    """Accept a fitted log-log slope within ``half_width`` of the claimed exponent."""

    half_width: float
    reason: str

    def ok(self, slope: float, exponent: float) -> bool:
        """Whether ``|slope - exponent| <= half_width`` (a NaN slope never is)."""
        return bool(math.isfinite(slope) and abs(slope - exponent) <= self.half_width)


RATE_BANDS: dict[str, RateBand] = {
    "param_count_slope": RateBand(
        0.05,
        "parameter counts are exact closed forms; over windows with d >= 2^6 their lower-order terms (LCN: the "
        "constant -8k^2 for s = 2; FCN: the layers l >= 2, a fixed fraction of the first) move the fitted "
        "log-log slope by < 0.03 from the leading exponent, so 0.05 separates exponent 1 from 2 with margin",
    ),
    "sample_slope_lcn": RateBand(
        0.45,
        "n*(d) of the LCN over d in [16, 256]: the Theta(d) law up to logs; the median-over-seeds n* interpolated "
        "on a 10%-resolution grid and the log factors move a slope fitted over 4 octaves by up to ~0.3, and the "
        "window must still exclude 0 (CNN-like) and 2 (FCN-like) with margin",
    ),
    "sample_slope_fcn": RateBand(
        0.6,
        "n*(d) of the FCN over d in [16, 256]: Omega(d^2); wider than the LCN's band because the largest d may be "
        "censored (fewer octaves); still excludes 1 (LCN-like)",
    ),
    "sample_slope_cnn": RateBand(
        0.75,
        "n*(d) of the CNN: O~(log^2 d), whose local log-log slope averages 2 ln 2 / ln 16 = 0.5 over d in "
        "[16, 256]; 0.75 leaves 0.25 for noise and still excludes the LCN's 1",
    ),
}
"""Named slope bands (the ``tolerance`` of a rate Result is ``'rate:<key>'``)."""


def loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ``log y`` against ``log x``.

    Args:
        xs, ys: at least two positive, finite numbers each, same length, not all ``xs`` equal.
    Returns:
        The fitted slope ``b`` of ``log y = a + b log x``.
    Raises:
        ChecksError: on fewer than two points, mismatched lengths or non-positive values.
    """
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise bad("xs, ys", (x.shape, y.shape), "two 1-d sequences of the same length >= 2")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y)) and np.all(x > 0) and np.all(y > 0)):
        raise bad("xs, ys", "non-positive or non-finite values", "positive finite numbers (logs are taken)")
    lx, ly = np.log(x), np.log(y)
    if np.ptp(lx) == 0:
        raise bad("xs", list(xs), "at least two distinct values")
    return float(np.polyfit(lx, ly, 1)[0])


def in_window(xs: Sequence[int], lo: int, hi: int) -> list[int]:
    """Indices ``i`` with ``lo <= xs[i] <= hi`` (the declared fit window)."""
    return [i for i, v in enumerate(xs) if lo <= v <= hi]
