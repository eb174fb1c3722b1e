"""Claims ``ww.gather.exact`` and ``ww.universality.depth``: the gather network and gather + two-layer head.

Source: Wang & Wu (2023, arXiv 2305.08404), universality with depth O(log d); the gather construction is our
reconstruction (docs/catalogue.md, "Wang & Wu: what is reconstructed").
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable, Sequence

import numpy as np
import torch

import numerics
import theory

from ..claims import Context, Result
from ..expect._exact import exact_equal, keep, level_mismatches, random_rationals, sign_split, tree_depth, verdict

TORCH_MAX_D = 1024
"""Largest d whose gather net is also run in torch: its dense float64 filters grow as d^2 (~58 MiB here)."""


def gather_cases(profile: str) -> list[tuple[int, int]]:
    """``(d, s)`` pairs: quick covers s = 2, 3, 4 at three depths; full goes to d = 4096."""
    depths: dict[int, Sequence[int]]
    if profile == "full":
        depths = {2: range(1, 13), 3: range(1, 8), 4: range(1, 7)}
    else:
        depths = {2: (1, 2, 5, 8), 3: (1, 2, 4), 4: (1, 2, 4)}
    return [(s**L, s) for s, Ls in depths.items() for L in Ls]


def gather_violations(
    net: theory.Network, d: int, s: int, x: Sequence[Fraction], case: dict[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    """Every violation of the gather invariant for one exact input ``x``.

    Checks, with ``L = log_s d``:

    * ``n_l C_l == 2d`` for ``l = 1..L`` (representation size is constant);
    * at level ``l``, position ``p``, channel ``2r + e``: ``h = relu((-1)^e x[p s^l + r])`` (via
      :func:`theory.trace_exact`);
    * the output equals ``x`` exactly.

    Returns:
        ``(violations, units_checked)``; each violation is a JSON-able dict.
    """
    L = tree_depth(d, s)
    out: list[dict[str, Any]] = []
    for lvl in range(1, L + 1):
        size = net.positions[lvl] * net.channels[lvl] if lvl < len(net.positions) else None
        if size != 2 * d:
            out.append({**case, "level": lvl, "what": "n_l * C_l", "got": size, "want": 2 * d})
    trace = theory.trace_exact(net, list(x))
    xs = np.empty(d, dtype=object)
    xs[:] = list(x)
    units = 0
    for lvl in range(1, min(L, len(trace) - 1) + 1):
        want = sign_split(xs.reshape(d // s**lvl, s**lvl))
        out += level_mismatches(trace[lvl], want, lvl, case)
        units += want.size
    got = theory.evaluate_exact(net, list(x))
    if not exact_equal(got, x):
        bad_i = next((i for i, (a, b) in enumerate(zip(got, x)) if a != b), min(len(got), len(x)))
        out.append(
            {
                **case,
                "what": "output",
                "index": bad_i,
                "got": str(got[bad_i]) if bad_i < len(got) else None,
                "want": str(x[bad_i]) if bad_i < len(x) else None,
            }
        )
    return out, units


def float_violations(net: theory.Network, X: torch.Tensor, case: dict[str, Any]) -> list[dict[str, Any]]:
    """Compare the float64 torch module of ``net`` with the identity on the batch ``X`` (shape ``(B, d)``).

    Tolerance: ``numerics.TOLERANCES['routing_exact']`` (atol = rtol = 0: the routing multiplies by +-1 and
    adds exact zeros, so the float result is bit-exact).
    """
    module = numerics.to_module(net, torch.float64, "cpu")
    with torch.no_grad():
        y = module(X)
    if tuple(y.shape) != tuple(X.shape):
        return [{**case, "what": "float64 shape", "got": list(y.shape), "want": list(X.shape)}]
    if numerics.TOLERANCES["routing_exact"].ok(y, X):
        return []
    err = (y - X).abs().nan_to_num(nan=float("inf"))
    b, i = divmod(int(torch.argmax(err)), X.shape[1])
    return [{**case, "what": "float64", "row": b, "index": i, "got": float(y[b, i]), "want": float(X[b, i])}]


def float_batch(rng: np.random.Generator, d: int, rows: int) -> torch.Tensor:
    """``(rows, d)`` float64 inputs spanning magnitudes 1e-30..1e30, plus one row of extremes.

    The extreme row cycles the smallest subnormal, the largest normal magnitudes and signed zeros.
    """
    X = rng.standard_normal((rows, d)) * 10.0 ** rng.uniform(-30, 30, (rows, d))
    extremes = np.array([5e-324, -5e-324, 1.0e308, -1.0e308, 0.0, -0.0, 2.2250738585072014e-308, -1.5])
    X[0] = np.resize(extremes, d)
    return torch.from_numpy(X)


def gather_exact(
    ctx: Context,
    *,
    build: Callable[[int, int], theory.Network] = theory.gather,
    cases: Sequence[tuple[int, int]] | None = None,
) -> Result:
    """Check ``ww.gather.exact`` for the gather builder ``build(d, s)``.

    Args:
        ctx: run context (profile picks the cases, seed the inputs).
        build: the construction under test (tests pass a planted one).
        cases: ``(d, s)`` pairs; default :func:`gather_cases` of the profile.
    Returns:
        ``pass`` when every invariant, size and output holds exactly and every float64 run is bit-exact.
    Source: Wang & Wu (2023), the universality construction (reconstruction, docs/catalogue.md).
    """
    cases = list(cases) if cases is not None else gather_cases(ctx.profile)
    rng, np_rng = ctx.rng("x"), ctx.np_rng("float")
    points = 3 if ctx.full else 2
    violations: list[dict[str, Any]] = []
    units = float_rows = 0
    for d, s in cases:
        ctx.say(f"gather d={d} s={s}")
        net = build(d, s)
        for n in range(points):
            v, u = gather_violations(net, d, s, random_rationals(rng, d), {"d": d, "s": s, "point": n})
            violations += v
            units += u
        if d <= TORCH_MAX_D:
            X = float_batch(np_rng, d, 4)
            violations += float_violations(net, X, {"d": d, "s": s})
            float_rows += X.shape[0]
    return Result(
        verdict(violations),
        observed={
            "cases": len(cases),
            "max_d": max(d for d, _ in cases),
            "units_checked": units,
            "float64_rows": float_rows,
            "violations": len(violations),
        },
        expected={
            "level l, position p, channel 2r+e": "relu((-1)^e x[p s^l + r])",
            "output": "x exactly",
            "n_l * C_l": "2d for l = 1..L",
            "float64 module": "bit-exact (TOLERANCES['routing_exact'], atol = rtol = 0)",
        },
        tolerance="exact",
        evidence={
            "counterexamples": keep(violations),
            "cases": [list(c) for c in cases],
            "exact_points_per_case": points,
        },
        note=f"exact traces at {points} random rational points per case; torch float64 for d <= {TORCH_MAX_D} "
        "(dense gather filters grow as d^2), inputs from 1e-30 to 1e30 plus subnormal/huge/signed-zero values",
    )


def universality_cases(profile: str) -> list[tuple[int, int]]:
    """``(d, s)`` pairs for the universality depth claim."""
    quick = [(4, 2), (16, 2), (9, 3), (27, 3), (16, 4), (64, 4)]
    return quick + [(256, 2), (1024, 2), (243, 3), (256, 4)] if profile == "full" else quick


def two_layer(
    w1: list[list[Fraction]], b1: list[Fraction], w2: list[list[Fraction]], b2: list[Fraction], z: Sequence[Fraction]
) -> tuple[Fraction, ...]:
    """Independent exact ``g(z) = W2 relu(W1 z + b1) + b2`` with plain loops (no ``theory`` code)."""
    hidden = [max(Fraction(0), b + sum((w * v for w, v in zip(row, z)), Fraction(0))) for row, b in zip(w1, b1)]
    return tuple(b + sum((w * h for w, h in zip(row, hidden)), Fraction(0)) for row, b in zip(w2, b2))


def universality_depth(
    ctx: Context,
    *,
    build: Callable[[int, int], theory.Network] = theory.gather,
    compose: Callable[[Any, Any], theory.Network] = theory.compose,
    cases: Sequence[tuple[int, int]] | None = None,
) -> Result:
    """Check ``ww.universality.depth``: ``compose(gather(d, s), head)`` has depth ``log_s d + 2`` and equals
    the two-layer ReLU net ``g(x) = a_0 + sum_r a_r relu(w_r . x + c_r)`` exactly.

    The head's weights are random rationals; ``g`` is evaluated by an independent loop and by
    ``TwoLayerHead.evaluate``; the network by :func:`theory.evaluate_exact`.

    Args:
        ctx: run context. build, compose: the constructions under test. cases: ``(d, s)`` pairs.
    Source: Wang & Wu (2023), universality with depth O(log d) (reconstruction, docs/catalogue.md).
    """
    cases = list(cases) if cases is not None else universality_cases(ctx.profile)
    rng = ctx.rng("head")
    m, n_out, points = (6, 2, 8) if ctx.full else (4, 2, 4)
    violations: list[dict[str, Any]] = []
    depths = []
    for d, s in cases:
        ctx.say(f"gather + head d={d} s={s}")
        w1 = [random_rationals(rng, d, 9, 9) for _ in range(m)]
        b1 = random_rationals(rng, m, 9, 9)
        w2 = [random_rationals(rng, m, 9, 9) for _ in range(n_out)]
        b2 = random_rationals(rng, n_out, 9, 9)
        head = theory.TwoLayerHead(w1, b1, w2, b2)
        net = compose(build(d, s), head)
        want_depth = tree_depth(d, s) + 2
        depths.append({"d": d, "s": s, "depth": net.depth, "log_s d + 2": want_depth})
        if net.depth != want_depth:
            violations.append({"d": d, "s": s, "what": "depth", "got": net.depth, "want": want_depth})
        for n in range(points):
            x = random_rationals(rng, d, 9, 9)
            got, want, via_head = theory.evaluate_exact(net, x), two_layer(w1, b1, w2, b2, x), head.evaluate(x)
            if not (exact_equal(got, want) and exact_equal(via_head, want)):
                violations.append(
                    {
                        "d": d,
                        "s": s,
                        "point": n,
                        "what": "value",
                        "network": [str(v) for v in got],
                        "two_layer_loop": [str(v) for v in want],
                        "TwoLayerHead.evaluate": [str(v) for v in via_head],
                    }
                )
    return Result(
        verdict(violations),
        observed={
            "cases": len(cases),
            "depth == log_s d + 2": f"{sum(r['depth'] == r['log_s d + 2'] for r in depths)}/{len(depths)}",
            "exact_points": points * len(cases),
            "violations": len(violations),
            "depths": depths,
        },
        expected={"depth": "log_s d + 2", "value": "equal to the two-layer ReLU net, exactly"},
        tolerance="exact",
        evidence={"counterexamples": keep(violations), "head_width": m, "head_outputs": n_out},
        note="head weights and points are random rationals +-a/b with a, b <= 9",
    )
