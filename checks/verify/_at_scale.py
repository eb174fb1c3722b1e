"""Numerical claims at scale: each construction family sampled in floats and compared with its bound.

The checks live in :mod:`numerics` (``claim_routing_at_scale``, ``claim_head_bound``,
``claim_sparse_approx``); each returns a plain dict that becomes a :class:`Result` here. Lower bounds are
re-evaluated exactly, so a "fail" is a real violation, never float noise.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

import torch

import numerics
import theory

from ..claims import Context, Result


def _merge(parts: Mapping[str, Mapping[str, Any]], note: str) -> Result:
    """One Result from several numerics check dicts: fail if any fails, pass only if all pass."""
    statuses = [p["status"] for p in parts.values()]
    status = "fail" if "fail" in statuses else ("pass" if all(s == "pass" for s in statuses) else "unknown")
    return Result(
        status,
        observed={k: p["observed"] for k, p in parts.items()},
        expected={k: p["expected"] for k, p in parts.items()},
        tolerance="exact",
        evidence={k: p.get("evidence", {}) for k, p in parts.items()},
        note=note,
    )


def routing_at_scale(ctx: Context) -> Result:
    """``num.routing.scale``: select and gather route bit-exactly in float32 at scale (rounding bound 0)."""
    d, samples = (2**20, 10**6) if ctx.full else (2**16, 10**5)
    parts = {
        f"select d={d} k=8": numerics.claim_routing_at_scale(
            "select", d=d, k=8, samples=samples, seed=ctx.seed, device="cpu", dtype=torch.float32
        ),
        "gather d=256": numerics.claim_routing_at_scale(
            "gather", d=256, samples=samples // 10, seed=ctx.seed, device="cpu", dtype=torch.float32
        ),
    }
    return _merge(parts, f"{samples} samples on CPU; structure-aware, dense and Conv1d paths compared bit for bit")


def heads_at_scale(ctx: Context) -> Result:
    """``num.head.bound``: sampled and searched errors of the heads stay within their a-priori bounds."""
    samples = 10**6 if ctx.full else 10**5
    heads = {"square m=6": theory.square_head(6), "product m=4 B=1": theory.product_head(4)}
    if ctx.full:
        heads["polynomial x0*x1*x2 m=3"] = theory.polynomial_head("x0*x1*x2", (-1, 1), 3)
    parts = {
        name: numerics.claim_head_bound(h, samples=samples, seed=ctx.seed, device="cpu", dtype=torch.float64)
        for name, h in heads.items()
    }
    return _merge(
        parts, f"{samples} samples + gradient search per head, float64 on CPU; witnesses re-evaluated exactly"
    )


def sparse_at_scale(ctx: Context) -> Result:
    """``num.sparse.scale``: a sparse approximant sampled at scale stays within its a-priori bound <= eps."""
    d, samples = (2**20, 10**6) if ctx.full else (2**16, 10**5)
    parts = {
        f"x5*x4000 d={d}": numerics.claim_sparse_approx(
            d=d,
            support=(5, 4000),
            g="x0*x1",
            box=(-1, 1),
            eps=Fraction(1, 1000),
            samples=samples,
            seed=ctx.seed,
            device="cpu",
            dtype=torch.float32,
            certify=ctx.full,
        )
    }
    return _merge(
        parts, f"{samples} samples float32 on CPU" + ("; cross-checked with certify_sup_error" if ctx.full else "")
    )
