"""The DUAT empirical experiments: accuracy vs depth, plain vs residual, LoRA rank, magnitude pruning.

Each function trains seed-stacked CNN ensembles (:mod:`numerics.duat.experiments._models`) on the bar-relation task
(:func:`numerics.duat.experiments._task.bars_task`) and returns a plain JSON-able dict of per-seed numbers; the claims
(``checks.duat._trends``, ``checks.duat._pretrained``) apply the declared criteria. float32 on the CPU by default (``device='cuda'`` is
accepted), one torch thread by default: on a shared 2-core machine, intra-op threads spin-waiting on these tiny
kernels made training 10-40x slower in our measurements. Source: claims duat.E16-E19
(docs/catalogue.md; the experiments are ours; the paper's own could not be read).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch

from ..._threads import torch_threads
from ._models import ConvArch, init_params, matched_arch
from ._train import TrainSpec, check_seeds, sub_seed, task_data, train


def _pools(depth: int, side: int) -> tuple[int, ...]:
    """Max-pool after every layer but the last, while the feature map stays at least 2 x 2."""
    return tuple(range(min(depth - 1, int(math.log2(side // 2)))))


def depth_experiment(
    *,
    depths: Sequence[int] = (1, 2, 3, 4),
    target_params: int = 800,
    side: int = 16,
    noise: float = 0.5,
    n_train: int = 2000,
    n_test: int = 1000,
    seeds: Sequence[int] = range(5),
    spec: TrainSpec = TrainSpec(600, batch=32, lr=1e-2),
    dtype: torch.dtype = torch.float32,
    device: str = "cpu",
    threads: int = 1,
) -> dict[str, Any]:
    """Test accuracy of plain CNNs of each depth at a matched parameter count (E16).

    Depth ``L``: ``L`` conv layers (2 x 2 max-pool after all but the last while the map stays >= 2 x 2), widths
    from :func:`matched_arch` so the count is nearest ``target_params``.

    Returns:
        ``{"depths", "widths", "params", "receptive_field", "test_acc" (per depth, per seed), "train_acc",
        "seeds", "config"}``.
    """
    seeds = check_seeds(seeds)
    out: dict[str, Any] = {
        "depths": list(depths),
        "widths": [],
        "params": [],
        "receptive_field": [],
        "test_acc": [],
        "train_acc": [],
        "seeds": list(seeds),
    }
    with torch_threads(threads):
        tr, te = task_data(seeds, side, noise, n_train, n_test, dtype, device)
        for depth in depths:
            arch = matched_arch(depth, target_params, pools=_pools(depth, side))
            params = init_params(
                arch, tuple(sub_seed(s, f"init-depth{depth}") for s in seeds), dtype=dtype, device=device
            )
            _, log = train(
                arch, params, list(params), tr, spec, seed=sub_seed(seeds[0], f"batches{depth}"), test_data=te
            )
            out["widths"].append(list(arch.widths))
            out["params"].append(arch.param_count())
            out["receptive_field"].append(arch.receptive_field())
            out["test_acc"].append(log["test_acc"])
            out["train_acc"].append(log["train_acc"])
    out["config"] = {
        "side": side,
        "noise": noise,
        "n_train": n_train,
        "n_test": n_test,
        "target_params": target_params,
        "steps": spec.steps,
        "batch": spec.batch,
        "lr": spec.lr,
        "dtype": str(dtype),
        "device": device,
    }
    return out


def residual_arch(blocks: int, width: int, side: int, *, residual: bool) -> ConvArch:
    """Stem conv, then ``blocks`` two-conv blocks (depth ``1 + 2 blocks``), a max-pool after the stem and after each
    block while the map stays >= 2 x 2; ``residual`` adds the identity skip of every block (nothing else changes)."""
    depth = 1 + 2 * blocks
    ends = [0] + [2 * b + 2 for b in range(blocks - 1)]
    pools = tuple(ends[: int(math.log2(side // 2))])
    skips = tuple(2 * b + 2 for b in range(blocks)) if residual else ()
    return ConvArch((width,) * depth, pools=pools, skips=skips)


def residual_experiment(
    *,
    blocks: int = 4,
    width: int = 8,
    side: int = 16,
    noise: float = 0.5,
    n_train: int = 500,
    n_test: int = 1000,
    seeds: Sequence[int] = range(5),
    loss_target: float = 0.2,
    spec: TrainSpec = TrainSpec(1500, batch=32, lr=3e-3, eval_every=25),
    dtype: torch.dtype = torch.float32,
    device: str = "cpu",
    threads: int = 1,
) -> dict[str, Any]:
    """Plain vs residual CNNs of equal depth and width, compared at equal training loss (E17).

    Both variants of :func:`residual_arch` start from the same initial weights (the skip is the only
    difference) and train on the same data until each model's full training loss is <= ``loss_target`` (checked
    every ``spec.eval_every`` steps) or ``spec.steps`` run out. The test accuracy at that moment separates
    generalisation from optimisation; steps-to-target measures optimisation.

    Returns:
        ``{"variants": {"plain"|"residual": {"target_step", "target_train_loss", "target_test_acc", "test_acc",
        "train_loss", "reached"}}, "depth", "params", "seeds", "config"}``; per-seed lists, NaN (step -1) where the
        target was not reached.
    """
    seeds = check_seeds(seeds)
    spec = TrainSpec(
        spec.steps, batch=spec.batch, lr=spec.lr, eval_every=spec.eval_every or 25, loss_target=loss_target
    )
    out: dict[str, Any] = {"variants": {}, "seeds": list(seeds)}
    with torch_threads(threads):
        tr, te = task_data(seeds, side, noise, n_train, n_test, dtype, device)
        for name in ("plain", "residual"):
            arch = residual_arch(blocks, width, side, residual=name == "residual")
            params = init_params(arch, tuple(sub_seed(s, "init-residual") for s in seeds), dtype=dtype, device=device)
            _, log = train(
                arch, params, list(params), tr, spec, seed=sub_seed(seeds[0], "batches-residual"), test_data=te
            )
            out["variants"][name] = {
                **{
                    k: log[k] for k in ("target_step", "target_train_loss", "target_test_acc", "test_acc", "train_loss")
                },
                "reached": [s >= 0 for s in log["target_step"]],
            }
            out["depth"], out["params"] = arch.depth, arch.param_count()
    out["config"] = {
        "blocks": blocks,
        "width": width,
        "side": side,
        "noise": noise,
        "n_train": n_train,
        "n_test": n_test,
        "loss_target": loss_target,
        "max_steps": spec.steps,
        "eval_every": spec.eval_every,
        "batch": spec.batch,
        "lr": spec.lr,
        "dtype": str(dtype),
        "device": device,
    }
    return out
