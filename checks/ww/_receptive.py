"""Claim ``ww.receptive.stride1``: stride-1 CNNs need depth ceil((d-1)/(s-1)); stride-s trees need log_s d.

Source: Wang & Wu (2023, arXiv 2305.08404), comparison with Omega(d)-depth stride-1 universality
(receptive-field argument, reconstruction, see docs/catalogue.md, "Wang & Wu: what is reconstructed").
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F

import theory
from numerics import torch_threads

from ..claims import Context, Result
from ..expect import line_plot
from ..expect._exact import exact_equal, keep, random_rationals, tree_depth

CHANNELS = 2
"""Channels of the stride-1 chain (the receptive field does not depend on it)."""


def chain_weights(depth: int, s: int, gen: torch.Generator, positive: bool) -> list[torch.Tensor]:
    """Random float64 filters ``(C, C_in, s)`` of a stride-1 kernel-s chain (``C_in = 1`` for layer 1).

    ``positive``: entries uniform in [0.5, 1.5) (with positive inputs every ReLU is active, so the Jacobian is
    nonzero on the whole receptive field); otherwise standard normal.
    """
    out = []
    for i in range(depth):
        shape = (CHANNELS, 1 if i == 0 else CHANNELS, s)
        w = (
            torch.rand(shape, generator=gen, dtype=torch.float64) + 0.5
            if positive
            else torch.randn(shape, generator=gen, dtype=torch.float64)
        )
        out.append(w)
    return out


def stride1_forward(weights: Sequence[torch.Tensor], x: torch.Tensor, s: int) -> torch.Tensor:
    """Last output unit of the chain: ``h_l = relu(conv1d(pad_left(h_{l-1}, s-1), W_l))``, stride 1.

    Shape: ``x (d,)`` -> scalar (channel 0 at position ``d - 1``). Causal zero padding keeps ``d`` positions,
    so the last unit sees ``x[d-1-D(s-1) .. d-1]`` (clipped at 0) after ``D`` layers.
    """
    h = x.reshape(1, 1, -1)
    for w in weights:
        h = torch.relu(F.conv1d(F.pad(h, (s - 1, 0)), w, stride=1))
    return h[0, 0, -1]


def jacobian_support(
    forward: Callable[..., torch.Tensor], weights: Sequence[torch.Tensor], x: torch.Tensor, s: int
) -> list[int]:
    """Input indices where d(last unit)/dx is nonzero (torch.autograd), sorted."""
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(forward(weights, x, s), x, allow_unused=True)
    if grad is None:
        return []
    return torch.nonzero(grad).reshape(-1).tolist()


def receptive_sizes(
    forward: Callable[..., torch.Tensor], d: int, s: int, gen: torch.Generator, max_depth: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Measured receptive field of the last unit for ``D = 1..max_depth`` against ``1 + D(s-1)``.

    Positive weights and inputs witness the whole window; signed weights at a signed input must stay inside it.
    Returns ``(rows, violations)``.
    """
    rows, violations = [], []
    for D in range(1, max_depth + 1):
        window = list(range(max(0, d - 1 - D * (s - 1)), d))
        pos = jacobian_support(
            forward, chain_weights(D, s, gen, True), torch.rand(d, generator=gen, dtype=torch.float64) + 0.5, s
        )
        signed = jacobian_support(
            forward, chain_weights(D, s, gen, False), torch.randn(d, generator=gen, dtype=torch.float64), s
        )
        rows.append({"d": d, "s": s, "D": D, "measured": len(pos), "1 + D(s-1)": min(d, 1 + D * (s - 1))})
        if pos != window:
            violations.append(
                {
                    "d": d,
                    "s": s,
                    "D": D,
                    "what": "positive-weight support",
                    "got": [pos[0], pos[-1], len(pos)] if pos else [],
                    "want": [window[0], window[-1], len(window)],
                }
            )
        if not set(signed) <= set(window):
            violations.append(
                {
                    "d": d,
                    "s": s,
                    "D": D,
                    "what": "signed support outside the window",
                    "outside": sorted(set(signed) - set(window))[:8],
                }
            )
    return rows, violations


def min_stride1_depth(forward: Callable[..., torch.Tensor], d: int, s: int, gen: torch.Generator) -> int | None:
    """Smallest D whose last unit depends on both ``x_0`` and ``x_{d-1}`` (positive random weights), else None.

    Layers are added one at a time to one growing random chain; the search stops at ``D = d``.
    """
    weights: list[torch.Tensor] = []
    x = torch.rand(d, generator=gen, dtype=torch.float64) + 0.5
    for D in range(1, d + 1):
        weights += (
            chain_weights(1, s, gen, True)
            if D == 1
            else [torch.rand((CHANNELS, CHANNELS, s), generator=gen, dtype=torch.float64) + 0.5]
        )
        support = jacobian_support(forward, weights, x, s)
        if support and support[0] == 0 and support[-1] == d - 1:
            return D
    return None


