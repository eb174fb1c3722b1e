"""Claim ``ww.select.params``: tree-layer parameter counts of select as CNN, LCN and FCN, and their growth.

Source: Wang & Wu (2023, arXiv 2305.08404), the CNN / LCN / FCN architectures and the sparse construction's
parameter counts (reconstruction, see docs/catalogue.md, "Wang & Wu: what is reconstructed").
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import theory

from ..claims import RATE_BANDS, Context, Result, loglog_slope
from ..claims._rates import in_window
from ..expect import line_plot
from ..expect._exact import keep, tree_depth

Formula = Callable[[int, int, int], int]


def cnn_formula(d: int, k: int, s: int) -> int:
    """CNN (shared filters): ``2ks + (L-1) 4k^2 s`` with ``L = log_s d`` (biases excluded)."""
    L = tree_depth(d, s)
    return 2 * k * s + (L - 1) * 4 * k * k * s


def lcn_formula(d: int, k: int, s: int) -> int:
    """LCN (untied): ``sum_{l=1}^{L} d_l s C_{l-1} C_l`` with ``d_l = d / s^l``, ``C_0 = 1``, ``C_l = 2k``."""
    L = tree_depth(d, s)
    C = [1] + [2 * k] * L
    return sum((d // s**l) * s * C[l - 1] * C[l] for l in range(1, L + 1))


def fcn_formula(d: int, k: int, s: int) -> int:
    """FCN (dense): ``sum_{l=1}^{L} N_{l-1} N_l`` with ``N_0 = d``, ``N_l = d_l C_l = (d / s^l) 2k``."""
    L = tree_depth(d, s)
    N = [d] + [(d // s**l) * 2 * k for l in range(1, L + 1)]
    return sum(N[l - 1] * N[l] for l in range(1, L + 1))


FORMULAS: Mapping[str, Formula] = {"cnn": cnn_formula, "lcn": lcn_formula, "fcn": fcn_formula}
EXPONENTS = {"lcn": 1.0, "fcn": 2.0}
"""Claimed log-log slope of the count against d (LCN Theta(k^2 d), FCN Theta(d * width) = Theta(d^2))."""
LAYER_KIND = {"cnn": "conv", "lcn": "local", "fcn": "dense"}


def spread_support(d: int, k: int) -> list[int]:
    """``k`` indices spread over ``[0, d)`` from 0 to ``d - 1`` (the count does not depend on the support)."""
    return [0] if k == 1 else sorted({(j * (d - 1)) // (k - 1) for j in range(k)})


def plan(profile: str) -> dict[str, Any]:
    """Depth ranges built per architecture and the declared log-log fit window (in d)."""
    if profile == "full":
        return {"levels": {"cnn": range(2, 21), "lcn": range(2, 17), "fcn": range(2, 17)}, "window": (2**10, 2**16)}
    return {"levels": {"cnn": range(2, 11), "lcn": range(2, 11), "fcn": range(2, 11)}, "window": (2**6, 2**10)}


def tree_param_count(net: theory.Network, L: int) -> int:
    """Dense parameters of the first ``L`` (tree) layers, biases excluded (the unsplit readout is not counted)."""
    return sum(layer.param_count(biases=False) for layer in net.layers[:L])


def select_params(
    ctx: Context,
    *,
    build: Callable[..., theory.Network] = theory.select,
    formulas: Mapping[str, Formula] = FORMULAS,
    k: int = 3,
    s: int = 2,
) -> Result:
    """Check ``ww.select.params``: exact counts against the formulas, then the growth rates.

    * every built count (first ``L`` layers, no biases) equals ``formulas[arch](d, k, s)`` exactly, and the
      first ``L`` layers have the architecture's kind (conv / local / dense);
    * CNN: the count grows by exactly ``4k^2 s`` per level, i.e. linearly in ``log d`` (Theta(log d));
    * LCN and FCN: least-squares log-log slope of count vs d over the declared window within
      ``RATE_BANDS['param_count_slope']`` of 1 and 2.

    Writes ``<claim>.param_counts.png`` (log-log; built points and formula lines up to d = 2^30).

    Args:
        ctx: run context. build: the select builder. formulas: expected count per architecture (tests plant
            a wrong one). k, s: support size and kernel.
    Source: Wang & Wu (2023), architectures and the sparse construction's counts (reconstruction, docs/catalogue.md).
    """
    p = plan(ctx.profile)
    band = RATE_BANDS["param_count_slope"]
    violations: list[dict[str, Any]] = []  # per-size count and kind mismatches
    growth: list[dict[str, Any]] = []  # rate mismatches (listed first in the evidence)
    built: dict[str, dict[str, list[int]]] = {}
    for arch, levels in p["levels"].items():
        ctx.say(f"building {arch} up to d = {s}^{max(levels)}")
        ds, counts = [], []
        for L in levels:
            d = s**L
            net = build(d, spread_support(d, k), s, arch)
            count, want = tree_param_count(net, L), formulas[arch](d, k, s)
            if count != want:
                violations.append({"architecture": arch, "d": d, "what": "count", "got": count, "want": want})
            kinds = [layer.kind for layer in net.layers[:L]]
            if kinds != [LAYER_KIND[arch]] * L:
                violations.append({"architecture": arch, "d": d, "what": "layer kinds", "got": kinds})
            ds.append(d)
            counts.append(count)
        built[arch] = {"d": ds, "count": counts}
    cnn = built["cnn"]["count"]
    increments = sorted({b - a for a, b in zip(cnn, cnn[1:])})
    if increments != [4 * k * k * s]:
        growth.append(
            {"architecture": "cnn", "what": "increment per level", "got": increments, "want": [4 * k * k * s]}
        )
    lo, hi = p["window"]
    slopes = {}
    for arch, exponent in EXPONENTS.items():
        idx = in_window(built[arch]["d"], lo, hi)
        slope = loglog_slope([built[arch]["d"][i] for i in idx], [built[arch]["count"][i] for i in idx])
        slopes[arch] = round(slope, 4)
        if not band.ok(slope, exponent):
            growth.append(
                {
                    "architecture": arch,
                    "what": "log-log slope",
                    "got": slope,
                    "want": exponent,
                    "window": [lo, hi],
                    "half_width": band.half_width,
                }
            )
    idx = in_window(built["cnn"]["d"], lo, hi)
    slopes["cnn (info: -> 0)"] = round(loglog_slope([built["cnn"]["d"][i] for i in idx], [cnn[i] for i in idx]), 4)
    plot = ctx.artifact("param_counts.png")
    far = [s**L for L in range(1, 31)]
    line_plot(
        plot,
        title=f"select(d, k={k}, s={s}): tree-layer parameters (no biases)",
        xlabel="d",
        ylabel="parameters",
        window=(lo, hi),
        points=[(f"{a} built", built[a]["d"], built[a]["count"]) for a in ("cnn", "lcn", "fcn")],
        lines=[(f"{a} formula", far, [formulas[a](d, k, s) for d in far]) for a in ("cnn", "lcn", "fcn")],
    )
    violations = growth + violations
    return Result(
        "fail" if violations else "pass",
        observed={
            "cnn_increment_per_level": increments,
            "slopes": slopes,
            "max_d_built": {a: max(v["d"]) for a, v in built.items()},
            "violations": len(violations),
        },
        expected={
            "cnn": "2ks + (L-1) 4k^2 s (increment 4k^2 s per level)",
            "lcn": "sum_l d_l s C_{l-1} C_l (slope 1)",
            "fcn": "sum_l N_{l-1} N_l, N_l = d_l C_l (slope 2)",
            "cnn_increment": 4 * k * k * s,
            "window": [lo, hi],
            "slope_half_width": band.half_width,
        },
        tolerance="rate:param_count_slope",
        evidence={"counterexamples": keep(violations), "built": built, "k": k, "s": s, "plots": [plot.name]},
        note="counts compared exactly with the formulas; slopes fitted over the declared window only; "
        "the CNN slope against d is shown for information (it tends to 0)",
    )
