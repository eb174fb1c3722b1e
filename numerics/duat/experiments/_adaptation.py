"""LoRA adaptation and magnitude pruning of CNNs pretrained on the bar-relation task (DUAT E18, E19 empirical).

Both experiments start from the same pretrained ensembles (cached in-process by configuration). The shifted task of
the LoRA experiment is the same task on images rotated by 90 degrees: the horizontal bar becomes vertical and
"left" becomes "bottom", so the relation the pretrained filters detect no longer predicts the label and the conv
kernels, not only the readout, must change. Source: claims duat.E18 and duat.E19 (docs/catalogue.md); the
experiments are ours.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import torch

from ..._errors import bad
from ..._threads import torch_threads
from ._models import ConvArch, Params, add_lora, init_params
from ._train import TaskData, TrainSpec, check_seeds, evaluate, sub_seed, task_data, train

PRETRAIN_ARCH = ConvArch((8, 8, 8, 8), pools=(0, 1, 2))
"""The pretrained CNN: four 3 x 3 conv layers of width 8, max-pool after the first three (global receptive field
on 16 x 16 images)."""


@functools.lru_cache(maxsize=4)
def _pretrained(
    arch: ConvArch,
    seeds: tuple[int, ...],
    side: int,
    noise: float,
    n_train: int,
    n_test: int,
    spec: TrainSpec,
    dtype: torch.dtype,
    device: str,
) -> tuple[Params, TaskData, TaskData, list[float]]:
    """Models trained on the task, their data and test accuracies (cached; callers must not mutate the tensors)."""
    tr, te = task_data(seeds, side, noise, n_train, n_test, dtype, device)
    params = init_params(arch, tuple(sub_seed(s, "init-pretrain") for s in seeds), dtype=dtype, device=device)
    params, log = train(arch, params, list(params), tr, spec, seed=sub_seed(seeds[0], "batches-pretrain"), test_data=te)
    return params, tr, te, log["test_acc"]


def _config(
    arch: ConvArch,
    side: int,
    noise: float,
    n_train: int,
    n_test: int,
    pretrain: TrainSpec,
    dtype: torch.dtype,
    device: str,
) -> dict[str, Any]:
    return {
        "widths": list(arch.widths),
        "pools": list(arch.pools),
        "params": arch.param_count(),
        "side": side,
        "noise": noise,
        "n_train": n_train,
        "n_test": n_test,
        "pretrain_steps": pretrain.steps,
        "batch": pretrain.batch,
        "lr": pretrain.lr,
        "dtype": str(dtype),
        "device": device,
    }


def lora_experiment(
    *,
    ranks: Sequence[int] = (1, 2, 4, 8),
    arch: ConvArch = PRETRAIN_ARCH,
    side: int = 16,
    noise: float = 0.5,
    n_train: int = 2000,
    n_test: int = 1000,
    seeds: Sequence[int] = range(5),
    pretrain: TrainSpec = TrainSpec(800, batch=32, lr=1e-2),
    adapt: TrainSpec = TrainSpec(300, batch=32, lr=1e-2),
    dtype: torch.dtype = torch.float32,
    device: str = "cpu",
    threads: int = 1,
) -> dict[str, Any]:
    """Accuracy on the rotated task after adapting a pretrained CNN: none, readout only, LoRA rank r, full (E18).

    LoRA adapts every conv kernel by ``reshape(B A)`` of rank ``r`` (:func:`add_lora`) and trains the readout; the
    base kernels and biases stay frozen. "head" trains the readout only; "full" trains every parameter. All
    variants use the same adaptation budget ``adapt`` and the same rotated training set.

    Returns:
        ``{"ranks", "max_rank" (per layer, min(C_out, C_in k^2)), "trainable" (per variant), "test_acc"
        (variant -> per seed), "pretrain_test_acc", "seeds", "config"}``; variants
        are ``"none"``, ``"head"``, ``"r=<r>"`` for each rank and ``"full"``.
    """
    seeds = check_seeds(seeds)
    if not ranks or any(isinstance(r, bool) or not isinstance(r, int) or r < 1 for r in ranks):
        raise bad("ranks", ranks, "a non-empty sequence of ints >= 1")
    with torch_threads(threads):
        base, tr, te, pre_acc = _pretrained(arch, seeds, side, noise, n_train, n_test, pretrain, dtype, device)
        tr_rot, te_rot = tr.rotated(), te.rotated()
        head = ["head_w", "head_b"]
        variants: dict[str, tuple[Params, list[str]]] = {"head": (base, head)}
        for r in ranks:
            lora = add_lora(arch, base, r, seed=sub_seed(seeds[0], f"lora{r}"))
            variants[f"r={r}"] = (lora, head + [k for k in lora if k.startswith("lora_")])
        variants["full"] = (base, list(base))
        acc = {"none": evaluate(arch, base, te_rot)[1].tolist()}
        trainable = {"none": 0}
        for name, (params, names) in variants.items():
            _, log = train(
                arch, params, names, tr_rot, adapt, seed=sub_seed(seeds[0], f"adapt-{name}"), test_data=te_rot
            )
            acc[name] = log["test_acc"]
            trainable[name] = sum(params[k][0].numel() for k in names)
    return {
        "ranks": list(ranks),
        "max_rank": [min(w, arch.channels_in(l) * 9) for l, w in enumerate(arch.widths)],
        "trainable": trainable,
        "test_acc": acc,
        "pretrain_test_acc": pre_acc,
        "seeds": list(seeds),
        "config": {
            **_config(arch, side, noise, n_train, n_test, pretrain, dtype, device),
            "adapt_steps": adapt.steps,
            "adapt_lr": adapt.lr,
            "shift": "images rotated by 90 degrees",
        },
    }


def magnitude_masks(arch: ConvArch, params: Params, ratio: float) -> dict[int, torch.Tensor]:
    """Global magnitude pruning per model: zero the fraction ``ratio`` of conv kernel entries of smallest ``|w|``.

    Ties at the threshold are broken by index order (``torch.topk`` on the flattened weights), so exactly
    ``round(ratio * n)`` entries of each model's ``n`` conv weights are removed.

    Returns:
        layer -> 0/1 mask of the kernel's shape ``(M, C_out, C_in, K, K)``.
    """
    if not (isinstance(ratio, (int, float)) and 0 <= ratio <= 1):
        raise bad("ratio", ratio, "a number in [0, 1]")
    flat = torch.cat([params[f"w{l}"].abs().reshape(params["w0"].shape[0], -1) for l in range(arch.depth)], dim=1)
    k = round(ratio * flat.shape[1])
    keep = torch.ones_like(flat)
    if k:
        keep.scatter_(1, torch.topk(flat, k, dim=1, largest=False).indices, 0.0)
    masks, start = {}, 0
    for l in range(arch.depth):
        w = params[f"w{l}"]
        n = w[0].numel()
        masks[l] = keep[:, start : start + n].reshape(w.shape)
        start += n
    return masks


def pruning_experiment(
    *,
    ratios: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 0.9, 0.95),
    arch: ConvArch = PRETRAIN_ARCH,
    side: int = 16,
    noise: float = 0.5,
    n_train: int = 2000,
    n_test: int = 1000,
    seeds: Sequence[int] = range(5),
    pretrain: TrainSpec = TrainSpec(800, batch=32, lr=1e-2),
    finetune: TrainSpec | None = None,
    dtype: torch.dtype = torch.float32,
    device: str = "cpu",
    threads: int = 1,
) -> dict[str, Any]:
    """Test accuracy of pretrained CNNs after global magnitude pruning of their conv kernels (E19).

    Without retraining; with ``finetune``, also after a short fine-tune of the surviving weights (masks fixed).

    Returns:
        ``{"ratios", "test_acc" (per ratio, per seed), "finetuned_test_acc" (or None), "seeds", "config"}``.
    """
    seeds = check_seeds(seeds)
    if not ratios or any(not (isinstance(r, (int, float)) and 0 <= r <= 1) for r in ratios):
        raise bad("ratios", ratios, "a non-empty sequence of numbers in [0, 1]")
    with torch_threads(threads):
        base, tr, te, _ = _pretrained(arch, seeds, side, noise, n_train, n_test, pretrain, dtype, device)
        acc, tuned = [], []
        for ratio in ratios:
            masks = magnitude_masks(arch, base, ratio)
            acc.append(evaluate(arch, base, te, masks)[1].tolist())
            if finetune is not None:
                _, log = train(
                    arch,
                    base,
                    list(base),
                    tr,
                    finetune,
                    seed=sub_seed(seeds[0], f"prune{ratio}"),
                    test_data=te,
                    masks=masks,
                )
                tuned.append(log["test_acc"])
    return {
        "ratios": list(ratios),
        "test_acc": acc,
        "finetuned_test_acc": tuned if finetune is not None else None,
        "seeds": list(seeds),
        "config": {
            **_config(arch, side, noise, n_train, n_test, pretrain, dtype, device),
            "finetune_steps": finetune.steps if finetune is not None else 0,
            "pruned": "conv kernels, global per model (biases and readout kept)",
        },
    }
