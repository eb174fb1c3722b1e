"""One-line checks for the common kinds of claim: a network routes exactly, a head's sup error is at most eps, a
quantity grows like d^a, two networks agree on a box.

Each returns a :class:`checks.Result` whose status comes from a prover or a measurement that really ran: ``pass``
only when the property was proved (or measured inside its declared window), ``fail`` only with a witness that was
re-checked in exact arithmetic (or a measured slope outside the window), ``unknown`` when a prover timed out, a
premise did not hold, or a solver's point did not survive the exact re-check.
"""

from __future__ import annotations

import math
import time
from fractions import Fraction
from typing import Any, Callable, Sequence

import z3

import theory
from theory.certify import BUDGET_KEYS
from theory.cli import PROOF_RLIMIT, SUP_ERROR_MAX_WORK

from .._errors import bad
from ..claims import Context, Result, loglog_slope
from ._certificates import keep_certificate, rejected
from ._plots import line_plot
from ._replay import call_key, note_network, reused

_VERDICT = {"proved": "pass", "refuted": "fail", "unknown": "unknown"}
"""Certificate status -> Result status."""


def _network(net: Any, name: str = "net") -> theory.Network:
    if not isinstance(net, theory.Network):
        raise bad(
            name,
            type(net).__name__,
            "a theory.Network (build one, load a spec file, or import a torch module with numerics.from_torch)",
        )
    note_network(net)
    return net


def _from_certificate(
    cert: theory.Certificate,
    net: theory.Network,
    observed: dict,
    expected: Any,
    tolerance: str | None,
    ctx: Context | None = None,
    key: str | None = None,
    report: theory.CheckReport | None = None,
) -> Result:
    """The Result of a certificate, re-checked by the independent checker (a rejection fails the claim; ``report``:
    its report already) and, with ``ctx``, written beside the report with its re-check command and the call's
    ``key`` (:func:`keep_certificate`)."""
    evidence: dict[str, Any] = {"method": cert.method, "claim": cert.claim, "spec_hash": cert.spec_hash}
    if cert.witness:
        evidence["witness"] = dict(cert.witness)
    if cert.status == "unknown":
        evidence["reason"] = cert.details.get("reason", "")
    evidence.update({k: cert.details[k] for k in BUDGET_KEYS if k in cert.details})
    evidence["certificates"] = [keep_certificate(cert, net, ctx, key=key, report=report)]
    status = "fail" if rejected(evidence["certificates"]) else _VERDICT[cert.status]
    return Result(
        status,
        observed={"status": cert.status, **observed},
        expected=expected,
        tolerance=tolerance,
        evidence=evidence,
    )


def expect_routing(
    net: theory.Network,
    support: Sequence[int] | None = None,
    *,
    timeout_s: float = 60,
    rlimit: int | None = PROOF_RLIMIT,
    ctx: Context | None = None,
) -> Result:
    """``output j == x[support[j]]`` for every real input ``x``, proved about exactly these weights.

    Tree-shaped routing networks (shared kernel = stride convolutions) are proved by induction over levels
    (:func:`theory.prove_routing`, any ``d``); when that is undecided (not a tree, or a failed level lemma whose
    counterexample does not lift to the network) one monolithic z3 query decides (:func:`theory.prove_equivalent_
    monolithic`, small ``d``).

    Args:
        net: the network; support: the routed input of each output (default: ``net.meta['support']``).
        timeout_s: the prover's time budget, a safety net; a timeout is ``unknown``.
        rlimit: z3's deterministic resource limit per query (default :data:`PROOF_RLIMIT`; None: none); a query
            that reaches it is ``unknown``, at the same point on every machine.
        ctx: the claim's context: the certificate and the spec are then written beside the report, with the
            command that re-checks them (the evidence's ``certificates``).
    """
    net = _network(net)
    key = call_key("expect_routing", net, support=support, rlimit=rlimit)
    hit = reused(key, net)
    cert, report = hit if hit else (theory.prove_routing(net, support, timeout_s=timeout_s, rlimit=rlimit), None)
    if support is None and net.meta_covered and "support" in net.meta:
        support = net.meta["support"]
    if cert.status == "unknown" and support is not None:  # no tree, or a failed lemma that did not lift
        cert = theory.prove_equivalent_monolithic(net, list(support), timeout_s=timeout_s, rlimit=rlimit)
    expected = {"routes": "output j == x[support[j]] for all x"}
    return _from_certificate(cert, net, {}, expected, "exact", ctx, key, report)


def expect_sup_error(
    net: theory.Network,
    target: Any,
    box: Any,
    eps: Any,
    *,
    time_limit_s: float = 30,
    max_work: int | None = SUP_ERROR_MAX_WORK,
    ctx: Context | None = None,
) -> Result:
    """``sup_{x in box} |net(x) - target(x)| <= eps``, certified by interval branch and bound
    (:func:`theory.certify_sup_error`): ``pass`` when the certified upper bound is ``<= eps``, ``fail`` when an
    exactly evaluated point has error ``> eps``, ``unknown`` when the budget ran out in between.

    Args:
        net: a single-output network; target: a formula in the input names (parsed by the whitelist grammar);
        box: ``(lo, hi)`` for every variable or one pair per variable; eps: the claimed bound (exact rational or
        decimal string); time_limit_s: the certifier's time budget, a safety net; max_work: its work budget
        (boxes refined, default :data:`SUP_ERROR_MAX_WORK`; None: none), which stops it at the same point on every
        machine. The evidence records ``work``, ``max_work`` and ``stopped_by`` (``"work"``, ``"time"`` or None).
        ctx: the claim's context: the certificate and the spec are then written beside the report, with the
            command that re-checks them.
    The certificate is re-checked by the independent checker (:func:`theory.check_certificate`); a rejected
    certificate fails the claim (evidence ``certificates``: the checker's verdict, files and command).
    """
    net = _network(net)
    key = call_key("expect_sup_error", net, target=target, box=box, eps=eps, max_work=max_work)
    hit = reused(key, net)
    cert, report = (
        hit
        if hit
        else (theory.certify_sup_error(net, target, box, eps=eps, time_limit_s=time_limit_s, max_work=max_work), None)
    )
    observed = {"upper": cert.upper, "lower": cert.lower}
    return _from_certificate(cert, net, observed, {"sup_error_at_most": cert.eps}, "exact", ctx, key, report)


