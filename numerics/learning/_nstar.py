"""n* from one measured error curve: the bracket, the local log-log fit over neighbouring n, seed-bootstrap intervals.

Every evaluation of a threshold search (each n it tried, each seed) is used: the median-over-seeds error curve
is fitted by a least-squares line in ``(log n, log error)`` over the evaluations within a factor ``window`` of
the bracket (the last failing and first passing n), and n* is where that line reaches ``tau``. With
``window = 1`` only the bracket's two ends are used, which is the two-point interpolation
(:func:`interpolate_n_star`). The interval is the seed-bootstrap percentile interval of the same estimate.

Source: Wang & Wu 2023 (arXiv 2305.08404; n* as a threshold of the test-error curve, docs/separation.md); the local
log-log fit, the window and the seed bootstrap are ours (reconstruction), the bootstrap percentile interval after
Efron & Tibshirani, An Introduction to the Bootstrap (1993), chapter 13.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .._errors import bad

Points = Mapping[int, Sequence[tuple[int, Sequence[float]]]]
"""``{d: [(n, per-seed test errors), ...]}``: every evaluated n of one architecture, seeds in a fixed order."""
WINDOW = 2.0
"""Neighbours used by the local fit: evaluated n within ``[lo / WINDOW, hi * WINDOW]`` of the bracket ``(lo, hi]``
(one doubling each side: the geometric phase's neighbours; benchmarks/n_star.py compares 1, 2 and 4)."""


def _crossing(n0: float, e0: float, n1: float, e1: float, tau: float) -> float | None:
    """Where the line through ``(log n0, log e0)``, ``(log n1, log e1)`` reaches ``log tau`` (None: no descent).

    An extrapolated crossing beyond the float range (a nearly flat descent) is ``inf``: no finite n* for that curve.
    """
    if not (0 < e0 < math.inf and 0 < e1 < math.inf) or e1 >= e0 or n1 <= n0:
        return None
    t = (math.log(tau) - math.log(e0)) / (math.log(e1) - math.log(e0))
    log_n = math.log(n0) + t * (math.log(n1) - math.log(n0))
    return math.exp(log_n) if log_n < math.log(sys.float_info.max) else math.inf


def _sorted(ns: Sequence[int], errors: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(np.asarray(ns))
    return np.asarray(ns, dtype=np.float64)[order], np.asarray(errors, dtype=np.float64)[order]


def interpolate_n_star(
    ns: Sequence[int], errors: Sequence[float], tau: float, *, extrapolate: bool = False
) -> tuple[float | None, int | None]:
    """n* from one error curve by two-point interpolation: ``(interpolated, grid)``; ``(None, None)`` when no n
    reaches ``tau``. The same as :func:`local_n_star` with ``window = 1``; ``grid`` is the bracket's upper end.

    ``grid`` is the smallest evaluated n with ``error <= tau``. ``interpolated`` is where the straight line
    through ``(log n_f, log e_f)`` and ``(log n_p, log e_p)`` crosses ``log tau``, with ``n_p = grid`` and
    ``n_f`` the largest evaluated n below it: ``log n* = log n_f + (log tau - log e_f) / (log e_p - log e_f)
    (log n_p - log n_f)``; it falls back to ``grid`` when ``grid`` is the smallest n or a log is undefined
    (an error of 0 or infinity). Non-finite errors count as failing. With ``extrapolate`` (used by the
    bootstrap, whose resampled curves may cross tau outside the evaluated range) the line through the two
    largest n (when none passes) or the two smallest n (when the smallest passes) is extended to tau, if it
    descends; ``grid`` is then None when none passes.
    """
    n, e = _sorted(ns, errors)
    passed = np.isfinite(e) & (e <= tau)
    grid = int(n[int(np.argmax(passed))]) if passed.any() else None
    if grid is None and not extrapolate:
        return None, None
    return local_n_star(ns, errors, tau, window=1.0, extrapolate=extrapolate), grid


def _anchors(passed: np.ndarray) -> tuple[int, int, str | None]:
    """The two evaluations the fit is centred on: the bracket ``(i - 1, i)`` (``i`` the first pass), or the two
    largest n (none passes: ``'above'``) or the two smallest (the first passes: ``'below'``)."""
    if not passed.any():
        return passed.size - 2, passed.size - 1, "above"
    i = int(np.argmax(passed))
    return (0, 1, "below") if i == 0 else (i - 1, i, None)


def local_n_star(
    ns: Sequence[int], errors: Sequence[float], tau: float, *, window: float = WINDOW, extrapolate: bool = False
) -> float | None:
    """n* where a least-squares line through the curve's evaluations near the bracket reaches ``tau``.

    With ``(a, b)`` the bracket (:func:`_anchors`), the line ``log e = c0 + c1 log n`` is fitted to the evaluations
    with ``n_a / window <= n <= n_b window`` and ``0 < e < inf``; n* = ``exp((log tau - c0) / c1)`` when
    ``c1 < 0``, clipped to the fitted n-range (the fit is a local one: no extrapolation inside the searched range),
    else the two-point crossing (:func:`_crossing`) of ``a`` and ``b``, else the grid value ``n_b``. Curves that
    do not cross tau in the evaluated range give ``None`` (none passes) or ``n_min`` (the first passes), unless
    ``extrapolate``: then the fitted line at that end is extended to tau, unclipped (``None``: it does not descend,
    ``inf``: beyond the float range), as the bootstrap's resampled curves need.

    Raises:
        NumericsError: ``window`` < 1 or not finite.
    """
    if not (isinstance(window, (int, float)) and math.isfinite(window) and window >= 1):
        raise bad("window", window, "a finite number >= 1 (1: the bracket's two ends only)")
    n, e = _sorted(ns, errors)
    passed = np.isfinite(e) & (e <= tau)
    if n.size == 0:
        return None
    if n.size < 2 or not extrapolate and (passed[0] or not passed.any()):  # no crossing inside the range
        return float(n[0]) if passed[0] else None
    a, b, censored = _anchors(passed)
    near = (n >= n[a] / window * (1 - 1e-12)) & (n <= n[b] * window * (1 + 1e-12)) & (e > 0) & np.isfinite(e)
    x, y = np.log(n[near]), np.log(e[near])  # the 1e-12: n exactly window times an end is a neighbour
    star = None
    if x.size == 2:  # two points: the line through them, in closed form
        (n0, n1), (e0, e1) = n[near], e[near]
        star = _crossing(n0, e0, n1, e1, tau)
    elif np.unique(x).size >= 2:
        slope, icept = np.polyfit(x, y, 1)
        if slope < 0:
            log_n = (math.log(tau) - icept) / slope
            star = math.exp(log_n) if log_n < math.log(sys.float_info.max) else math.inf
    if star is not None and censored is None:
        star = min(max(star, float(n[near][0])), float(n[near][-1]))
    if star is None:
        star = _crossing(n[a], e[a], n[b], e[b], tau)
    if star is None and censored != "above":
        star = float(n[b] if censored is None else n[0])
    return star


@dataclass(frozen=True)
class NStar:
    """One (arch, d) point's n*: the fitted ``point`` (None: no crossing), its ``interval`` ``(lo, hi)``
    (``hi = inf``: open above; ``lo = 0``: open below), the search's ``bracket`` ``(last failing n, first
    passing n)`` (None where it has no such n) and ``censored`` (``'above'``, ``'below'`` or None)."""

    point: float | None
    interval: tuple[float, float]
    bracket: tuple[int | None, int | None]
    censored: str | None

    def to_dict(self) -> dict[str, Any]:
        """Plain values for summary.json (an open end as None)."""
        return {
            "n_star_fit": self.point,
            "n_star_ci": [v if 0 < v < math.inf else None for v in self.interval],
            "bracket": list(self.bracket),
        }


def _diverged_as_inf(errors: Any) -> np.ndarray:
    """Errors as a float64 array, a non-finite (diverged) error counting as +inf."""
    a = np.asarray(errors, dtype=np.float64)
    return np.where(np.isfinite(a), a, np.inf)


def median_error(errors: Sequence[float]) -> float:
    """Median over seeds of one point's errors, a non-finite (diverged) error counting as +inf."""
    return float(np.median(_diverged_as_inf(errors)))


def error_matrix(curve: Sequence[tuple[int, Sequence[float]]], d: int) -> tuple[list[int], np.ndarray]:
    """``(ns, errors (len(ns), seeds))``, diverged errors as +inf."""
    if not curve or len({len(errs) for _, errs in curve}) != 1 or len(curve[0][1]) == 0:
        raise bad("points", {d: [len(e) for _, e in curve]}, "the same nonzero number of seeds at every n")
    return [int(n) for n, _ in curve], _diverged_as_inf([errs for _, errs in curve])


def bootstrap_curve(
    ns: Sequence[int], errs: np.ndarray, tau: float, reps: int, rng: np.random.Generator, *, window: float = WINDOW
) -> np.ndarray:
    """``reps`` seed-bootstrap replicates of :func:`local_n_star` (extrapolating), +inf where one never crosses.

    Each replicate draws as many seed indices as there are seeds, with replacement, the same draw at every n
    (seed j is one run across n), and recomputes the median error at every n.
    """
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise bad("reps", reps, "an int >= 1")
    k = errs.shape[1]
    medians = np.median(errs[:, rng.integers(0, k, size=(reps, k))], axis=2)  # (len(ns), reps)
    out = np.empty(reps)
    for r in range(reps):
        value = local_n_star(ns, medians[:, r], tau, window=window, extrapolate=True)
        out[r] = math.inf if value is None else value
    return out


def interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates at ``level``, conservative on a finite sample: the lower end
    rounds its rank down, the upper up (``numpy.quantile`` methods ``lower`` / ``higher``); +inf replicates
    (no crossing) count, so the upper end is +inf (open) once more than ``(1 - level) / 2`` of them never cross."""
    q = (1 - level) / 2
    return float(np.quantile(values, q, method="lower")), float(np.quantile(values, 1 - q, method="higher"))


def curve_rng(seed: int, d: int) -> np.random.Generator:
    """The bootstrap generator of dimension ``d`` under ``seed``: the same draws whichever other d are fitted."""
    return np.random.default_rng([seed, d])


def fit_n_star(
    ns: Sequence[int],
    errs: Any,
    tau: float,
    *,
    reps: int,
    seed: int,
    d: int = 0,
    level: float = 0.95,
    window: float = WINDOW,
) -> NStar:
    """n* of one curve (``errs``: shape ``(len(ns), seeds)``) with its seed-bootstrap interval (:func:`interval`).

    A curve whose median never crosses tau in the searched range has no point estimate and the open interval
    ``(largest n, inf)`` (none passes) or ``(0, smallest n)`` (the smallest passes).
    """
    errs = _diverged_as_inf(errs)
    if errs.ndim != 2 or errs.shape[0] != len(ns) or errs.shape[1] == 0 or not ns:
        raise bad("errs", errs.shape, f"an array (len(ns) = {len(ns)}, seeds >= 1)")
    n, med = _sorted(ns, np.median(errs, axis=1))
    passed = med <= tau
    i = int(np.argmax(passed)) if passed.any() else None
    bracket: tuple[int | None, int | None]
    censored: str | None
    if i is None:
        bracket, censored = (int(n[-1]), None), "above"
    else:
        bracket, censored = (None if i == 0 else int(n[i - 1]), int(n[i])), "below" if i == 0 else None
    point = None if censored else local_n_star(ns, np.median(errs, axis=1), tau, window=window)
    if censored:  # no crossing inside the searched range: only the range's end bounds n*
        return NStar(None, (float(n[-1]), math.inf) if censored == "above" else (0.0, float(n[0])), bracket, censored)
    lo, hi = interval(bootstrap_curve(ns, errs, tau, reps, curve_rng(seed, d), window=window), level)
    return NStar(point, (lo, hi), bracket, censored)