def tree_facts(build: Callable[..., theory.Network], d: int, s: int, ctx: Context) -> tuple[dict[str, Any], list]:
    """The stride-s tree ``select(d, [0, d-1], s)``: tree depth, receptive span/field, exact root output."""
    net = build(d, [0, d - 1], s)
    tree_layers = sum(1 for kind in net.kinds if kind in ("conv", "local"))
    span = [list(p) for p in net.receptive_span()]
    field = sorted({int(i) for f in net.receptive_field() for i in f})
    x = random_rationals(ctx.rng(f"tree{d},{s}"), d)
    out = theory.evaluate_exact(net, x)
    facts = {"tree_layers": tree_layers, "receptive_span": span, "receptive_field": field}
    violations = []
    if tree_layers != tree_depth(d, s):
        violations.append({"d": d, "s": s, "what": "tree layers", "got": tree_layers, "want": tree_depth(d, s)})
    if span != [[0, d]]:
        violations.append({"d": d, "s": s, "what": "receptive_span", "got": span, "want": [[0, d]]})
    if field != [0, d - 1]:
        violations.append({"d": d, "s": s, "what": "receptive_field", "got": field[:8], "want": [0, d - 1]})
    if not exact_equal(out, [x[0], x[d - 1]]):
        violations.append(
            {"d": d, "s": s, "what": "root output", "got": [str(v) for v in out], "want": [str(x[0]), str(x[d - 1])]}
        )
    return facts, violations


def receptive_cases(profile: str) -> list[tuple[int, int]]:
    """``(d, s)`` with ``d = s^L`` (so the tree exists for the same pair)."""
    quick = [(16, 2), (64, 2), (27, 3), (16, 4), (64, 4), (25, 5)]
    return quick + [(256, 2), (81, 3), (243, 3), (256, 4), (125, 5)] if profile == "full" else quick


def receptive_stride1(
    ctx: Context,
    *,
    forward: Callable[..., torch.Tensor] = stride1_forward,
    build: Callable[..., theory.Network] = theory.select,
    cases: Sequence[tuple[int, int]] | None = None,
) -> Result:
    """Check ``ww.receptive.stride1``.

    (a) A stride-1, kernel-s chain (random float64 weights, seeded ``torch.Generator``) has a last-unit
    receptive field of size ``1 + D(s-1)`` (Jacobian sparsity, torch.autograd), so the minimal depth for one
    unit to see both ``x_0`` and ``x_{d-1}`` is ``ceil((d-1)/(s-1))``: found by adding layers one at a time.
    (b) The stride-s tree ``select(d, [0, d-1], s)`` has ``log_s d`` tree layers, receptive span
    ``[(0, d)]``, and its root outputs are exactly ``x_0, x_{d-1}``. Writes ``<claim>.depths.png``.

    Args:
        ctx: run context. forward: the stride-1 chain's forward (tests plant a dilated one). build: the
            select builder. cases: ``(d, s)`` pairs.
    Source: Wang & Wu (2023) receptive-field argument (reconstruction).
    """
    cases = list(cases) if cases is not None else receptive_cases(ctx.profile)
    gen = torch.Generator().manual_seed(ctx.seed)
    violations: list[dict[str, Any]] = []
    size_rows, table = [], []
    for d, s in cases:
        ctx.say(f"stride-1 chain and tree d={d} s={s}")
        with torch_threads(1):  # tiny ops: see torch_threads
            rows, v = receptive_sizes(forward, d, s, gen, min(6, math.ceil((d - 1) / (s - 1))))
            found = min_stride1_depth(forward, d, s, gen)
        size_rows += rows
        violations += v
        want = math.ceil((d - 1) / (s - 1))
        if found != want:
            violations.append({"d": d, "s": s, "what": "minimal stride-1 depth", "got": found, "want": want})
        facts, v = tree_facts(build, d, s, ctx)
        violations += v
        table.append(
            {
                "d": d,
                "s": s,
                "stride1_min_depth": found,
                "ceil((d-1)/(s-1))": want,
                "tree_depth": facts["tree_layers"],
                "log_s d": tree_depth(d, s),
            }
        )
    plot = ctx.artifact("depths.png")
    far = [2**L for L in range(1, 21)]
    line_plot(
        plot,
        title="depth for one unit to see x_0 and x_{d-1} (s = 2)",
        xlabel="d",
        ylabel="layers",
        points=[
            (
                "stride 1, measured",
                [r["d"] for r in table if r["s"] == 2],
                [r["stride1_min_depth"] or 0 for r in table if r["s"] == 2],
            ),
            (
                "stride s tree, built",
                [r["d"] for r in table if r["s"] == 2],
                [r["tree_depth"] for r in table if r["s"] == 2],
            ),
        ],
        lines=[("ceil((d-1)/(s-1))", far, [d - 1 for d in far]), ("log_s d", far, [math.log2(d) for d in far])],
    )
    return Result(
        "fail" if violations else "pass",
        observed={
            "stride-1 vs tree depth": {
                f"d={r['d']},s={r['s']}": [r["stride1_min_depth"], r["tree_depth"]] for r in table
            },
            "violations": len(violations),
            "depths": table,
        },
        expected={
            "receptive field after D stride-1 layers": "1 + D(s-1)",
            "stride-1 minimal depth": "ceil((d-1)/(s-1))",
            "stride-s tree depth": "log_s d",
            "tree receptive_span": "[(0, d)]",
        },
        tolerance="exact",
        evidence={"counterexamples": keep(violations), "receptive_sizes": size_rows, "plots": [plot.name]},
        note="Jacobian support of the last unit with positive weights and inputs (every ReLU active: the support "
        "is the whole window) and with signed weights (the support must stay inside the window)",
    )
