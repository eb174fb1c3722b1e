"""The exact side of :func:`numerics.check_at_scale`: witnesses re-evaluated exactly, and the bounds they must respect.

A witness is a point of the box; the network is evaluated there in exact rational arithmetic
(:func:`theory.evaluate_exact`) and the target enclosed rigorously (``Target.enclose``), so
``max_j max(0, a_j - net_j, net_j - b_j)`` with ``g_j in [a_j, b_j]`` is a rigorous lower bound on the sup error
(:func:`exact_witness`). :func:`judge_bounds` compares it with the upper bounds that claim more: a certificate's
(given, or made by :func:`theory.certify_sup_error`) and the a-priori bound in ``net.meta`` (only when it speaks
about this run, :func:`applicable_a_priori`), re-checks a certificate's own lower bound at its witness, and
compares the float network's error with each bound plus the a-priori rounding bound. A violation sets
``unsound`` and warns :class:`UnsoundCertificateWarning`; it never raises.
"""

from __future__ import annotations

import warnings
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np
import sympy as sp
import torch

import theory
from theory.certify import BUDGET_KEYS

from .._errors import NumericsError
from ._engine import Engine
from ._report import UnsoundCertificateWarning
from ._target import Target, exact_constant, make_target

TARGET_SLACK = 1e-12  # absolute slack for the float64 evaluation of the target (torch's float64 functions: a few ulps)
_WITNESSES = ("searched, rounded to dtype", "best sample", "searched, float64")
"""Where each row of the witnesses :func:`exact_witness` receives comes from, in order."""


class Witness(NamedTuple):
    """The best witness, re-evaluated exactly: ``lower`` (rigorous lower bound), its ``row`` among the
    witnesses, ``argmax`` (coordinate name -> float), ``points`` (every witness as a full input) and ``fill`` (the
    value of the inputs outside the target's units)."""

    lower: Fraction
    row: int  # not ``index``, which would shadow tuple.index
    argmax: dict[str, float]
    points: list[np.ndarray]
    fill: float

    @property
    def source(self) -> str:
        """Where the best witness comes from (``ScaleReport.search["witness"]``)."""
        return _WITNESSES[self.row]


class Bounds(NamedTuple):
    """The upper bounds of a run: ``upper`` (a proved certificate's), ``a_priori`` (the meta's, when applicable),
    ``certificate`` (the certificate's summary, or None) and ``unsound`` (some bound is convicted)."""

    upper: Fraction | None
    a_priori: Fraction | None
    certificate: dict[str, Any] | None
    unsound: bool


def exact_error(net: theory.Network, tg: Target, point: np.ndarray, values: list[Fraction]) -> Fraction:
    """Rigorous lower bound of ``max_j |net_j - g_j|`` at a point: exact network, target enclosed in [a, b]."""
    out = theory.evaluate_exact(net, point)
    return max(max(Fraction(0), a - q, q - b) for q, (a, b) in zip(out, tg.enclose(values)))


def full_point(net: theory.Network, units: np.ndarray, values: np.ndarray, fill: float) -> np.ndarray:
    """The full input ``(d,)`` (or ``(c_in, d)``) holding ``values`` at ``units`` and ``fill`` elsewhere."""
    flat = np.full(net.d * net.c_in, fill, dtype=np.float64)
    flat[units] = values
    return flat if net.c_in == 1 else flat.reshape(net.d, net.c_in).T.copy()


def exact_witness(net: theory.Network, tg: Target, eng: Engine, witnesses: torch.Tensor) -> Witness:
    """The witness (a row of ``witnesses (3, len(tg.units))``, float64) with the largest exact error."""
    fill = float(eng.dlo[0])
    lower, arg_i, pts = Fraction(-1), 0, []
    for i, w in enumerate(witnesses.cpu().numpy()):
        pts.append(full_point(net, np.asarray(eng.units), w, fill))  # Engine made units an int64 array
        e = exact_error(net, tg, pts[-1], [Fraction(float(v)) for v in w])
        if e > lower:
            lower, arg_i = e, i
    argmax = {n: float(v) for n, v in zip(tg.names, witnesses[arg_i].tolist())}
    return Witness(lower, arg_i, argmax, pts, fill)


