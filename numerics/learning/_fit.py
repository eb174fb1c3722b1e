"""Rate fits of measured sample complexities n*(d): log-log slopes, seed bootstrap, log^2 d law, ratios.

Source: Wang & Wu 2023 (notes, sections 6 and 8, claim 7, and the experiment design notes): slopes of
log n* against log d (CNN polylog, LCN about 1, FCN about 2), n*_CNN against log^2 d, the ratios
n*_LCN / n*_CNN and n*_FCN / n*_LCN; interpolating n* on the error curve and the seed bootstrap are ours
(reconstruction).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .._errors import NumericsError, bad

Points = Mapping[int, Sequence[tuple[int, Sequence[float]]]]
"""``{d: [(n, per-seed test errors), ...]}``: every evaluated n of one architecture, seeds in a fixed order."""


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
    r2 = 1.0 - float((resid ** 2).sum()) / ss_tot if ss_tot > 0 else 1.0
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


def _crossing(n0: float, e0: float, n1: float, e1: float, tau: float) -> float | None:
    """Where the line through ``(log n0, log e0)``, ``(log n1, log e1)`` reaches ``log tau`` (None: no descent).

    An extrapolated crossing beyond the float range (a nearly flat descent) is ``inf``: no finite n* for that curve.
    """
    if not (0 < e0 < math.inf and 0 < e1 < math.inf) or e1 >= e0 or n1 <= n0:
        return None
    t = (math.log(tau) - math.log(e0)) / (math.log(e1) - math.log(e0))
    log_n = math.log(n0) + t * (math.log(n1) - math.log(n0))
    return math.exp(log_n) if log_n < math.log(sys.float_info.max) else math.inf


def interpolate_n_star(ns: Sequence[int], errors: Sequence[float], tau: float, *,
                       extrapolate: bool = False) -> tuple[float | None, int | None]:
    """n* from one error curve: ``(interpolated, grid)``; ``(None, None)`` when no n reaches ``tau``.

    ``grid`` is the smallest evaluated n with ``error <= tau``. ``interpolated`` is where the straight line
    through ``(log n_f, log e_f)`` and ``(log n_p, log e_p)`` crosses ``log tau``, with ``n_p = grid`` and
    ``n_f`` the largest evaluated n below it: ``log n* = log n_f + (log tau - log e_f) / (log e_p - log e_f)
    (log n_p - log n_f)``; it falls back to ``grid`` when ``grid`` is the smallest n or a log is undefined
    (an error of 0 or infinity). Non-finite errors count as failing. With ``extrapolate`` (used by the
    bootstrap, whose resampled curves may cross tau outside the evaluated range) the line through the two
    largest n (when none passes) or the two smallest n (when the smallest passes) is extended to tau, if it
    descends; ``grid`` is then None when none passes.
    """
    order = np.argsort(np.asarray(ns))
    n = np.asarray(ns, dtype=np.float64)[order]
    e = np.asarray(errors, dtype=np.float64)[order]
    passed = np.isfinite(e) & (e <= tau)
    if not passed.any():
        if extrapolate and n.size >= 2:
            return _crossing(n[-2], e[-2], n[-1], e[-1], tau), None
        return None, None
    i = int(np.argmax(passed))
    grid = int(n[i])
    if i == 0:
        if extrapolate and n.size >= 2:
            return _crossing(n[0], e[0], n[1], e[1], tau) or float(grid), grid
        return float(grid), grid
    star = _crossing(n[i - 1], e[i - 1], n[i], e[i], tau)
    return (float(grid) if star is None else star), grid


def _diverged_as_inf(errors: Any) -> np.ndarray:
    """Errors as a float64 array, a non-finite (diverged) error counting as +inf."""
    a = np.asarray(errors, dtype=np.float64)
    return np.where(np.isfinite(a), a, np.inf)


def median_error(errors: Sequence[float]) -> float:
    """Median over seeds of one point's errors, a non-finite (diverged) error counting as +inf."""
    return float(np.median(_diverged_as_inf(errors)))


def _error_matrix(curve: Sequence[tuple[int, Sequence[float]]], d: int) -> tuple[list[int], np.ndarray]:
    """``(ns, errors (len(ns), seeds))``, diverged errors as +inf."""
    if len({len(errs) for _, errs in curve}) != 1 or not curve or len(curve[0][1]) == 0:
        raise bad("points", {d: [len(e) for _, e in curve]}, "the same nonzero number of seeds at every n")
    return [int(n) for n, _ in curve], _diverged_as_inf([errs for _, errs in curve])


def n_stars(points: Points, tau: float) -> dict[int, float | None]:
    """Interpolated n* per d from the median-over-seeds error curves (``None``: no evaluated n reached tau)."""
    out = {}
    for d, curve in points.items():
        ns, errs = _error_matrix(curve, d)
        out[d] = interpolate_n_star(ns, np.median(errs, axis=1), tau)[0]
    return out


