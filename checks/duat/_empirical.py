"""The DUAT empirical claims (E16, E17, empirical parts of E18 and E19) and the not-testable ones (E22, informal steps).

Each empirical claim trains small seeded CNN ensembles on the bar-relation task (``numerics.duat.experiments._task``: our
reconstruction of a task that needs global information) and applies a criterion declared in ``expected``
before anything runs; it passes only when that criterion is met and fails with the numbers otherwise. The
paper's statements are informal ("the paper's apparent claim", docs/catalogue.md), so each is tested as
an empirical trend, not a law.

Kind: ``'numerical'``. ``'empirical-rate'`` is reserved for rate claims checked by a log-log slope over a
declared window with a ``'rate:<band>'`` tolerance (docs/soundness.md); these claims compare seeded
measurements (means and seed spreads) under a declared decision rule, with tolerance ``None``.

Profiles: ``full`` uses 16 x 16 images and 5 seeds (more steps); ``quick`` is a reduced version (12 x 12 images,
3 seeds, fewer steps) and says so in its note. Model seeds are ``1000 * ctx.seed + i``, so E18 and E19 share
their pretrained models. float32 on the CPU, one torch thread.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from numerics.duat.experiments import (
    ConvArch,
    TrainSpec,
    depth_experiment,
    lora_experiment,
    pruning_experiment,
    residual_experiment,
    spread,
)

from .._errors import bad
from ..claims import Context, Result
from ..expect import errorbar_plot

QUICK_NOTE = "quick profile: a reduced run (12x12 images, 3 seeds, fewer steps); --profile full: 16x16, 5 seeds"
MAX_PARAM_MISMATCH = 0.10
"""Largest relative difference of a depth's parameter count from the target (matched parameters, E16)."""
SIGMAS = 1.0
"""Decision margin in pooled seed standard deviations: a difference of means counts only beyond 1 pooled sd
(about 1.6 standard errors of the difference for 5 seeds: a trend criterion, not a significance test)."""
MIN_EFFECT = 0.05
"""Smallest difference of mean accuracies that counts as a trend: models at chance on 500 test images scatter by
about 0.022 each, so their means differ by up to ~0.05 by luck, which a 1-sd margin over 3 seeds does not exclude."""

PROFILES: dict[str, dict[str, Any]] = {
    "quick": {
        "seeds": 3,
        "side": 12,
        "depth": {
            "depths": (1, 2, 3, 4),
            "target_params": 400,
            "n_train": 1000,
            "n_test": 500,
            "spec": TrainSpec(200, batch=32, lr=1e-2),
        },
        "residual": {
            "blocks": 4,
            "width": 6,
            "n_train": 300,
            "n_test": 500,
            "loss_target": 0.2,
            "spec": TrainSpec(800, batch=32, lr=3e-3, eval_every=25),
        },
        "pretrained": {
            "arch": ConvArch((6, 6, 6, 6), pools=(0, 1)),
            "n_train": 1000,
            "n_test": 500,
            "pretrain": TrainSpec(200, batch=32, lr=1e-2),
        },
        "adapt": TrainSpec(150, batch=32, lr=1e-2),
        "finetune": None,
    },
    "full": {
        "seeds": 5,
        "side": 16,
        "depth": {
            "depths": (1, 2, 3, 4),
            "target_params": 800,
            "n_train": 2000,
            "n_test": 1000,
            "spec": TrainSpec(600, batch=32, lr=1e-2),
        },
        "residual": {
            "blocks": 4,
            "width": 8,
            "n_train": 500,
            "n_test": 1000,
            "loss_target": 0.2,
            "spec": TrainSpec(1500, batch=32, lr=3e-3, eval_every=25),
        },
        "pretrained": {
            "arch": ConvArch((8, 8, 8, 8), pools=(0, 1, 2)),
            "n_train": 2000,
            "n_test": 1000,
            "pretrain": TrainSpec(800, batch=32, lr=1e-2),
        },
        "adapt": TrainSpec(300, batch=32, lr=1e-2),
        "finetune": TrainSpec(50, batch=32, lr=3e-3),
    },
}
"""Experiment sizes per profile."""


