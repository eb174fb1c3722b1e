"""Floating point error of a network's float evaluation: the a-priori bound for a torch dtype, and measurements
against exact arithmetic.

The bound (model, formula and sources) is implemented once, torch-free, in :func:`theory.spec.rounding_bound`
(keyed by the format's name, so that :func:`theory.certify_sup_error` can use it for its float semantics);
:func:`rounding_bound`, :func:`unit_roundoff` and :func:`gamma` here resolve a torch dtype (or its name) to
that name and call it. Summary: per unit ``|y^ - y| <= (1 + u) sum_i |w_i| e_i + gamma_{m+2} (sum_i |w_i|
(a_i + e_i) + |b|) + (m + 2) eta`` (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., Lemma
3.1, 3.3 and section 3.1), 0 for routing units, propagated through the output's cone.
"""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
import torch

import theory
from theory import spec as core

from .._errors import theory_errors
from ..convert import resolve_dtype
from ._paths import cone


def _name(dtype: Any) -> str:
    """``'float32'`` for torch.float32 or 'float32' (NumericsError for anything else)."""
    return str(resolve_dtype(dtype)).replace("torch.", "")


def unit_roundoff(dtype: Any) -> float:
    """``u = 2^-p`` of ``dtype`` (float32: ``2^-24``, float64: ``2^-53``)."""
    return core.unit_roundoff(_name(dtype))


def gamma(n: Any, dtype: Any) -> np.ndarray:
    """``gamma_n = n u / (1 - n u)`` elementwise (``inf`` when ``n u >= 1``). Source: Higham (2002), (3.8)."""
    return core.gamma(n, _name(dtype))


def rounding_bound(
    net: theory.Network, magnitudes: Any, dtype: Any, *, point: Sequence[Any] | None = None
) -> core.RoundingBound:
    """The bound of :func:`theory.spec.rounding_bound` (model in :mod:`theory.spec._rounding`), propagated unit
    by unit through the output's cone.

    Args:
        net: the spec.
        magnitudes: bounds ``a_i >= |x_i|`` on the input units the output reads (the cone's level 0, in
            sorted unit order): a box's ``max(|lo|, |hi|)`` for an a-priori bound, ``|x|`` at a point.
            A scalar applies to all of them.
        dtype: the float dtype of the evaluation (or its name).
        point: optional exact input values (same units as ``magnitudes``): then ``a`` at every level is the
            exact ``|h|`` of the unit at this point (running error analysis: much tighter than propagating
            ``sum |w| a + |b|``, which grows like ``||W||^depth``).
    Returns:
        :class:`theory.spec.RoundingBound` with ``dtype`` the torch dtype.
    Raises:
        NumericsError: non-finite or negative magnitudes, wrong length, unknown dtype.
    """
    dt = resolve_dtype(dtype)
    with theory_errors():
        got = core.rounding_bound(net, magnitudes, _name(dt), point=point)
    return replace(got, dtype=dt)


def float_deviation(
    net: theory.Network, points: Sequence[np.ndarray], outputs: dict[str, torch.Tensor]
) -> dict[str, Any]:
    """Measured ``|float - exact|`` at full input points against :func:`rounding_bound` at each point.

    Args:
        net: the spec.
        points: full inputs, each a float64 numpy array of shape ``(d,)`` or ``(c_in, d)`` whose entries are
            the exact values the float evaluations saw (e.g. float32 values widened exactly).
        outputs: ``{label: tensor (len(points), n_outputs)}`` of float outputs, label ``"<path>/<dtype>"``
            such as ``"structured/float32"``.
    Returns:
        ``{label: {"max_deviation", "bound", "ratio", "respected"}}``; deviations exact (Fractions) before
        the final conversion to float, bounds from the magnitudes ``|x|`` at each point.
    """
    live = cone(net)[0][0]
    exact = [theory.evaluate_exact(net, p) for p in points]
    report: dict[str, Any] = {}
    for label, out in outputs.items():
        dtype = out.dtype
        worst, bound_at, ok = 0.0, 0.0, True
        vals = out.detach().cpu().double().numpy()
        for p, ex, row in zip(points, exact, vals):
            flat = p.reshape(-1) if p.ndim == 1 else p.T.reshape(-1)
            rb = rounding_bound(net, np.abs(flat[live]), dtype, point=[Fraction(float(v)) for v in flat[live]])
            for j, q in enumerate(ex):
                dev = abs(Fraction(float(row[j])) - q) if math.isfinite(row[j]) else math.inf
                devf = float(dev)
                ok &= dev <= Fraction(float(rb.per_output[j])) if math.isfinite(devf) else False
                if devf >= worst:
                    worst, bound_at = devf, float(rb.per_output[j])
        report[label] = {
            "max_deviation": worst,
            "bound": bound_at,
            "ratio": (worst / bound_at) if bound_at > 0 else (0.0 if worst == 0 else math.inf),
            "respected": bool(ok),
        }
    return report