def expect_rate(
    measure: Callable[[int], float],
    ds: Sequence[int],
    window: tuple[float, float],
    *,
    ctx: Context | None = None,
    label: str = "measure",
) -> Result:
    """A quantity grows like ``d^a`` with ``a`` in ``window``: the least-squares log-log slope of
    ``measure(d)`` over ``ds`` (docs/soundness.md: rates are checked by slopes over a declared window, not one point).

    Args:
        measure: ``d -> positive number`` (a parameter count, a measured error, a sample complexity).
        ds: at least two distinct sizes; window: ``(lo, hi)``, the accepted exponents (inclusive).
        ctx: when given, a log-log plot is written as an artifact and listed in the evidence.
        label: the quantity's name in the plot.
    """
    if not callable(measure):
        raise bad("measure", measure, "a callable d -> positive number")
    if (
        not isinstance(window, (tuple, list))
        or len(window) != 2
        or not all(isinstance(w, (int, float)) and math.isfinite(w) for w in window)
        or window[0] > window[1]
    ):
        raise bad("window", window, "(lo, hi) with finite lo <= hi")
    sizes = [int(d) for d in ds]
    values = [float(measure(d)) for d in sizes]
    slope = loglog_slope(sizes, values)
    lo, hi = float(window[0]), float(window[1])
    evidence: dict[str, Any] = {"d": sizes, "values": values}
    if ctx is not None:
        plot = ctx.artifact("rate.png")
        line_plot(
            plot,
            title=f"{label}: log-log slope {slope:.3f} (window [{lo:g}, {hi:g}])",
            xlabel="d",
            ylabel=label,
            points=[(label, sizes, values)],
        )
        evidence["plots"] = [plot.name]
    return Result(
        "pass" if lo <= slope <= hi else "fail",
        observed={"slope": slope},
        expected={"slope_in": [lo, hi]},
        evidence=evidence,
    )


def expect_equal(
    net_a: theory.Network, net_b: theory.Network, box: tuple[Any, Any] | None = None, *, timeout_s: float = 60
) -> Result:
    """Two networks compute the same function on ``box`` (every input unit in ``[lo, hi]``; ``None``: all of
    R^n), proved by one z3 query over both exact encodings; a solver point is re-checked with
    :func:`theory.evaluate_exact` before it counts as a counterexample.

    Raises:
        ChecksError: networks with different input or output sizes, or a bad box.
    """
    a, b = _network(net_a, "net_a"), _network(net_b, "net_b")
    if (a.d, a.c_in) != (b.d, b.c_in) or a.n_outputs != b.n_outputs:
        raise bad(
            "net_b",
            f"d={b.d}, c_in={b.c_in}, outputs={b.n_outputs}",
            f"the same sizes as net_a: d={a.d}, c_in={a.c_in}, outputs={a.n_outputs}",
        )
    lo = hi = None
    if box is not None:
        try:
            lo, hi = (theory.as_rational(v, "box") for v in box)
        except (TypeError, ValueError):  # TheoryError is a ValueError
            raise bad("box", box, "None or (lo, hi) exact numbers with lo <= hi") from None
        if lo > hi:
            raise bad("box", box, "(lo, hi) with lo <= hi")
    start = time.perf_counter()
    xs, outs_a = theory.encode(a)  # nested If terms: the flat form's h{l}_{u} names would clash across nets
    _, outs_b = theory.encode(b, xs)
    solver = z3.Solver()
    solver.set("timeout", max(1, int(timeout_s * 1000)))
    solver.add(z3.Or([oa != ob for oa, ob in zip(outs_a, outs_b)]))
    if lo is not None:
        solver.add(*[z3.And(v >= z3.RealVal(str(lo)), v <= z3.RealVal(str(hi))) for v in dict(xs).values()])
    answer = solver.check()
    observed: dict[str, Any] = {"z3": str(answer), "seconds": round(time.perf_counter() - start, 3)}
    expected = {"equal_on": "R^n" if lo is None else [lo, hi]}
    if answer == z3.unsat:
        return Result("pass", observed=observed, expected=expected, tolerance="exact")
    if answer == z3.sat:
        model = solver.model()
        point = [Fraction(0) if lo is None else lo] * (a.d * a.c_in)  # units no output reads
        for unit, var in dict(xs).items():
            val = model.eval(var, model_completion=True)
            point[unit] = Fraction(val.numerator_as_long(), val.denominator_as_long())
        x = point if a.c_in == 1 else [[point[p * a.c_in + c] for p in range(a.d)] for c in range(a.c_in)]
        ya, yb = theory.evaluate_exact(a, x), theory.evaluate_exact(b, x)
        if ya != yb:
            return Result(
                "fail",
                observed=observed,
                expected=expected,
                tolerance="exact",
                evidence={"witness": point, "net_a": list(ya), "net_b": list(yb)},
            )
        observed["note"] = "z3's point did not differ in exact arithmetic"
    return Result("unknown", observed=observed, expected=expected, tolerance="exact")