def certificate_witness(net: theory.Network, tg: Target, cert: Any, fill: float) -> dict[str, Any] | None:
    """Re-check a certificate's lower bound at its witness (exactly); None when it has none."""
    if cert is None or cert.witness is None or cert.lower is None:
        return None
    try:
        values = [cert.witness[n] for n in tg.names]
    except KeyError as e:
        return {"checked": False, "why": f"witness lacks coordinate {e}"}
    if all(Fraction(float(v)) == v for v in values):  # dyadic: a float64 point holds it exactly, at any d
        point = full_point(net, np.asarray(tg.units), np.array([float(v) for v in values]), fill)
    elif net.d * net.c_in <= 1 << 16:
        point = np.full(net.d * net.c_in, Fraction(fill), dtype=object)
        point[np.asarray(tg.units)] = values
        point = point if net.c_in == 1 else point.reshape(net.d, net.c_in).T
    else:
        return {"checked": False, "why": "non-dyadic witness at d > 2^16 (exact conversion of the whole input skipped)"}
    err = exact_error(net, tg, point, values)
    return {
        "checked": True,
        "error_at_witness": str(err),
        "certified_lower": str(cert.lower),
        "holds": err >= cert.lower,
    }


def applicable_a_priori(net: theory.Network, tg: Target) -> Fraction | None:
    """The meta's a-priori bound when it speaks about this run: a hash covers the meta (``net.meta_covered``), the
    targets are the meta's, and the box lies inside the meta's box; None otherwise (a bound on another function or
    on a smaller box says nothing here, so comparing with it would report a false violation)."""
    if not net.meta_covered or net.meta.get("a_priori_bound") is None:
        return None
    try:
        own = make_target(net)
    except NumericsError:
        return None
    if own.exprs != tg.exprs or own.units != tg.units:
        return None
    if not all(mlo <= lo and hi <= mhi for (lo, hi), (mlo, mhi) in zip(tg.box, own.box)):
        return None
    return _a_priori(net.meta.get("a_priori_bound"))


def _a_priori(value: Any) -> Fraction | None:
    """The meta's a-priori bound as an exact rational, rounded up when it is irrational (e.g. has sqrt)."""
    if value is None:
        return None
    try:
        v = exact_constant(value if isinstance(value, (str, sp.Basic)) else str(value), "a_priori_bound")
    except NumericsError:
        return None
    if v.is_Rational:
        return Fraction(int(v.p), int(v.q))
    if not v.is_number or not v.is_finite:
        return None
    q = Fraction(str(sp.N(v, 40)))
    return q + abs(q) * Fraction(1, 10**30)


def judge_bounds(
    net: theory.Network, tg: Target, cert: Any, witness: Witness, float_max: float, rounding: float, stacklevel: int
) -> Bounds:
    """Compare the witness's exact error, and the float network's error ``float_max``, with every upper bound.

    ``cert`` is the run's :class:`theory.Certificate` (or None); ``rounding`` the a-priori rounding bound of the
    sampled dtype on the box; ``stacklevel`` is that of the warnings (pointing at the caller of
    :func:`numerics.check_at_scale`).
    """
    lower, argmax = witness.lower, witness.argmax
    upper = cert.upper if cert is not None and cert.status == "proved" else None
    a_priori = applicable_a_priori(net, tg)
    unsound = False
    for name, bound in (("certified upper bound", upper), ("a-priori bound", a_priori)):
        if bound is not None and lower > bound:
            unsound = True
            warnings.warn(
                UnsoundCertificateWarning(
                    f"UNSOUND {name}: the error at {argmax} is {float(lower):.17g} (exact network, target enclosed "
                    f"rigorously) > {name} {float(bound):.17g}"
                ),
                stacklevel=stacklevel,
            )
    cert_info = (
        None
        if cert is None
        else {
            "status": cert.status,
            "method": cert.method,
            "upper": None if cert.upper is None else str(cert.upper),
            "lower": None if cert.lower is None else str(cert.lower),
            "seconds": cert.seconds,
            "lower_recheck": certificate_witness(net, tg, cert, witness.fill),
            **{k: cert.details[k] for k in BUDGET_KEYS if k in cert.details},
        }
    )
    if cert_info and isinstance(cert_info["lower_recheck"], dict) and cert_info["lower_recheck"].get("holds") is False:
        unsound = True
        warnings.warn(
            UnsoundCertificateWarning(
                f"UNSOUND certified lower bound {cert.lower}: the exact error at the "
                f"certificate's witness is {cert_info['lower_recheck']['error_at_witness']}"
            ),
            stacklevel=stacklevel,
        )
    # The float network's error is at most the exact sup plus its rounding: a float error above
    # (upper bound + a-priori rounding bound on the box + float64 target slack) convicts one of the two bounds.
    for name, bound in (("certified upper bound", upper), ("a-priori bound", a_priori)):
        if bound is not None and float_max > float(bound) * (1 + 1e-12) + rounding + TARGET_SLACK:
            unsound = True
            warnings.warn(
                UnsoundCertificateWarning(
                    f"UNSOUND {name} or rounding bound: the float error {float_max:.17g} exceeds {name} {float(bound):.17g} "
                    f"+ rounding bound {rounding:.3g}"
                ),
                stacklevel=stacklevel,
            )
    return Bounds(upper, a_priori, cert_info, unsound)
