"""Numerical claim checks at scale, one per construction family, returning plain dicts for the claim registry.

Each function returns ``{"status": "pass" | "fail" | "unknown", "observed": ..., "expected": ...,
"tolerance": "exact", "evidence": {...}, "note": str}`` (JSON-able; exact rationals as strings), the fields of
``checks.Result``. The comparisons are exact: the observed error is a rigorous lower bound (exact network,
target enclosed by intervals) compared with an exact bound, and routing outputs are compared bit for bit.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
import sympy as sp
import torch

import theory
from theory.certify import BUDGET_KEYS
from theory.cli import SUP_ERROR_MAX_WORK

from ._check import check_at_scale
from ._engine import DEFAULT_BUDGET, Engine, check_count
from ._meters import PeakMemory
from ._rounding import rounding_bound
from ._target import exact_constant, make_box


def _upper(value: Any) -> Fraction:
    """A sympy/str bound as an exact rational, rounded up when irrational."""
    v = exact_constant(value, "bound")
    if v.is_Rational:
        return Fraction(int(v.p), int(v.q))
    q = Fraction(str(sp.N(v, 40)))
    return q + abs(q) * Fraction(1, 10**30)


def _floats_ok(report: Any) -> bool:
    return all(v["respected"] for v in report.float_error["measured"].values())


def claim_routing_at_scale(
    construction: str = "select",
    *,
    d: int = 2**20,
    k: int = 8,
    s: int = 2,
    samples: int = 10**6,
    seed: int = 0,
    device: Any = "auto",
    dtype: Any = torch.float32,
    memory_budget: int = DEFAULT_BUDGET,
) -> dict[str, Any]:
    """``select``/``gather`` route inputs exactly, in float too: every sampled output equals its input bit for bit.

    Samples ``samples`` points of ``[-1, 1]^d`` (``select``: a random support of ``k`` indices including 0 and
    ``d - 1``; ``gather``: all ``d`` outputs, at most ``max(16, 2^24 / d)`` samples), evaluates the cone path, compares
    each output with the routed input exactly, re-runs the first rows through the dense path on full inputs
    (bitwise), and requires the a-priori rounding bound :func:`numerics.rounding_bound` to be exactly 0.
    Source: Wang & Wu (2023), the sparse construction's routing invariant (reconstruction), IEEE 754 exactness
    of ``+-1`` products and of adding zeros.
    """
    if construction not in ("select", "gather"):
        raise theory.TheoryError(f"argument 'construction': got {construction!r}; allowed: 'select' or 'gather'")
    samples = check_count("samples", samples, 1)
    rng = random.Random(seed)
    if construction == "select":
        support = [0, d - 1] + rng.sample(range(1, d - 1), max(0, k - 2)) if k >= 2 else [d - 1]
        net = theory.select(d, support[:k], s)
        routed = support[:k]
    else:
        net, routed = theory.gather(d, s), list(range(d))
        samples = min(samples, max(16, 2**24 // d))  # every sample is a full input here
    units = np.arange(d, dtype=np.int64) if construction == "gather" else np.array(sorted(routed), dtype=np.int64)
    per, default = make_box(net, (-1, 1), units)
    eng = Engine(
        net,
        units,
        per,
        default,
        path="structured",
        device=device,
        dtype=dtype,
        seed=seed,
        memory_budget=memory_budget,
        extra_per_row=8 * len(routed),
    )
    idx = torch.as_tensor(np.searchsorted(units, routed), device=eng.device)
    worst = torch.zeros((), dtype=torch.float64, device=eng.device)
    mismatches = torch.zeros((), dtype=torch.int64, device=eng.device)
    with PeakMemory(eng.device) as peak:
        for _, cols, y in eng.batches(samples, progress=False):
            want = cols[:, idx]
            mismatches += (y != want).sum()
            worst = torch.maximum(worst, (y.double() - want.double()).abs().max())
    rows = min(2, samples)
    a, b = eng.evaluate(0, eng.columns(0, rows)), eng.evaluate(0, eng.columns(0, rows), "dense")
    bound = rounding_bound(net, 1.0, eng.dtype)
    observed = {
        "max_abs_error": float(worst),
        "mismatches": int(mismatches),
        "rounding_bound": bound.total,
        "dense_path_bitwise": bool(torch.equal(a, b)),
        "samples": samples,
    }
    ok = (
        observed["max_abs_error"] == 0
        and observed["mismatches"] == 0
        and bound.total == 0
        and observed["dense_path_bitwise"]
    )
    return {
        "status": "pass" if ok else "fail",
        "observed": observed,
        "expected": {"max_abs_error": 0, "mismatches": 0, "rounding_bound": 0, "dense_path_bitwise": True},
        "tolerance": "exact",
        "evidence": {
            "construction": construction,
            "d": d,
            "s": s,
            "support": routed[:16],
            "device": str(eng.device),
            "dtype": str(eng.dtype),
            "samples_per_s": samples / max(peak.seconds, 1e-12),
            "batch_size": eng.batch_size,
            "exact_layers": len(bound.exact_layers),
            "depth": net.depth,
        },
        "note": f"{samples} samples of [-1, 1]^{d} on the cone path, {rows} full rows on the dense path",
    }


def claim_head_bound(
    head: Any,
    *,
    samples: int = 10**6,
    seed: int = 0,
    device: Any = "auto",
    dtype: Any = torch.float64,
    memory_budget: int = DEFAULT_BUDGET,
    search_steps: int = 200,
) -> dict[str, Any]:
    """A head's a-priori bound holds: the worst error found (rigorous lower bound) is <= ``head.bound``.

    Also reports the tightness ``bound / lower`` and requires the float deviations at the witnesses to respect
    :func:`numerics.rounding_bound`. Works for every :class:`theory.Head` (Yarotsky square/product/polynomial,
    Kuhn pl interpolation). Source: Yarotsky (2017) Prop. 2 / Kuhn interpolation (standard).
    """
    if not isinstance(head, theory.Head):
        raise theory.TheoryError(f"argument 'head': got {type(head).__name__}; allowed: a theory.Head")
    box = {f"x{j}": (lo, hi) for j, (lo, hi) in enumerate(head.box)}
    report = check_at_scale(
        head.net,
        head.target,
        box,
        samples=samples,
        seed=seed,
        device=device,
        dtype=dtype,
        memory_budget=memory_budget,
        search_steps=search_steps,
        full_rows=0,
    )
    bound = _upper(head.bound)
    ok = report.lower_bound <= bound and _floats_ok(report)
    return {
        "status": "pass" if ok else "fail",
        "observed": {
            "lower_bound": str(report.lower_bound),
            "max_error": report.max_error,
            "tightness": float(bound / report.lower_bound) if report.lower_bound > 0 else None,
            "float_bounds_respected": _floats_ok(report),
        },
        "expected": {"bound": str(bound), "relation": "lower_bound <= bound"},
        "tolerance": "exact",
        "evidence": {
            "witness": report.argmax,
            "head": dict(head.params),
            "samples": samples,
            "float_error": report.float_error["measured"],
            "search": report.search,
        },
        "note": f"{samples} samples + projected gradient ascent; witness re-evaluated exactly",
    }


def claim_sparse_approx(
    d: int = 2**20,
    support: Sequence[int] = (5, 4000),
    g: Any = "x0*x1",
    box: Any = (-1, 1),
    eps: Any = Fraction(1, 1000),
    *,
    s: int = 2,
    samples: int = 10**6,
    seed: int = 0,
    device: Any = "auto",
    dtype: Any = torch.float32,
    certify: bool = False,
    time_limit_s: float = 30.0,
    max_work: int | None = SUP_ERROR_MAX_WORK,
    memory_budget: int = DEFAULT_BUDGET,
) -> dict[str, Any]:
    """``approximate_sparse(d, support, g, box, eps)`` meets eps at scale: lower <= a-priori <= eps (and <= the
    certified upper bound when ``certify``), routing and head paths agree, float deviations within bound.

    The certificate runs within ``max_work`` boxes refined (default :data:`SUP_ERROR_MAX_WORK`; None: none) and
    ``time_limit_s`` seconds (a safety net); the evidence records its ``work``, ``max_work`` and ``stopped_by``.
    Source: Wang & Wu (2023), sparse long-range approximation (reconstruction, docs/catalogue.md) with Yarotsky /
    Kuhn heads (standard).
    """
    net = theory.approximate_sparse(d, list(support), g, box, eps, s)
    report = check_at_scale(
        net,
        samples=samples,
        seed=seed,
        device=device,
        dtype=dtype,
        certify=certify,
        time_limit_s=time_limit_s,
        max_work=max_work,
        memory_budget=memory_budget,
    )
    eps_q = theory.as_rational(net.meta["eps"], "eps")
    a_priori = report.a_priori_bound
    ok = (
        not report.unsound
        and a_priori is not None
        and report.lower_bound <= a_priori <= eps_q
        and report.cross_check.get("consistent", True)
        and _floats_ok(report)
    )
    status = "pass" if ok else "fail"
    if certify and report.certified_upper is None and status == "pass":
        status = "unknown"  # the certifier did not prove a bound: nothing to compare with
    return {
        "status": status,
        "observed": {
            "lower_bound": str(report.lower_bound),
            "max_error": report.max_error,
            "float_max_error": report.float_max_error,
            "certified_upper": None if report.certified_upper is None else str(report.certified_upper),
            "ratio_upper_lower": report.ratio,
            "unsound": report.unsound,
        },
        "expected": {
            "a_priori_bound": None if a_priori is None else str(a_priori),
            "eps": str(eps_q),
            "relation": "lower <= a_priori <= eps; lower <= certified upper",
        },
        "tolerance": "exact",
        "evidence": {
            "witness": report.argmax,
            "samples": samples,
            "samples_per_s": report.samples_per_s,
            "cross_check": report.cross_check,
            "float_error": report.float_error,
            "run": report.run,
            "certificate": report.certificate,
            **{k: report.certificate[k] for k in BUDGET_KEYS if report.certificate and k in report.certificate},
        },
        "note": f"d = {d}, {samples} samples on the {report.run['path']} path, search from the worst ones",
    }
