"""Rigorous mpmath-interval versions of the formula functions mpmath's ``iv`` context lacks: atan, Min, Max.

Used by the heads' evaluator (:func:`theory.heads._target.evaluate_on`) and the certifier's mpmath fallback
(:mod:`theory.certify._enclosure`), so that both cover every row of :data:`theory.formula.FUNCTIONS`.
Every result encloses the exact value: ``iv`` arithmetic is outward rounded, and the one series used carries
its remainder bound.
"""

from __future__ import annotations

from typing import Any

from mpmath import iv, libmp


def _endpoints(x: Any) -> tuple[Any, Any]:
    """The raw mpf endpoints of an mpmath interval (a number becomes a point interval)."""
    x = x if isinstance(x, iv.mpf) else iv.mpf(x)
    return x._mpi_


def _extreme(args: tuple, first: Any) -> Any:
    """The interval of the ends ``first`` picks (``libmp.mpf_lt``: min, ``mpf_gt``: max) among the lower ends and
    among the upper ends (exact, no rounding)."""
    ends = [_endpoints(a) for a in args]
    lo, hi = ends[0]
    for a, b in ends[1:]:
        lo = a if first(a, lo) else lo
        hi = b if first(b, hi) else hi
    return iv.make_mpf((lo, hi))


def iv_min(*args: Any) -> Any:
    """``min`` of intervals: ``[min of the lower ends, min of the upper ends]`` (exact, no rounding)."""
    return _extreme(args, libmp.mpf_lt)


def iv_max(*args: Any) -> Any:
    """``max`` of intervals: ``[max of the lower ends, max of the upper ends]`` (exact, no rounding)."""
    return _extreme(args, libmp.mpf_gt)


def _atan_reduced(t: Any) -> Any:
    """Enclosure of ``atan(t)`` for an interval ``t`` within ``[-1, 1]``.

    Formula: two halvings ``atan(t) = 2 atan(t / (1 + sqrt(1 + t^2)))`` bring ``|t|`` below
    ``tan(pi/16) < 0.2``; then the alternating series ``sum_{n<N} (-1)^n t^(2n+1) / (2n+1)`` with remainder
    ``|R| <= |t|^(2N+1) / (2N+1)``, ``N`` chosen for the current ``iv.prec``.
    """
    for _ in range(2):
        t = t / (1 + iv.sqrt(1 + t * t))
    n_terms = iv.prec // 4 + 4
    t2 = t * t
    term, total = t, iv.mpf(0)
    for n in range(n_terms):
        total += term / (2 * n + 1) if n % 2 == 0 else -term / (2 * n + 1)
        term = term * t2
    mag = iv.mpf(max(abs(iv.mpf(t.a)), abs(iv.mpf(t.b))).b)
    rem = mag ** (2 * n_terms + 1) / (2 * n_terms + 1)
    return 4 * (total + iv.mpf([-rem.b, rem.b]))


def _atan_point(v: Any) -> Any:
    """Enclosure of ``atan`` at one point (a point interval ``v``); ``|v| > 1`` through
    ``atan(v) = sign(v) pi / 2 - atan(1 / v)``."""
    if v > 1:
        return iv.pi / 2 - _atan_reduced(1 / v)
    if v < -1:
        return -iv.pi / 2 - _atan_reduced(1 / v)
    return _atan_reduced(v)


def iv_atan(x: Any) -> Any:
    """Enclosure of ``atan`` on an mpmath interval (increasing: the ends' enclosures bound it)."""
    x = x if isinstance(x, iv.mpf) else iv.mpf(x)
    lo, hi = _atan_point(iv.mpf(x.a)), _atan_point(iv.mpf(x.b))
    return iv.make_mpf((lo._mpi_[0], hi._mpi_[1]))
