"""Floating point error of a network's float evaluation: an a-priori bound, keyed by the float format's name.

Model (standard; Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., Lemma 3.1, 3.3 and
section 3.1): ``fl(a op b) = (a op b)(1 + delta)``, ``|delta| <= u`` with unit roundoff ``u = 2^-p`` (float32
``2^-24``, float64 ``2^-53``), plus an absolute error of at most the smallest subnormal per operation when a
result underflows; ``gamma_n = n u / (1 - n u)``. The model holds while no value overflows (see
:attr:`RoundingBound.peak`) and for weights that round relatively (normal or zero: see
:attr:`RoundingBound.weight_range`).

Bound. A unit ``y = act(b + sum_i w_i x_i)`` with ``m`` nonzero weights, evaluated in float with correctly
rounded weights ``w^ = w (1 + delta)`` on inputs ``x^`` with ``|x^_i - x_i| <= e_i`` and ``|x_i| <= a_i``:
any summation order of the ``m`` products, the bias and exact zeros (``0 * v = +-0`` and ``v + (+-0) = v`` for
finite ``v``) gives

    |y^ - y| <= (1 + u) sum_i |w_i| e_i + gamma_{m+2} (sum_i |w_i| (a_i + e_i) + |b|)  [+ (m + 2) eta],

``gamma_{m+2}`` covering the ``m`` product roundings, at most ``m`` additions and the weight rounding
(``(1 + u)(1 + gamma_{m+1}) <= 1 + gamma_{m+2}``), ``eta`` the smallest subnormal (underflow). ReLU is exact and
1-Lipschitz, so the bound passes through it. Magnitudes propagate as ``a_y = sum_i |w_i| a_i + |b|``.

Routing is exact. A unit with one nonzero weight ``+-1`` and bias 0 (every tree unit of ``gather``/``select``):
``fl(+-1 * v) = +-v`` and the remaining terms are exact zeros, so its float value equals the exact value of
its (float) input. The sign-split readout ``relu(x) - relu(-x)`` adds two numbers of which one is 0, which
is exact too (units are tracked as ``+-x_t`` or ``relu(+-x_t)`` to recognise such pairs). By induction over
the levels a routing network has no rounding error at all for finite inputs: its bound is 0 for every depth
and format; :attr:`RoundingBound.exact_layers` lists the layers where every cone unit is exact. For a
depth-``D`` stack of general layers the recursion unrolls to the a-priori form

    e_D <= sum_l gamma_{n_l + 2} prod_{j > l} ||W_j||_inf (||W_l||_inf (a_{l-1} + e_{l-1}) + ||b_l||_inf),

``n_l`` the largest fan-in of level ``l``: linear in depth for unit-norm layers, ``O(D n u)`` overall.

This module is the one implementation; ``numerics.rounding_bound`` resolves a torch dtype to its name and
calls :func:`rounding_bound`, and :func:`theory.certify_sup_error` adds it for ``semantics="float32"``. The
fixed per-level data of the bound (float weights, fan-ins, the exact routing units) is
:mod:`theory.spec._rounding_levels`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from .._errors import bad
from ._network import Network
from ._rounding_levels import Level, abs_floats, level_plan

# name -> (p: significand bits incl. the hidden bit, emin: exponent of the smallest normal, emax)
FORMATS = {
    "float64": (53, -1022, 1023),
    "float32": (24, -126, 127),
    "float16": (11, -14, 15),
    "bfloat16": (8, -126, 127),
}
_SAFETY = 1 + 2.0**-30  # covers the float64 rounding of the bound's own arithmetic (relative, tiny)

_ZERO: Any = Fraction(0)
"""Exact 0 as a numpy object scalar (ReLU of exact values)."""


def _format(name: Any) -> tuple[int, int, int]:
    if not isinstance(name, str) or name not in FORMATS:
        raise bad("dtype", name, f"one of {sorted(FORMATS)} (the float format's name)")
    return FORMATS[name]


def unit_roundoff(name: str) -> float:
    """``u = 2^-p`` of the format ``name`` (float32: ``2^-24``, float64: ``2^-53``)."""
    return math.ldexp(1.0, -_format(name)[0])


def smallest_normal(name: str) -> float:
    """``2^emin`` (float32: ``2^-126``, float64: ``2^-1022``)."""
    return math.ldexp(1.0, _format(name)[1])


def largest_finite(name: str) -> float:
    """``(2 - 2^(1-p)) 2^emax`` (float32: about 3.4e38)."""
    p, _, emax = _format(name)
    return math.ldexp(2.0 - math.ldexp(1.0, 1 - p), emax)


def gamma(n: Any, name: str) -> np.ndarray:
    """``gamma_n = n u / (1 - n u)`` elementwise (``inf`` when ``n u >= 1``). Source: Higham (2002), (3.8)."""
    u = unit_roundoff(name)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(n * u < 1, n * u / np.maximum(1 - n * u, 0), np.inf)


@dataclass(frozen=True)
class RoundingBound:
    """A-priori bound on ``|float output - exact output|`` per output of a network.

    Attributes:
        per_output: float64 array ``(n_outputs,)`` of bounds (already rounded up).
        magnitude: float64 array ``(n_outputs,)``: bounds on ``|output|`` used on the way.
        exact_layers: indices of the layers where every cone unit is a routing unit (no rounding at all).
        layer_new: largest new rounding error any cone unit of each layer introduces (0 for routing layers).
        dtype: the float format: its name, or the torch dtype when ``numerics.rounding_bound`` computed it.
        peak: bound on the magnitude of every float value of the evaluation (products, partial sums, unit
            values): ``max (1 + gamma_{m+2}) (sum |w| (a + e) + |b|)`` over the cone's units. The model needs
            ``peak <= largest_finite`` (no overflow).
        weight_range: ``(smallest, largest)`` nonzero ``|w|`` or ``|b|`` of the cone as float64 (``(inf, 0)``
            without any). The weight rounding is relative only for ``smallest >= smallest_normal``.
    """

    per_output: np.ndarray
    magnitude: np.ndarray
    exact_layers: tuple[int, ...]
    layer_new: tuple[float, ...]
    dtype: Any
    peak: float
    weight_range: tuple[float, float]

    @property
    def total(self) -> float:
        return float(self.per_output.max()) if self.per_output.size else 0.0


def cone_levels(net: Network) -> list[tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray] | None]]:
    """The output's cone: per level the units the outputs depend on, and the edges into them.

    Returns:
        ``D + 1`` entries ``(units, edges)``; ``units`` sorted int64 unit ids of level ``l`` (level 0: input
        units ``p * c_in + c``); ``edges`` of level ``l >= 1`` is ``(which, src, nz)`` from
        :meth:`theory.Layer.edges` with ``src`` re-indexed into the units of level ``l - 1``.
    """
    needed = np.arange(net.n_outputs, dtype=np.int64)
    out: list[Any] = [None] * (net.depth + 1)
    for i in range(net.depth - 1, -1, -1):
        which, in_units, nz = net.layers[i].edges(needed)
        below = np.unique(in_units)
        out[i + 1] = (needed, (which, np.searchsorted(below, in_units), nz))
        needed = below
    out[0] = (needed, None)
    return out


def _exact_levels(net: Network, levels: list, x: Sequence[Fraction]) -> list[np.ndarray]:
    """Exact values of every cone unit at the point ``x`` (values of the cone's input units), level by level."""
    vals = np.empty(len(x), dtype=object)
    vals[:] = [Fraction(v) for v in x]
    out = [vals]
    for i, layer in enumerate(net.layers):
        units, (which, src, nz) = levels[i + 1]
        acc = layer.bias_of(units)
        np.add.at(acc, which, layer.weight.values[nz] * vals[src])
        vals = np.where(acc > 0, acc, _ZERO) if layer.relu else acc
        out.append(vals)
    return out


def _step(lv: Level, a: np.ndarray, e: np.ndarray, dtype: str, live: np.ndarray | None = None):
    """One level for magnitudes ``a`` and errors ``e`` of the level below, ``(n,)`` or ``(n, B)``.

    ``sum_a = |W| a``, ``sum_e = |W| e``, the new rounding ``gamma_{fan+2} (sum_a + sum_e + |b|) + (fan + 2) eta``
    (0 on exact units), ``e' = (1 + u) sum_e + new`` (``sum_e`` on exact units); columns are independent regions.
    ``live`` (bool, like ``a``): inputs whose float value may be nonzero; the others are exact float zeros, whose
    products and additions are exact, so ``fan`` counts only live inputs. Returns ``(sum_a, e', new, peak)`` with
    ``peak = (1 + gamma) (sum_a + sum_e + |b|)`` the largest float magnitude.
    """
    p, emin, _ = _format(dtype)
    u, eta = unit_roundoff(dtype), math.ldexp(1.0, emin - p + 1)  # eta: the smallest subnormal
    col = (slice(None),) + (None,) * (a.ndim - 1)  # broadcast per-unit vectors over regions
    fan = lv.fan[col] if live is None else np.asarray(lv.P @ live.astype(np.float64)).astype(np.int64)
    sum_a, sum_e = lv.W @ a, lv.W @ e
    g = gamma(np.arange(int(lv.fan.max(initial=0)) + 3), dtype)[fan + 2]  # gamma of the integer fan-ins
    total = sum_a + sum_e + lv.b[col]
    new = np.where(lv.exact[col], 0.0, g * total + (fan + 2) * eta)
    return sum_a, np.where(lv.exact[col], sum_e, (1 + u) * sum_e + new), new, (1 + g) * total


def region_bounds(
    net: Network,
    magnitudes: Sequence[np.ndarray],
    dtype: str,
    pre_max: Sequence[np.ndarray | None] | None = None,
    plan: list | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The bound of :func:`rounding_bound` on many regions at once, from exact magnitudes of every cone unit.

    Args:
        net: the spec (one output).
        magnitudes: per level ``l = 0 .. D`` of :func:`cone_levels` an array ``(units_l, B)`` with
            ``a[u, r] >= |h_u(x)|`` for every ``x`` of region ``r`` (exact values; level 0 the inputs): e.g. the
            largest ``|h_u|`` over the vertices of a simplex on which ``h_u`` is affine.
        dtype: the float format's name.
        pre_max: optional, per level ``1 .. D`` (None for linear levels): ``(units_l, B)`` upper bounds of the exact
            pre-activation on each region. A ReLU unit with ``pre_max + e <= 0`` has float output exactly 0 there
            (the float pre-activation is ``<= 0``): its error is 0 and it does not count in the next level's fan-in.
        plan: the result of ``level_plan(net, cone_levels(net))`` (:mod:`theory.spec._rounding_levels`), to reuse
            across calls (computed when None).
    Returns:
        ``(e, peak)``, each ``(B,)``: the bound on ``|float output - exact output|`` on each region, and the
        largest magnitude a float value may reach there (the model needs ``peak`` below the format's maximum).
    """
    levels = cone_levels(net)
    plan = plan or level_plan(net, levels)
    if len(magnitudes) != len(levels) or any(np.shape(m)[0] != lv[0].size for m, lv in zip(magnitudes, levels)):
        raise bad("magnitudes", [np.shape(m) for m in magnitudes], "one (units, regions) array per cone level")
    a = np.asarray(magnitudes[0], dtype=np.float64)
    e = np.zeros_like(a)
    live = None
    peak = a.max(axis=0) if a.shape[0] else np.zeros(a.shape[1])
    for i, lv in enumerate(plan):
        _, e, _, pk = _step(lv, a, e, dtype, live)
        if lv.m:
            peak = np.maximum(peak, pk.max(axis=0))
        a = np.asarray(magnitudes[i + 1], dtype=np.float64)
        live = None
        if pre_max is not None and lv.relu and pre_max[i] is not None:
            dead = pre_max[i] + e <= 0
            e = np.where(dead, 0.0, e)
            live = ~dead
    return e[0] * _SAFETY, peak * _SAFETY


def point_bound(net: Network, point: Sequence[Any], dtype: str) -> tuple[float, float]:
    """:func:`region_bounds` at one point: exact magnitudes and pre-activations there (ReLU units the point
    leaves below minus their error bound are exact float zeros). ``point``: values of the cone's input units.
    Returns ``(e, peak)``."""
    levels = cone_levels(net)
    vals = np.empty(len(point), dtype=object)
    vals[:] = [Fraction(v) for v in point]
    mags, pres = [abs_floats(vals)[:, None]], []
    for i, layer in enumerate(net.layers):
        units, level_edges = levels[i + 1]
        assert level_edges is not None  # every level above the input carries its edges
        which, src, nz = level_edges
        acc = layer.bias_of(units)
        np.add.at(acc, which, layer.weight.values[nz] * vals[src])
        up_ = np.array([float(v) for v in acc]) if acc.size else np.zeros(0)
        pres.append((up_ + np.abs(up_) * 2.0**-50)[:, None] if layer.relu else None)  # rounded up
        vals = np.where(acc > 0, acc, _ZERO) if layer.relu else acc
        mags.append(abs_floats(vals)[:, None])
    e, peak = region_bounds(net, mags, dtype, pres)
    return float(e[0]), float(peak[0])


def rounding_bound(net: Network, magnitudes: Any, dtype: str, *, point: Sequence[Any] | None = None) -> RoundingBound:
    """The bound of the module docstring, propagated unit by unit through the output's cone.

    Args:
        net: the spec.
        magnitudes: bounds ``a_i >= |x_i|`` on the input units the output reads (the cone's level 0 of
            :func:`cone_levels`, in sorted unit order): a box's ``max(|lo|, |hi|)`` for an a-priori bound,
            ``|x|`` at a point. A scalar applies to all of them.
        dtype: the float format's name: ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.
        point: optional exact input values (same units as ``magnitudes``): then ``a`` at every level is the
            exact ``|h|`` of the unit at this point (running error analysis: much tighter than propagating
            ``sum |w| a + |b|``, which grows like ``||W||^depth``).
    Returns:
        :class:`RoundingBound` (``dtype`` the name).
    Raises:
        TheoryError: non-finite or negative magnitudes, wrong length, unknown format name.
    """
    _format(dtype)  # a clear error for an unknown name
    levels = cone_levels(net)
    n0 = levels[0][0].size
    a = (
        np.broadcast_to(np.asarray(magnitudes, dtype=np.float64), (n0,)).copy()
        if np.ndim(magnitudes) == 0
        else np.asarray(magnitudes, dtype=np.float64)
    )
    if a.shape != (n0,) or not np.all(np.isfinite(a)) or np.any(a < 0):
        raise bad(
            "magnitudes", f"array of shape {a.shape}", f"{n0} finite nonnegative bounds (one per live input unit)"
        )
    e = np.zeros(n0)
    exact_layers, layer_new = [], []
    peak, w_min, w_max = float(a.max()) if n0 else 0.0, math.inf, 0.0
    at = None if point is None else _exact_levels(net, levels, point)
    for i, lv in enumerate(level_plan(net, levels)):
        if lv.nonzero.size:
            w_min, w_max = min(w_min, float(lv.nonzero.min())), max(w_max, float(lv.nonzero.max()))
        sum_a, e, new, pk = _step(lv, a, e, dtype)
        if lv.m:
            peak = max(peak, float(pk.max()))
        a = sum_a + lv.b if at is None else abs_floats(at[i + 1])
        if bool(lv.exact.all()):
            exact_layers.append(i)
        layer_new.append(float(new.max()) if lv.m else 0.0)
    return RoundingBound(
        e * _SAFETY, a * _SAFETY, tuple(exact_layers), tuple(layer_new), dtype, peak * _SAFETY, (w_min, w_max)
    )
