"""The DUAT empirical trends on models trained from scratch: ``duat.E16`` (depth) and ``duat.E17`` (residual).

E16 compares CNNs of several depths at a matched parameter count; E17 compares plain and residual CNNs that differ
only by the skip connection, at equal training loss. Each applies its criterion (declared in ``expected``) to a
seeded experiment of ``numerics.duat.experiments`` with the decision rule of ``_empirical.py``
(:func:`depth_verdict`, :func:`residual_verdict`), and plots accuracy with seed spread. Our reconstruction.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from numerics.duat.experiments import depth_experiment, residual_experiment, spread

from .._errors import bad
from ..claims import Context, Result
from ..expect import errorbar_plot
from ._empirical import MAX_PARAM_MISMATCH, MIN_EFFECT, SIGMAS, _beats, _setup, _with

# ----------------------------------------------------------------------------------------------- E16: depth
E16_EXPECTED = {
    "paper": "deeper CNNs generalise better (why CNNs need depth): an empirical trend on one task, not a law",
    "criterion": f"at parameter counts within {MAX_PARAM_MISMATCH:.0%} of the target, the mean test accuracy of the "
    f"deepest depth and of the middle depth depths[len // 2] each exceed depth 1's by more than "
    f"max({SIGMAS:g} pooled seed sd, {MIN_EFFECT})",
}


def depth_verdict(exp: Mapping[str, Any]) -> Result:
    """Apply the E16 criterion to the output of :func:`numerics.duat.experiments._trends.depth_experiment`."""
    depths, accs = exp["depths"], exp["test_acc"]
    if depths[0] != 1:
        raise bad("exp['depths']", depths, "depths starting with 1 (the baseline)")
    target = exp["config"]["target_params"]
    mismatch = max(abs(p - target) / target for p in exp["params"])
    compared = sorted({len(depths) // 2, len(depths) - 1} - {0})
    comps = {f"depth {depths[i]} - depth 1": _beats(accs[i], accs[0]) for i in compared}
    ok = mismatch <= MAX_PARAM_MISMATCH and all(c["beats"] for c in comps.values())
    observed = {
        "depths": depths,
        "params": exp["params"],
        "param_mismatch_max": mismatch,
        "widths": exp["widths"],
        "receptive_field": exp["receptive_field"],
        "image_side": exp["config"]["side"],
        "test_acc": {str(d): spread(a) for d, a in zip(depths, accs)},
        "train_acc_mean": [float(np.mean(a)) for a in exp["train_acc"]],
        "comparisons": comps,
    }
    return Result(
        "pass" if ok else "fail",
        observed=observed,
        expected=E16_EXPECTED,
        tolerance=None,
        evidence={"test_acc_per_seed": accs, "seeds": exp["seeds"], "config": exp["config"]},
    )


def depth_trend(ctx: Context) -> Result:
    """``duat.E16``: test accuracy vs depth at matched parameter count, with seed spread and a plot."""
    p, seeds, note = _setup(ctx)
    ctx.say(f"training depths {p['depth']['depths']} x {len(seeds)} seeds")
    exp = depth_experiment(**p["depth"], side=p["side"], seeds=seeds)
    res = depth_verdict(exp)
    plot = errorbar_plot(
        ctx.artifact("accuracy_vs_depth.png"),
        series=[("test accuracy", exp["depths"], exp["test_acc"])],
        title=f"E16: accuracy vs depth at ~{exp['config']['target_params']} parameters ({len(seeds)} seeds)",
        xlabel="depth (conv layers)",
        ylabel="test accuracy",
        xticks={d: f"{d}\n({n} p.)" for d, n in zip(exp["depths"], exp["params"])},
    )
    return _with(
        res,
        plot,
        "depth 1 cannot see the relation by construction (no 3x3 window sees both bars; "
        "without noise its output is the same for every image); the trend says whether training finds the "
        "deeper models' advantage. " + note,
    )


# ----------------------------------------------------------------------------------------------- E17: residual
E17_EXPECTED = {
    "paper": "residual networks generalise better than plain (VGG-style) ones: an empirical trend",
    "criterion": f"plain and residual CNNs of equal depth, width and initial weights (skip ablated only), each "
    f"evaluated at its first full-training-loss <= loss_target: residual mean test accuracy exceeds plain "
    f"by more than max({SIGMAS:g} pooled seed sd, {MIN_EFFECT}); every model must reach the target "
    f"(else unknown)",
}


def residual_verdict(exp: Mapping[str, Any]) -> Result:
    """Apply the E17 criterion to the output of :func:`numerics.duat.experiments._trends.residual_experiment`."""
    plain, res = exp["variants"]["plain"], exp["variants"]["residual"]
    observed: dict[str, Any] = {
        "depth": exp["depth"],
        "params": exp["params"],
        "loss_target": exp["config"]["loss_target"],
    }
    for name, v in exp["variants"].items():
        observed[f"{name}_test_acc_at_target"] = spread(v["target_test_acc"])
        observed[f"{name}_steps_to_target"] = spread([s if s >= 0 else math.nan for s in v["target_step"]])
        observed[f"{name}_train_loss_at_target"] = v["target_train_loss"]
    evidence = {"plain": plain, "residual": res, "seeds": exp["seeds"], "config": exp["config"]}
    if not (all(plain["reached"]) and all(res["reached"])):
        return Result(
            "unknown",
            observed=observed,
            expected=E17_EXPECTED,
            evidence=evidence,
            note="some model never reached the training-loss target, so the comparison at equal training "
            "loss could not be made (an optimisation gap, not a generalisation one)",
        )
    comp = _beats(res["target_test_acc"], plain["target_test_acc"])
    observed["residual - plain"] = comp
    return Result("pass" if comp["beats"] else "fail", observed=observed, expected=E17_EXPECTED, evidence=evidence)


def residual_trend(ctx: Context) -> Result:
    """``duat.E17``: plain vs residual at equal depth and training loss, with seed spread and a plot."""
    p, seeds, note = _setup(ctx)
    ctx.say(f"training plain and residual x {len(seeds)} seeds")
    exp = residual_experiment(**p["residual"], side=p["side"], seeds=seeds)
    res = residual_verdict(exp)
    v = exp["variants"]
    plot = errorbar_plot(
        ctx.artifact("plain_vs_residual.png"),
        series=[
            (
                "test accuracy at equal training loss",
                [0, 1],
                [v["plain"]["target_test_acc"], v["residual"]["target_test_acc"]],
            )
        ],
        title=f"E17: depth {exp['depth']}, training loss <= {exp['config']['loss_target']} ({len(seeds)} seeds)",
        xlabel="variant (skip connection ablated only)",
        ylabel="test accuracy",
        xticks={0: "plain", 1: "residual"},
    )
    return _with(
        res,
        plot,
        f"training set of {exp['config']['n_train']} images per model, so the gap between "
        "training and test accuracy is large. " + note,
    )
