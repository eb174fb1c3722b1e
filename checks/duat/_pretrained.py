"""The empirical parts of ``duat.E18`` (LoRA adaptation) and ``duat.E19`` (pruning), on pretrained models.

Both start from the same seeded pretrained CNNs (model seeds shared, ``_empirical.py``): E18 adapts them to a
shifted task (rotated images) with LoRA updates of increasing rank, E19 prunes their conv weights by global
magnitude. Each applies its declared criterion (:func:`lora_verdict`, :func:`pruning_verdict`) and plots accuracy
with seed spread; ``_adaptation.py`` joins each with its exact part. Our reconstruction.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from numerics.duat.experiments import lora_experiment, pruning_experiment, spread

from .._errors import bad
from ..claims import Context, Result
from ..expect import errorbar_plot
from ._empirical import MIN_EFFECT, SIGMAS, _beats, _setup, _with

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
