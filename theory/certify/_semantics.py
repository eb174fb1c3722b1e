"""Which evaluation a sup-norm certificate covers: the exact network, or its float32 / float64 module.

``semantics="exact"`` (default): the claim is about the exact rational network ``net``. ``"float32"`` or
``"float64"``: the claim is about the float module a user runs, ``numerics.to_module(net, dtype=...)``:
weights and biases correctly rounded to the format, IEEE arithmetic with round to nearest in any summation
order (fused multiply-adds included; on CUDA with TF32 off), fed the points of the box that the format holds.

Formulas (``R`` the a-priori rounding bound of :func:`theory.spec._rounding.rounding_bound` for the box
magnitudes ``a_i = max(|lo_i|, |hi_i|)`` of the cone's input units, so ``|float_net(x) - net(x)| <= R`` on the
box):

* ``upper_float = upper_exact + R`` (exact rational sum), since
  ``|float_net - g| <= |net - g| + |float_net - net|``;
* ``lower_float = max(0, |net(w') - g(w')| - R(w'))`` at the witness ``w'``: the exact search's witness
  rounded to the format (to nearest, then one step inwards if that left the box), ``|net - g|`` there exact
  for the network and from a 256-bit interval enclosure of ``g``, and ``R(w')`` the running-error bound at that
  point (same function, ``point=w'``); since ``|float_net(w') - g(w')| >= |net(w') - g(w')| - R(w')``. For
  float64 the witness is already a float64 point, so ``w' = w``.

The model of the bound needs no overflow and relatively rounded weights: when the bound's ``peak`` exceeds the
format's largest finite number or a nonzero weight lies outside its normal range, ``R = inf`` and the
certificate has no finite upper bound (``details["reason"]``).
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from .._errors import TheoryError, bad
from ..prove import Certificate
from ..prove._certificate import decide_status
from ..spec import Network, evaluate_exact, input_name, input_unit
from ..spec._network import thaw
from ..spec._rounding import cone_levels, largest_finite, point_bound, rounding_bound, smallest_normal
from ._enclosure import Target

SEMANTICS = ("exact", "float32", "float64")
_NP: dict[str, type[np.floating[Any]]] = {"float32": np.float32, "float64": np.float64}
_REFUTED = " (refuted: see witness)"


def check_semantics(semantics: Any) -> str:
    """``semantics`` itself when it is one of :data:`SEMANTICS`, else a TheoryError naming it."""
    if not isinstance(semantics, str) or semantics not in SEMANTICS:
        raise bad("semantics", semantics, "one of 'exact', 'float32', 'float64'")
    return semantics


def _valid(rb, fmt: str) -> bool:
    """The model's range: no overflow and every nonzero weight or bias normal (relative rounding)."""
    w_min, w_max = rb.weight_range
    return rb.peak <= largest_finite(fmt) and (
        w_max == 0 or (w_min >= smallest_normal(fmt) and w_max <= largest_finite(fmt))
    )


def _round_in(q: Fraction, lo: Fraction, hi: Fraction, fmt: str) -> Fraction | None:
    """``q`` rounded to the nearest value of ``fmt``, moved one step inwards if that left ``[lo, hi]``."""
    t = _NP[fmt]
    v = t(float(q))
    if Fraction(float(v)) < lo:
        v = np.nextafter(v, t(np.inf))
    elif Fraction(float(v)) > hi:
        v = np.nextafter(v, t(-np.inf))
    r = Fraction(float(v)) if np.isfinite(v) else None
    return r if r is not None and lo <= r <= hi else None


def _lower_at(net: Network, target: Target, names: list[str], point: dict[str, Fraction], fmt: str) -> Fraction | None:
    """``max(0, |net - g| - R(point))`` at a point of the format (names -> values), or None (no enclosure of g).

    ``net`` exactly (:func:`theory.evaluate_exact`, every input outside the point 0: it cannot change the
    output), ``g`` from its 256-bit interval enclosure (``Target.point_hp``), ``R(point)`` the running-error
    bound at the point.
    """
    g = target.point_hp([point[n] for n in names])
    if g is None:
        return None
    x = np.zeros(net.c_in * net.d, dtype=np.float64)
    for n in names:
        x[input_unit(net, n)] = float(point[n])  # a value of the format: float64 holds it exactly
    val = evaluate_exact(net, x.reshape(net.d, net.c_in).T if net.c_in > 1 else x)[0]
    err = max(val - g[1], g[0] - val, Fraction(0))
    live = [point[input_name(net, int(u))] for u in cone_levels(net)[0][0]]
    rb = rounding_bound(net, [abs(float(v)) for v in live], fmt, point=live)
    if not _valid(rb, fmt):
        return None
    at, peak = point_bound(net, live, fmt)  # exact zeros at the point: tighter, equally valid
    r = min(rb.total, at) if peak <= largest_finite(fmt) else rb.total
    return max(err - Fraction(r), Fraction(0))