def _setup(ctx: Context) -> tuple[dict[str, Any], tuple[int, ...], str]:
    """The profile's sizes, the model seeds and the note."""
    p = PROFILES[ctx.profile]
    return p, tuple(1000 * ctx.seed + i for i in range(p["seeds"])), "" if ctx.full else QUICK_NOTE


def _with(res: Result, plot: str, note: str) -> Result:
    """``res`` with the plot file in its evidence and ``note``."""
    return Result(
        res.status,
        observed=res.observed,
        expected=res.expected,
        tolerance=res.tolerance,
        evidence={**res.evidence, "plot": plot},
        note=note.strip(),
    )


def pooled_sd(*groups: Sequence[float]) -> float:
    """``sqrt(mean of the groups' sample variances)`` (ddof 1; a one-value group contributes 0)."""
    return float(math.sqrt(np.mean([np.var(g, ddof=1) if len(g) > 1 else 0.0 for g in groups])))


def _beats(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Whether ``mean(a) - mean(b) > max(SIGMAS * pooled sd, MIN_EFFECT)``, with the numbers."""
    diff, sd = float(np.mean(a) - np.mean(b)), pooled_sd(a, b)
    margin = max(SIGMAS * sd, MIN_EFFECT)
    return {"difference": diff, "pooled_sd": sd, "margin": margin, "beats": bool(diff > margin)}


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


# ----------------------------------------------------------------------------------------------- E18, E19 empirical
LORA_FRACTION = 0.9
"""A rank "suffices" when it recovers this fraction of the full fine-tune's gain over no adaptation."""
LORA_MAX_RANK = 4
E18_EXPECTED = {
    "paper": "low-rank (LoRA) updates of a trained CNN's fixed weights suffice to adapt it",
    "criterion": f"on the shifted task (images rotated by 90 degrees) the full fine-tune beats no adaptation by more "
    f"than max({SIGMAS:g} pooled seed sd, {MIN_EFFECT}) (adaptation is needed), and some LoRA rank "
    f"r <= {LORA_MAX_RANK} recovers >= {LORA_FRACTION:.0%} of that gain in mean test accuracy",
}


def lora_verdict(exp: Mapping[str, Any]) -> Result:
    """Apply the E18 (empirical) criterion to the output of :func:`numerics.duat.experiments._adaptation.lora_experiment`."""
    acc = exp["test_acc"]
    need = _beats(acc["full"], acc["none"])
    gain = float(np.mean(acc["full"]) - np.mean(acc["none"]))
    fractions = {
        str(r): float(np.mean(acc[f"r={r}"]) - np.mean(acc["none"])) / gain if gain > 0 else math.nan
        for r in exp["ranks"]
    }
    enough = [r for r in exp["ranks"] if fractions[str(r)] >= LORA_FRACTION]
    smallest = min(enough) if enough else None
    ok = need["beats"] and smallest is not None and smallest <= LORA_MAX_RANK
    observed = {
        "test_acc": {k: spread(v) for k, v in acc.items()},
        "full - none": need,
        "fraction_of_full_gain": fractions,
        "smallest_sufficient_rank": smallest,
        "trainable_params": exp["trainable"],
        "max_rank_per_layer": exp["max_rank"],
        "pretrain_test_acc_mean": float(np.mean(exp["pretrain_test_acc"])),
    }
    return Result(
        "pass" if ok else "fail",
        observed=observed,
        expected=E18_EXPECTED,
        evidence={"test_acc_per_seed": acc, "seeds": exp["seeds"], "config": exp["config"]},
    )


def lora_adaptation(ctx: Context) -> Result:
    """E18, empirical part: accuracy on a shifted task vs LoRA rank, against no adaptation, readout only and a full
    fine-tune (``duat.E18`` joins it with the exact part)."""
    p, seeds, note = _setup(ctx)
    ctx.say(f"pretraining and adapting x {len(seeds)} seeds")
    exp = lora_experiment(**p["pretrained"], side=p["side"], seeds=seeds, adapt=p["adapt"])
    res = lora_verdict(exp)
    acc = exp["test_acc"]
    plot = errorbar_plot(
        ctx.artifact("accuracy_vs_lora_rank.png"),
        series=[("LoRA + readout", exp["ranks"], [acc[f"r={r}"] for r in exp["ranks"]])],
        refs={"full fine-tune": acc["full"], "readout only": acc["head"], "no adaptation": acc["none"]},
        title=f"E18: adaptation to rotated images ({len(seeds)} seeds)",
        xlabel="LoRA rank r",
        ylabel="test accuracy (shifted task)",
        logx=True,
        xticks={r: str(r) for r in exp["ranks"]},
    )
    return _with(
        res,
        plot,
        "LoRA on every conv kernel reshaped to (C_out, C_in k^2), base weights and biases "
        "frozen, readout trained; the same steps for every variant. " + note,
    )


PRUNE_RATIO = 0.5
MAX_PRUNE_DROP = 0.05
E19_EXPECTED = {
    "paper": "CNNs tolerate pruning because their UAT terms are redundant",
    "criterion": f"the unpruned models beat chance (0.5) by more than {MIN_EFFECT} in mean test accuracy (otherwise "
    f"tolerance to pruning is vacuous), and after global magnitude pruning of {PRUNE_RATIO:.0%} of the "
    f"conv weights, without retraining, the mean test accuracy drops by at most {MAX_PRUNE_DROP} "
    f"(absolute)",
}


def pruning_verdict(exp: Mapping[str, Any]) -> Result:
    """Apply the E19 (empirical) criterion to the output of :func:`numerics.duat.experiments._adaptation.pruning_experiment`."""
    ratios = exp["ratios"]
    if 0 not in ratios or PRUNE_RATIO not in ratios:
        raise bad("exp['ratios']", ratios, f"ratios including 0 and {PRUNE_RATIO}")
    means = [float(np.mean(a)) for a in exp["test_acc"]]
    unpruned = means[ratios.index(0)]
    drop = unpruned - means[ratios.index(PRUNE_RATIO)]
    observed = {
        "test_acc": {str(r): spread(a) for r, a in zip(ratios, exp["test_acc"])},
        "unpruned_above_chance": bool(unpruned - 0.5 > MIN_EFFECT),
        f"drop_at_{PRUNE_RATIO}": drop,
        f"largest_ratio_with_drop_<=_{MAX_PRUNE_DROP}": max(
            r for r, m in zip(ratios, means) if unpruned - m <= MAX_PRUNE_DROP
        ),
    }
    if exp["finetuned_test_acc"] is not None:
        observed["after_short_finetune"] = {str(r): spread(a) for r, a in zip(ratios, exp["finetuned_test_acc"])}
    ok = observed["unpruned_above_chance"] and drop <= MAX_PRUNE_DROP
    return Result(
        "pass" if ok else "fail",
        observed=observed,
        expected=E19_EXPECTED,
        evidence={
            "test_acc_per_seed": exp["test_acc"],
            "finetuned_per_seed": exp["finetuned_test_acc"],
            "seeds": exp["seeds"],
            "config": exp["config"],
        },
    )


def pruning_curve(ctx: Context) -> Result:
    """E19, empirical part: test accuracy vs magnitude-pruning ratio (``duat.E19`` joins it with the exact part)."""
    p, seeds, note = _setup(ctx)
    ctx.say(f"pruning pretrained models x {len(seeds)} seeds")
    exp = pruning_experiment(**p["pretrained"], side=p["side"], seeds=seeds, finetune=p["finetune"])
    res = pruning_verdict(exp)
    series = [("no retraining", exp["ratios"], exp["test_acc"])]
    if exp["finetuned_test_acc"] is not None:
        series.append(
            (f"after {exp['config']['finetune_steps']} fine-tune steps", exp["ratios"], exp["finetuned_test_acc"])
        )
    plot = errorbar_plot(
        ctx.artifact("accuracy_vs_pruning.png"),
        series=series,
        title=f"E19: global magnitude pruning of conv weights ({len(seeds)} seeds)",
        xlabel="fraction of conv weights removed",
        ylabel="test accuracy",
    )
    return _with(res, plot, "conv kernels pruned by global magnitude per model; biases and readout kept. " + note)
