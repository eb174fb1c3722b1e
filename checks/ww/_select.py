"""Claim ``ww.select.exact``: the sparse long-range routing invariant at every level and position.

Source: Wang & Wu (2023, arXiv 2305.08404), sparse long-range functions; the select construction is our
reconstruction (docs/catalogue.md, "Wang & Wu: what is reconstructed").
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any, Callable, Sequence

import numpy as np
import torch

import numerics
import theory

from ..claims import Context, Result
from ..expect._exact import exact_equal, keep, level_mismatches, random_rationals, sign_split, tree_depth, verdict

SelectBuilder = Callable[..., theory.Network]
"""``build(d, support, s, architecture)`` -> network, like :func:`theory.select`."""


def select_sizes(profile: str) -> list[tuple[int, int]]:
    """``(d, s)`` pairs: quick covers s = 2..5 up to d = 256; full goes to d = 4096."""
    quick = [(2, 2), (16, 2), (1024, 2), (27, 3), (243, 3), (64, 4), (256, 4), (125, 5)]
    return quick + [(2**14, 2), (3**8, 3), (4**7, 4), (5**5, 5)] if profile == "full" else quick


def supports(d: int, s: int, rng: random.Random, k_max: int) -> list[list[int]]:
    """Supports for one ``(d, s)``: the extremes ``{0, d-1}`` (both orders), adjacent pairs (including the
    pair straddling the root's first split, ``s^(L-1) - 1, s^(L-1)``), one random index and random k-sets."""
    L = tree_depth(d, s)
    half = s ** (L - 1)
    out = [[0, d - 1], [d - 1, 0], [0, 1], [half - 1, half], [rng.randrange(d)]]
    for k in range(3, k_max + 1, 2):
        if k <= d:
            out.append(rng.sample(range(d), k))
    seen, unique = set(), []
    for sup in out:
        key = tuple(sup)
        if key not in seen and len(set(sup)) == len(sup):
            seen.add(key)
            unique.append(sup)
    return unique


def select_violations(
    net: theory.Network, d: int, s: int, support: Sequence[int], x: Sequence[Fraction], case: dict[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    """Every violation of the routing invariant of a CNN select network for one exact input ``x``.

    Checks, with ``L = log_s d`` and ``k = len(support)``:

    * level ``l`` (``1..L``), position ``p``, channel ``2j + e``:
      ``h = relu((-1)^e x[p s^l + (i_j mod s^l)])`` (via :func:`theory.trace_exact`);
    * the output equals ``x[support]`` exactly;
    * ``receptive_field()`` of output ``j`` is exactly ``{i_j}``.

    Returns:
        ``(violations, units_checked)``.
    """
    L, k = tree_depth(d, s), len(support)
    out: list[dict[str, Any]] = []
    xs = np.empty(d, dtype=object)
    xs[:] = list(x)
    sup = np.asarray(support, dtype=np.int64)
    trace = theory.trace_exact(net, list(x))
    units = 0
    for lvl in range(1, L + 1):
        if lvl >= len(trace):
            out.append({**case, "level": lvl, "what": "missing level", "got": len(trace) - 1, "want": L})
            break
        idx = np.arange(d // s**lvl, dtype=np.int64)[:, None] * s**lvl + (sup % s**lvl)[None, :]
        want = sign_split(xs[idx])
        out += level_mismatches(trace[lvl], want, lvl, case)
        units += want.size
    got = theory.evaluate_exact(net, list(x))
    want_out = [x[i] for i in support]
    if not exact_equal(got, want_out):
        out.append({**case, "what": "output", "got": [str(v) for v in got], "want": [str(v) for v in want_out]})
    fields = [sorted(int(i) for i in f) for f in net.receptive_field()]
    if fields != [[int(i)] for i in support]:
        out.append({**case, "what": "receptive_field", "got": fields[: k + 2], "want": [[int(i)] for i in support]})
    return out, units


FLOAT_ARCH_MAX_D = 256
"""Largest d whose LCN and FCN versions are also run in torch (the FCN's dense float filters grow as d^2)."""


def architecture_violations(
    build: SelectBuilder,
    d: int,
    s: int,
    support: Sequence[int],
    x: Sequence[Fraction],
    X: torch.Tensor,
    case: dict[str, Any],
) -> list[dict[str, Any]]:
    """The LCN and FCN versions must output ``x[support]`` exactly too (same function, untied/dense weights),
    and, for ``d <= FLOAT_ARCH_MAX_D``, their float64 modules must give ``X[:, support]`` bit-exactly."""
    want = [x[i] for i in support]
    out = []
    for arch in ("lcn", "fcn"):
        net = build(d, list(support), s, arch)
        got = theory.evaluate_exact(net, list(x))
        if not exact_equal(got, want):
            out.append(
                {
                    **case,
                    "architecture": arch,
                    "what": "output",
                    "got": [str(v) for v in got],
                    "want": [str(v) for v in want],
                }
            )
        if d <= FLOAT_ARCH_MAX_D:
            out += float_violations(net, support, X, {**case, "architecture": arch})
    return out


def float_violations(
    net: theory.Network, support: Sequence[int], X: torch.Tensor, case: dict[str, Any]
) -> list[dict[str, Any]]:
    """float64 module output vs ``X[:, support]``, bit-exact (``TOLERANCES['routing_exact']``)."""
    with torch.no_grad():
        y = numerics.to_module(net, torch.float64, "cpu")(X)
    want = X[:, list(support)]
    if tuple(y.shape) == tuple(want.shape) and numerics.TOLERANCES["routing_exact"].ok(y, want):
        return []
    return [{**case, "what": "float64", "got": y[0].tolist()[:8], "want": want[0].tolist()[:8]}]


def select_exact(
    ctx: Context, *, build: SelectBuilder = theory.select, sizes: Sequence[tuple[int, int]] | None = None
) -> Result:
    """Check ``ww.select.exact`` for the builder ``build(d, support, s, architecture)``.

    For every size and support (extremes ``{0, d-1}``, adjacent pairs, random sets): the invariant at every
    level and position, the exact root output ``x[support]``, the receptive fields ``{i_j}``, LCN and FCN
    outputs equal, and the float64 torch module bit-exact.

    Args:
        ctx: run context. build: the construction under test. sizes: ``(d, s)`` pairs.
    Source: Wang & Wu (2023), the sparse construction (reconstruction, docs/catalogue.md).
    """
    sizes = list(sizes) if sizes is not None else select_sizes(ctx.profile)
    rng, np_rng = ctx.rng("support"), ctx.np_rng("float")
    k_max = 8 if ctx.full else 5
    violations: list[dict[str, Any]] = []
    units = n_supports = 0
    for d, s in sizes:
        ctx.say(f"select d={d} s={s}")
        for sup in supports(d, s, rng, k_max):
            case = {"d": d, "s": s, "support": sup}
            x = random_rationals(rng, d)
            net = build(d, list(sup), s, "cnn")
            X = torch.from_numpy(np_rng.standard_normal((3, d)))
            v, u = select_violations(net, d, s, sup, x, case)
            violations += v + float_violations(net, sup, X, case)
            violations += architecture_violations(build, d, s, sup, x, X, case)
            units += u
            n_supports += 1
    return Result(
        verdict(violations),
        observed={
            "sizes": len(sizes),
            "supports": n_supports,
            "max_d": max(d for d, _ in sizes),
            "units_checked": units,
            "violations": len(violations),
        },
        expected={
            "level l, position p, channel 2j+e": "relu((-1)^e x[p s^l + (i_j mod s^l)])",
            "output": "x[support] exactly (cnn, lcn, fcn)",
            "receptive_field(output j)": "{i_j}",
            "float64 module": f"bit-exact (TOLERANCES['routing_exact']); lcn and fcn too for d <= {FLOAT_ARCH_MAX_D}",
        },
        tolerance="exact",
        evidence={"counterexamples": keep(violations), "sizes": [list(c) for c in sizes]},
        note="supports include {0, d-1} in both orders, adjacent pairs (one straddling the root split), "
        f"a single index and random sets of up to {k_max} indices; inputs are random nonzero rationals",
    )