def apply_semantics(cert: Certificate, semantics: str, net: Network, target: sp.Expr) -> Certificate:
    """The certificate of the exact search turned into one for ``semantics`` (module docstring).

    Args:
        cert: the exact certificate of :func:`theory.certify_sup_error` (assumptions ``domain`` and ``target``,
            claim in its format).
        semantics: ``"exact"`` (returned with ``details`` semantics, rounding bound 0 and exact upper added),
            ``"float32"`` or ``"float64"``.
        net: the network of ``cert``.
        target: the target ``g`` as a sympy expression in the network's input names (the search's), enclosed at
            the rounded witness.
    Returns:
        A :class:`Certificate` with ``upper``/``lower``/``witness``/``status``/``claim`` for the semantics and
        ``details["semantics"]``, ``details["rounding_bound"]`` (``R``, float), ``details["exact_upper"]``,
        ``details["exact_lower"]``; ``ratio_upper_lower`` and ``gap_reached`` of the float bounds.
    """
    details, assumptions = thaw(cert.details), thaw(cert.assumptions)
    exact_upper = None if cert.upper is None else float(cert.upper)
    details.update(
        semantics=semantics,
        rounding_bound=0.0,
        exact_upper=exact_upper,
        exact_lower=None if cert.lower is None else float(cert.lower),
    )
    if semantics == "exact":
        return dataclasses.replace(cert, details=details)
    box = {n: (Fraction(a), Fraction(b)) for n, a, b in assumptions["domain"]}
    mags = [
        max(abs(box[input_name(net, int(u))][0]), abs(box[input_name(net, int(u))][1])) for u in cone_levels(net)[0][0]
    ]
    rb = rounding_bound(
        net, [math.nextafter(float(m), math.inf) if Fraction(float(m)) < m else float(m) for m in mags], semantics
    )
    rounding = Fraction(rb.total) if _valid(rb, semantics) else None
    how = "a-priori (Higham's model with the box's magnitudes)"
    if cert.method == "kuhn-pieces" and rounding is not None:
        from .pieces import pieces_rounding

        names = [n for n, _, _ in assumptions["domain"]]
        structured = pieces_rounding(net, names, tuple(box[n] for n in names), semantics)
        if structured is not None and structured[1] <= largest_finite(semantics) and structured[0] < rb.total:
            rounding = Fraction(structured[0])
            how = "per cell of the certificate's grid (running-error model with the exact magnitudes of step one)"
    upper = None if cert.upper is None or rounding is None else cert.upper + rounding
    witness = lower = None
    if cert.witness is not None:
        rounded = {n: _round_in(v, *box[n], semantics) for n, v in cert.witness.items()}
        if all(v is not None for v in rounded.values()):
            point = {n: v for n, v in rounded.items() if v is not None}  # == rounded, narrowed for the checker
            names = [n for n, _, _ in assumptions["domain"]]
            lower = _lower_at(net, Target(target, names), names, point, semantics)
            witness = point if lower is not None else None
    eps = cert.eps
    status = decide_status(upper, lower, eps)
    claim = cert.claim.replace(" of |net(x) - (", f" of |net_{semantics}(x) - (", 1)
    if claim == cert.claim:
        raise TheoryError(f"internal: certificate claim {cert.claim!r} is not in the form '... of |net(x) - (g)| ...'")
    if eps is None and cert.upper is not None:
        old = f" <= {exact_upper:.6g}"
        if not claim.endswith(old):
            raise TheoryError(f"internal: certificate claim {cert.claim!r} does not end with {old!r}")
        claim = claim[: -len(old)] + (
            f" <= {float(upper):.6g}" if upper is not None else ": no finite upper bound found"
        )
    elif eps is not None:
        claim = claim.removesuffix(_REFUTED) + (_REFUTED if status == "refuted" else "")
    ratio = float(upper) / float(lower) if upper is not None and lower else None
    details.update(
        rounding_bound=float(rounding) if rounding is not None else math.inf,
        rounding_bound_from=how,
        ratio_upper_lower=ratio,
        gap_reached=bool(ratio is not None and ratio <= 1 + details.get("rel_gap", 0.0)),
    )
    if rounding is None:
        details["reason"] = (
            f"no {semantics} rounding bound: a value of the evaluation may overflow {semantics} "
            f"(bound on magnitudes {rb.peak:.3g}) or a nonzero weight is outside its normal "
            f"range {list(rb.weight_range)}"
        )
    assumptions["semantics"] = (
        f"the {semantics} module numerics.to_module(net, dtype=torch.{semantics}) (net_{semantics} in the claim): "
        f"weights and biases correctly rounded to {semantics}, IEEE {semantics} arithmetic with round to nearest "
        "in any summation order (on CUDA with TF32 off), inputs the points of the domain that "
        f"{semantics} represents; upper = exact upper + rounding bound ({how}; Higham's model, "
        "theory.spec._rounding); lower = exact |net - target| at the witness rounded to "
        f"{semantics} minus the rounding bound there; target enclosed by interval arithmetic"
    )
    return dataclasses.replace(
        cert,
        claim=claim,
        status=status,
        upper=upper,
        lower=lower,
        witness=witness,
        assumptions=assumptions,
        details=details,
    )