def bootstrap_n_stars(points: Points, tau: float, reps: int, seed: int) -> tuple[list[int], np.ndarray]:
    """Seed-bootstrap replicates of the interpolated n*: ``(ds, array (reps, len(ds)))``, NaN where none passed.

    Each replicate draws, per d independently, as many seed indices as there are seeds, with replacement (the
    same draw for every n of that d: seed j is one run across n), recomputes the median error at every
    evaluated n and then n* (:func:`interpolate_n_star` with ``extrapolate=True``).
    """
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise bad("reps", reps, "an int >= 1")
    if not points:
        raise bad("points", points, "at least one dimension with evaluated points")
    rng = np.random.default_rng(seed)
    ds = sorted(points)
    out = np.full((reps, len(ds)), np.nan)
    for j, d in enumerate(ds):
        ns, errs = _error_matrix(points[d], d)
        k = errs.shape[1]
        medians = np.median(errs[:, rng.integers(0, k, size=(reps, k))], axis=2)  # (len(ns), reps)
        for r in range(reps):
            value = interpolate_n_star(ns, medians[:, r], tau, extrapolate=True)[0]
            out[r, j] = np.nan if value is None else value
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

    The point estimate fits the interpolated n* of the original data (:func:`n_stars`); d where no n reached
    tau are left out and listed. Each bootstrap replicate (:func:`bootstrap_n_stars`) refits the slope over the
    same d; replicates where a used d has no n* are dropped and counted.

    Returns:
        ``{"slope", "intercept", "r2", "ci": [lo, hi] | None, "level", "ds": used, "n_stars": interpolated
        n* per used d, "censored_ds", "reps", "reps_used", "n_star_ci": [[lo, hi] per used d], "band": [[lo, hi]
        of the fitted line per used d]}``.

    Raises:
        NumericsError: fewer than two d with an n* (the slope is undefined), bad ``reps`` or ``level``.
    """
    if not (isinstance(level, float) and 0 < level < 1):
        raise bad("level", level, "a float in (0, 1)")
    stars = n_stars(points, tau)
    used = [d for d in sorted(stars) if stars[d] is not None]
    censored = [d for d in sorted(stars) if stars[d] is None]
    if len(used) < 2:
        raise NumericsError(f"no slope: n* found at d = {used}, need two (no n <= n_max reached tau = {tau} at "
                            f"d = {censored})")
    fit = loglog_fit(used, [stars[d] for d in used])
    ds, boot = bootstrap_n_stars({d: points[d] for d in used}, tau, reps, seed)
    fits = _row_fits(ds, boot)
    lines = np.exp(fits[:, 1:2] + fits[:, 0:1] * np.log(np.asarray(ds, dtype=np.float64)))  # (reps, len(ds))
    return {"slope": fit.slope, "intercept": fit.intercept, "r2": fit.r2, "ci": _ci(fits[:, 0], level),
            "level": level, "ds": used, "n_stars": [stars[d] for d in used], "censored_ds": censored,
            "reps": reps, "reps_used": int(np.isfinite(fits[:, 0]).sum()),
            "n_star_ci": [_ci(boot[:, j], level) for j in range(len(ds))],
            "band": [_ci(lines[:, j], level) for j in range(len(ds))]}


def ratio_fit(num: Points, den: Points, tau: float, reps: int, seed: int, level: float = 0.95) -> dict:
    """Log-log slope of ``n*_num / n*_den`` against d, on the d where both have an n*, with a bootstrap CI.

    Both architectures are resampled independently (their seeds are independent runs).

    Returns:
        ``{"slope", "intercept", "r2", "ci", "level", "ds", "ratios", "reps", "reps_used"}``.

    Raises:
        NumericsError: fewer than two common d with an n*.
    """
    sn, sd = n_stars(num, tau), n_stars(den, tau)
    used = [d for d in sorted(set(sn) & set(sd)) if sn[d] is not None and sd[d] is not None]
    if len(used) < 2:
        raise NumericsError(f"no ratio slope: both architectures have an n* at only {used} (need two d)")
    ratios = [sn[d] / sd[d] for d in used]
    fit = loglog_fit(used, ratios)
    _, bn = bootstrap_n_stars({d: num[d] for d in used}, tau, reps, seed)
    _, bd = bootstrap_n_stars({d: den[d] for d in used}, tau, reps, seed + 1)
    slopes = _row_fits(used, bn / bd)[:, 0]
    return {"slope": fit.slope, "intercept": fit.intercept, "r2": fit.r2, "ci": _ci(slopes, level),
            "level": level, "ds": used, "ratios": ratios, "reps": reps, "reps_used": int(np.isfinite(slopes).sum())}
