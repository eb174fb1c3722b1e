"""Rate fits of measured sample complexities n*(d): log-log slopes, seed bootstrap, log^2 d law, ratios.

Source: Wang & Wu 2023 (arXiv 2305.08404), sample-complexity rates (claims ww.sample.*, docs/separation.md): slopes of
log n* against log d (CNN polylog, LCN about 1, FCN about 2), n*_CNN against log^2 d, the ratios
n*_LCN / n*_CNN and n*_FCN / n*_LCN; fitting n* on the error curve (numerics.learning._nstar) and the seed
bootstrap are ours (reconstruction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .._errors import NumericsError, bad
from ._nstar import (  # noqa: F401
    WINDOW,
    Points,
    bootstrap_curve,
    curve_rng,
    error_matrix,
    interpolate_n_star,
    interval,
    local_n_star,
    median_error,
)


@dataclass(frozen=True)
class LineFit:
    """A least-squares line ``y = intercept + slope x`` with its coefficient of determination ``r2``."""

    slope: float
    intercept: float
    r2: float


def _line(x: np.ndarray, y: np.ndarray, what: str) -> LineFit:
    """Least-squares line through ``(x, y)``; needs two distinct finite x."""
    if x.shape != y.shape or x.ndim != 1:
        raise bad(what, (x.shape, y.shape), "two 1-D sequences of equal length")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise bad(what, list(zip(x.tolist(), y.tolist())), "finite values (positive where logs are taken)")
    if np.unique(x).size < 2:
        raise bad(what, x.tolist(), "at least two distinct abscissae to fit a line through")
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (intercept + slope * x)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / ss_tot if ss_tot > 0 else 1.0
    return LineFit(float(slope), float(intercept), r2)


def _positive(values: Sequence[float], arg: str) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1 or not (np.isfinite(a).all() and (a > 0).all()):
        raise bad(arg, list(values), "a 1-D sequence of finite positive numbers")
    return a


def loglog_fit(ds: Sequence[float], n_stars: Sequence[float]) -> LineFit:
    """Fit ``log n* = intercept + slope log d`` (natural logs) by least squares.

    Raises:
        NumericsError: non-positive or non-finite values, unequal lengths, fewer than two distinct d.
    """
    return _line(np.log(_positive(ds, "ds")), np.log(_positive(n_stars, "n_stars")), "ds, n_stars")


def log2_fit(ds: Sequence[float], n_stars: Sequence[float]) -> dict:
    """The CNN's polylog law: ``n* = a + b log^2 d`` and the slope of ``log n*`` against ``log log d``.

    The second slope is 2 for an exact ``n* = b log^2 d`` law (and 0 for a constant n*).

    Returns:
        ``{"a", "b", "r2", "loglog_slope"}`` (natural logs; d > 1).
    """
    d = _positive(ds, "ds")
    if (d <= 1).any():
        raise bad("ds", list(ds), "dimensions > 1 (log log d must exist)")
    n = _positive(n_stars, "n_stars")
    lin = _line(np.log(d) ** 2, n, "log^2 d, n_stars")
    ll = _line(np.log(np.log(d)), np.log(n), "log log d, log n_stars")
    return {"a": lin.intercept, "b": lin.slope, "r2": lin.r2, "loglog_slope": ll.slope}


def n_stars(points: Points, tau: float, window: float = WINDOW) -> dict[int, float | None]:
    """Fitted n* per d (:func:`local_n_star` on the median-over-seeds curve; ``None``: no evaluated n reached tau)."""
    out = {}
    for d, curve in points.items():
        ns, errs = error_matrix(curve, d)
        out[d] = local_n_star(ns, np.median(errs, axis=1), tau, window=window)
    return out


def bootstrap_n_stars(
    points: Points, tau: float, reps: int, seed: int, window: float = WINDOW
) -> tuple[list[int], np.ndarray]:
    """Seed-bootstrap replicates of the fitted n*: ``(ds, array (reps, len(ds)))``, +inf where one never crosses.

    Per d, :func:`numerics.learning._nstar.bootstrap_curve` with the generator ``curve_rng(seed, d)``, so a d's
    replicates (and its n* interval in the sweep summary) do not depend on which other d are fitted.
    """
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise bad("reps", reps, "an int >= 1")
    if not points:
        raise bad("points", points, "at least one dimension with evaluated points")
    ds = sorted(points)
    out = np.full((reps, len(ds)), np.nan)
    for j, d in enumerate(ds):
        ns, errs = error_matrix(points[d], d)
        out[:, j] = bootstrap_curve(ns, errs, tau, reps, curve_rng(seed, d), window=window)
    return ds, out


def _ci(values: np.ndarray, level: float) -> list[float] | None:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    q = 100 * (1 - level) / 2
    return [float(np.percentile(values, q)), float(np.percentile(values, 100 - q))]


def _row_fits(ds: Sequence[int], reps: np.ndarray) -> np.ndarray:
    """``(slope, intercept)`` of the log-log fit of each bootstrap row, shape (reps, 2); NaN for a row with a gap."""
    fits = np.full((reps.shape[0], 2), np.nan)
    for r, row in enumerate(reps):
        if np.isfinite(row).all() and (row > 0).all():
            f = loglog_fit(ds, row)
            fits[r] = (f.slope, f.intercept)
    return fits


def bootstrap_fit(points: Points, tau: float, reps: int, seed: int, level: float = 0.95) -> dict:
    """Log-log slope of n*(d) with a seed-bootstrap percentile interval.

    The point estimate fits the local-fit n* of the original data (:func:`n_stars`, :mod:`._nstar`: a log-log line
    through the evaluations near each bracket); d where no n reached
    tau are left out and listed. Each bootstrap replicate (:func:`bootstrap_n_stars`) refits the slope over the
    same d; replicates where a used d has no n* are dropped and counted.

    Returns:
        ``{"slope", "intercept", "r2", "ci": [lo, hi] | None, "level", "ds": used, "n_stars": fitted
        n* per used d, "censored_ds", "reps", "reps_used", "n_star_ci": [[lo, hi] per used d] (the seed-bootstrap
        interval of each n*, :func:`numerics.learning._nstar.interval`; hi = inf when open above), "band": [[lo, hi]
        of the fitted line per used d]}``.

    Raises:
        NumericsError: fewer than two d with an n* (the slope is undefined), bad ``reps`` or ``level``.
    """
    if not (isinstance(level, float) and 0 < level < 1):
        raise bad("level", level, "a float in (0, 1)")
    stars = n_stars(points, tau)
    found = {d: star for d, star in stars.items() if star is not None}
    used = sorted(found)
    censored = [d for d in sorted(stars) if stars[d] is None]
    if len(used) < 2:
        raise NumericsError(
            f"no slope: n* found at d = {used}, need two (no n <= n_max reached tau = {tau} at d = {censored})"
        )
    fit = loglog_fit(used, [found[d] for d in used])
    ds, boot = bootstrap_n_stars({d: points[d] for d in used}, tau, reps, seed)
    fits = _row_fits(ds, boot)
    lines = np.exp(fits[:, 1:2] + fits[:, 0:1] * np.log(np.asarray(ds, dtype=np.float64)))  # (reps, len(ds))
    return {
        "slope": fit.slope,
        "intercept": fit.intercept,
        "r2": fit.r2,
        "ci": _ci(fits[:, 0], level),
        "level": level,
        "ds": used,
        "n_stars": [found[d] for d in used],
        "censored_ds": censored,
        "reps": reps,
        "reps_used": int(np.isfinite(fits[:, 0]).sum()),
        "n_star_ci": [list(interval(boot[:, j], level)) for j in range(len(ds))],
        "band": [_ci(lines[:, j], level) for j in range(len(ds))],
    }


def ratio_fit(num: Points, den: Points, tau: float, reps: int, seed: int, level: float = 0.95) -> dict:
    """Log-log slope of ``n*_num / n*_den`` against d, on the d where both have an n*, with a bootstrap CI.

    Both architectures are resampled independently (their seeds are independent runs).

    Returns:
        ``{"slope", "intercept", "r2", "ci", "level", "ds", "ratios", "reps", "reps_used"}``.

    Raises:
        NumericsError: fewer than two common d with an n*.
    """
    sn, sd = n_stars(num, tau), n_stars(den, tau)
    found_n = {d: star for d, star in sn.items() if star is not None}
    found_d = {d: star for d, star in sd.items() if star is not None}
    used = sorted(set(found_n) & set(found_d))
    if len(used) < 2:
        raise NumericsError(f"no ratio slope: both architectures have an n* at only {used} (need two d)")
    ratios = [found_n[d] / found_d[d] for d in used]
    fit = loglog_fit(used, ratios)
    _, bn = bootstrap_n_stars({d: num[d] for d in used}, tau, reps, seed)
    _, bd = bootstrap_n_stars({d: den[d] for d in used}, tau, reps, seed + 1)
    slopes = _row_fits(used, bn / bd)[:, 0]
    return {
        "slope": fit.slope,
        "intercept": fit.intercept,
        "r2": fit.r2,
        "ci": _ci(slopes, level),
        "level": level,
        "ds": used,
        "ratios": ratios,
        "reps": reps,
        "reps_used": int(np.isfinite(slopes).sum()),
    }
