"""Exact numbers in and out of z3: numerals, the ReLU term, a query within a deadline, and witnesses.

Every proof of :mod:`theory.prove` builds its z3 terms from exact rationals (:func:`z3_rational`, :func:`relu`),
runs its queries through :func:`solve` (a wall-clock deadline, and optionally z3's deterministic resource limit
``rlimit``, :func:`check_rlimit`; the SMT-LIB 2 text of every ``unsat`` query kept, which :func:`theory.check_certificate` compares with its own), and turns a ``sat`` model back into exact rational points
(:func:`rational_candidates`, :func:`point_array`) that are re-checked with :func:`theory.evaluate_exact` before a
counterexample is reported (:func:`witness_of`, :func:`exact_value`).
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any, Mapping

import numpy as np
import z3

from .._errors import bad
from ..spec import Network, input_name
from ..spec._rational import ZERO


def z3_rational(q: Fraction) -> z3.ArithRef:
    """The exact z3 real numeral of a Fraction: ``z3.RealVal("p/q")``."""
    return z3.RealVal(f"{q.numerator}/{q.denominator}") if q.denominator != 1 else z3.RealVal(q.numerator)


def relu(e: z3.ArithRef) -> z3.ArithRef:
    """``max(e, 0)`` as ``If(e > 0, e, 0)``."""
    return z3.If(e > 0, e, z3.RealVal(0))


def as_fraction(v: z3.ExprRef) -> Fraction | None:
    """The Fraction of a z3 rational numeral (``None`` for algebraic or non-numeral values)."""
    if z3.is_rational_value(v):
        return Fraction(v.numerator_as_long(), v.denominator_as_long())
    if z3.is_int_value(v):
        return Fraction(v.as_long())
    return None


def check_timeout(timeout_s: Any) -> float:
    """Validate a positive, finite time budget in seconds."""
    if (
        isinstance(timeout_s, bool)
        or not isinstance(timeout_s, (int, float, np.integer, np.floating))
        or not np.isfinite(timeout_s)
        or timeout_s <= 0
    ):
        raise bad("timeout_s", timeout_s, "a positive finite number of seconds")
    return float(timeout_s)


RESOURCE_LIMIT = "resource limit"
"""How the reason of a query stopped by ``rlimit`` begins (:func:`solve`)."""


def check_rlimit(rlimit: Any) -> int | None:
    """Validate z3's resource limit per query: None (none) or an int in ``[1, 2**32)`` (z3 reads it as an
    unsigned 32-bit number: larger values would wrap around)."""
    if rlimit is not None and (
        isinstance(rlimit, (bool, np.bool_)) or not isinstance(rlimit, (int, np.integer)) or not 1 <= rlimit < 2**32
    ):
        raise bad("rlimit", rlimit, "None or an int in [1, 2**32) (z3's resource limit per query)")
    return None if rlimit is None else int(rlimit)


def solve(
    solver: z3.Solver, deadline: float, log: list[str] | None = None, rlimit: int | None = None
) -> tuple[str, str]:
    """Run ``solver.check()`` within the wall-clock ``deadline`` and z3's ``rlimit``; returns ``(result, reason)``.

    ``result`` is ``"unsat"``, ``"sat"`` or ``"unknown"`` (timeout, budget spent, resource limit, or z3 gave up;
    ``reason`` says which). ``rlimit`` (None: none) is z3's resource limit for this query
    (``solver.set("rlimit", n)``): a count of z3's own elementary steps, the same on every machine, so a query
    stopped by it is stopped at the same point everywhere; its reason begins with :data:`RESOURCE_LIMIT`. z3 says
    ``"max. resource limit exceeded"``, or ``"canceled"`` when the limit stops one of its tactics; a
    ``"canceled"`` before the query's timeout can have fired is the resource limit too. An ``unsat`` query is
    appended to ``log`` as SMT-LIB 2 text (``solver.to_smt2()``: the assertions in force, exact rational
    constants), so the independent checker can compare every step of a proof with the query it regenerates.
    """
    left = deadline - time.perf_counter()
    if left <= 0:
        return "unknown", "time budget spent before this query"
    timeout_ms = max(1, int(left * 1000))
    solver.set("timeout", timeout_ms)
    if rlimit is not None:
        solver.set("rlimit", rlimit)
    t = time.perf_counter()
    r = solver.check()
    if r == z3.unsat:
        if log is not None:
            log.append(solver.to_smt2())
        return "unsat", ""
    if r == z3.sat:
        return "sat", ""
    why = solver.reason_unknown()
    if rlimit is not None and (
        "resource limit" in why or (why == "canceled" and time.perf_counter() - t < timeout_ms / 1000)
    ):
        return "unknown", f"{RESOURCE_LIMIT}: z3 rlimit {rlimit} reached (z3: {why})"
    return "unknown", f"z3: {why}"


def limit_note(records: list[dict[str, Any]], rlimit: int | None) -> str:
    """``" (resource limit: z3 rlimit N)"`` when a query record's ``reason`` says the resource limit stopped it,
    else ``""`` (always ``""`` without ``rlimit``)."""
    if rlimit is None or not any(str(r.get("reason", "")).startswith(RESOURCE_LIMIT) for r in records):
        return ""
    return f" ({RESOURCE_LIMIT}: z3 rlimit {rlimit})"


def rational_candidates(value: z3.ExprRef, lo: Fraction | None = None, hi: Fraction | None = None) -> list[Fraction]:
    """Exact rational points at or near a z3 model value, nearest first, clipped to ``[lo, hi]``.

    A rational numeral gives itself. An algebraic number (nonlinear models) gives its approximations
    ``|r - value| <= 10^-p`` for ``p = 2, 4, 8, ..., 128`` (short witnesses first) and the neighbours
    ``r +- 10^-p``: when the violated set is open (strict inequalities of continuous functions) one of them
    lies inside it once ``p`` is large enough.
    """
    exact = as_fraction(value)
    if exact is not None:
        out = [exact]
    elif z3.is_algebraic_value(value):
        out = []
        for p in (2, 4, 8, 16, 32, 64, 128):
            r = as_fraction(value.approx(p))
            if r is None:
                continue
            step = Fraction(1, 10**p)
            out += [r, r + step, r - step]
    else:
        return []
    clipped = []
    for r in out:
        if lo is not None and r < lo:
            r = lo
        if hi is not None and r > hi:
            r = hi
        if r not in clipped:
            clipped.append(r)
    return clipped


def point_array(net: Network, point: Mapping[int, Fraction]) -> np.ndarray:
    """The input array (shape ``(d,)`` or ``(c_in, d)``) with ``point[unit]`` at each given unit, 0 elsewhere."""
    flat = np.empty(net.d * net.c_in, dtype=object)
    flat[:] = ZERO
    for u, v in point.items():
        flat[int(u)] = v
    return flat if net.c_in == 1 else flat.reshape(net.d, net.c_in).T


def witness_of(net: Network, point: Mapping[int, Fraction]) -> dict[str, Fraction]:
    """Witness record: the nonzero coordinates by input name (all others are 0)."""
    return {input_name(net, u): v for u, v in sorted(point.items()) if v != 0}


def exact_value(
    expr: z3.ExprRef, point: Mapping[int, Fraction], variables: Mapping[int, z3.ArithRef]
) -> Fraction | None:
    """Exact value of a z3 expression at a rational point (``None`` when z3 does not reduce it to a rational)."""
    subs = [(variables[u], z3_rational(point.get(u, ZERO))) for u in variables]
    value = z3.simplify(z3.substitute(expr, *subs) if subs else expr)
    return as_fraction(value)
