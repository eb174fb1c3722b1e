"""The certificate of :func:`theory.certify_sup_error`, assembled from a finished :class:`SupSearch`.

:func:`certificate_of` turns the interface of :mod:`theory.certify._sup_search` (upper and lower bound, witness,
counters) into a :class:`theory.prove.Certificate`: the claim's wording, the status decided against ``eps``, the
details (with the a-priori bound of the construction record, :func:`_a_priori`) and the assumptions.
:func:`no_pieces_certificate` is the ``"unknown"`` certificate of ``method="pieces"`` when the piecewise
certificate does not apply.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from .._errors import TheoryError
from ..formula import parse_formula
from ..prove import Certificate
from ..prove._certificate import decide_status
from ..spec import Network
from ._cover import proof_object
from ._sup_search import SupSearch, witness_fractions


def _a_priori(meta) -> float | None:
    v = meta.get("a_priori_bound") if hasattr(meta, "get") else None
    if v is None:
        return None
    try:
        value = v if isinstance(v, sp.Basic) else parse_formula(str(v), variables="none", name="a_priori_bound")
        return float(value)
    except (TheoryError, TypeError, ValueError, OverflowError):
        return None


def no_pieces_certificate(
    net: Network,
    expr: sp.Expr,
    names: list[str],
    boxq: tuple,
    eps_q: Fraction | None,
    why: str,
    seconds: float,
    max_work: int | None = None,
) -> Certificate:
    """The certificate of ``method="pieces"`` when the piecewise certificate does not apply: unknown, with why
    (no search ran: no work done)."""
    dom = ", ".join(f"{n} in [{a}, {b}]" for n, (a, b) in zip(names, boxq))
    bound = "" if eps_q is None else f" <= {float(eps_q):.6g}"
    return Certificate(
        claim=f"sup over {{{dom}}} of |net(x) - ({expr})|{bound}",
        status="unknown",
        method="kuhn-pieces",
        spec_hash=net.content_hash,
        assumptions={"domain": [[n, str(a), str(b)] for n, (a, b) in zip(names, boxq)], "target": str(expr)},
        eps=eps_q,
        seconds=seconds,
        details={
            "reason": f"piecewise certificate not applicable: {why}",
            "structure": {"piecewise": why},
            "work": 0,
            "max_work": max_work,
            "stopped_by": None,
        },
    )


def certificate_of(
    s: SupSearch,
    net: Network,
    expr: sp.Expr,
    names: list[str],
    boxq: tuple,
    eps_q: Fraction | None,
    meta: Any,
    cone: Any,
    why: str,
    t0: float,
    *,
    rel_gap: float,
    time_limit_s: float,
    max_patterns: int,
) -> Certificate:
    """The certificate of a finished search ``s`` (before :func:`theory.certify._semantics.apply_semantics`).

    ``upper`` is ``s.upper()`` as an exact Fraction (None when not finite), ``lower`` and the witness are the
    search's; the status is decided against ``eps_q``; ``details`` record the search's counters, the options, the
    time since ``t0`` and the a-priori bound of ``meta`` (module docstring of :mod:`theory.certify._certify`), and
    both budgets: ``work`` (units done), ``max_work``, ``stopped_by`` (``"work"``, ``"time"``, None: finished).
    Raises:
        TheoryError: a lower bound above the upper bound (self-check).
    """
    upper_f = s.upper()
    finite = np.isfinite(upper_f)
    upper = Fraction(float(upper_f)) if finite else None
    lower = s.lower
    if upper is not None and lower is not None and lower > upper:
        raise TheoryError(f"internal: lower bound {float(lower)} exceeds the certified upper bound {upper_f}")
    status = decide_status(upper, lower, eps_q)
    witness = witness_fractions(s.witness, names)
    dom = ", ".join(f"{n} in [{a}, {b}]" for n, (a, b) in zip(names, boxq))
    tgt = str(expr)
    if eps_q is None:
        claim = (
            f"sup over {{{dom}}} of |net(x) - ({tgt})| <= {upper_f:.6g}"
            if finite
            else f"sup over {{{dom}}} of |net(x) - ({tgt})|: no finite upper bound found"
        )
    else:
        claim = f"sup over {{{dom}}} of |net(x) - ({tgt})| <= {float(eps_q):.6g}"
        if status == "refuted":
            claim = f"sup over {{{dom}}} of |net(x) - ({tgt})| <= {float(eps_q):.6g} (refuted: see witness)"
    apriori = _a_priori(meta)
    elapsed = time.perf_counter() - t0
    ratio = (upper_f / float(lower)) if (lower and finite) else None
    details: dict[str, Any] = {
        "boxes": s.boxes,
        "max_unstable_units": s.max_unstable,
        "open_boxes": s.open_boxes,
        "exact_evaluations": s.exact_evals,
        "seconds": elapsed,
        "ratio_upper_lower": ratio,
        "rel_gap": rel_gap,
        "gap_reached": bool(ratio is not None and ratio <= 1 + rel_gap),
        "time_limit_s": time_limit_s,
        # with a work budget, read from how the search stopped: the same on every machine
        "timed_out": s.timed_out() if s.max_work is None else s.stopped_by == "time",
        "work": s.work,
        "max_work": s.max_work,
        "stopped_by": s.stopped_by,
        "min_width_reached": s.min_width_hit,
        "cone_units": cone.n_units,
        "variables": names,
        "a_priori_bound": apriori,
        "upper_le_a_priori": None if (apriori is None or not finite) else bool(upper_f <= apriori),
        "max_patterns": max_patterns,
        "structure": s.structure or {"piecewise": why},
    }
    if not finite:
        details["reason"] = (
            "no finite upper bound: the target's interval enclosure stayed unbounded on part of the "
            "box (the target is unbounded there, e.g. log near 0 or 1/x, or undefined, e.g. log or a "
            "fractional power below 0); the lower bound and any witness are still rigorous"
        )
    assumptions = {
        "domain": [[n, str(a), str(b)] for n, (a, b) in zip(names, boxq)],
        "target": tgt,
        "semantics": "exact rational weights, real ReLU arithmetic; every float step outward-rounded; target "
        "enclosed by interval arithmetic (numpy with own sin/cos/exp/log, mpmath.iv otherwise)",
        "independent_inputs": "inputs outside the output's cone (nonzero weights) cannot change the output",
    }
    cert = Certificate(
        claim=claim,
        status=status,
        method=s.method,
        spec_hash=net.content_hash,
        assumptions=assumptions,
        upper=upper,
        lower=lower,
        eps=eps_q,
        witness=witness,
        seconds=elapsed,
        details=details,
        proof=None if s.cover is None or s.frame is None else proof_object(s.cover, names, s.frame, tgt),
    )
    return cert
