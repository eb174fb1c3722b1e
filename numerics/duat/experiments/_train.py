"""Training and evaluation of seed-stacked CNN ensembles on the bar-relation task (DUAT empirical claims).

Model ``m`` of an ensemble has its own initialisation, its own training set and its own test set, each drawn from
its seed; one Adam step on the sum of the models' mean cross-entropies updates every model by its own gradient
(Adam is elementwise, so the models do not interact). float32 on the CPU by default: these are training-trend
measurements, not identities (claims duat.E16-E19, docs/catalogue.md).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..._errors import bad
from ._models import ConvArch, Params, forward
from ._task import bars_task


def sub_seed(seed: int, tag: str) -> int:
    """A derived seed for stream ``tag`` (deterministic; independent streams for different tags)."""
    return zlib.crc32(f"{seed}/{tag}".encode()) & 0x7FFFFFFF


@dataclass(frozen=True)
class TaskData:
    """One data set per model, stacked along channels: ``x (n, M, side, side)``, ``y (n, M)``."""

    x: torch.Tensor
    y: torch.Tensor

    def __post_init__(self) -> None:
        if self.x.dim() != 4 or self.y.shape != self.x.shape[:2]:
            raise bad("x, y", (tuple(self.x.shape), tuple(self.y.shape)), "x (n, M, H, W) and y (n, M)")

    @property
    def n(self) -> int:
        """Examples per model."""
        return int(self.x.shape[0])

    def rotated(self) -> "TaskData":
        """Every image rotated by 90 degrees (the shifted task of the LoRA experiment), labels unchanged."""
        return TaskData(torch.rot90(self.x, 1, dims=(2, 3)).contiguous(), self.y)


def make_data(
    seeds: Sequence[int], tag: str, n: int, *, side: int, noise: float, dtype: torch.dtype, device: str | torch.device
) -> TaskData:
    """``bars_task`` sets for each model seed, drawn from ``sub_seed(seed, tag)`` and stacked.

    Shape:
        x: ``(n, len(seeds), side, side)``; y: ``(n, len(seeds))``.
    """
    parts = [bars_task(n, side=side, noise=noise, seed=sub_seed(s, tag), dtype=dtype, device=device) for s in seeds]
    return TaskData(torch.cat([p[0] for p in parts], dim=1), torch.stack([p[1] for p in parts], dim=1))


@torch.no_grad()
def evaluate(
    arch: ConvArch, params: Params, data: TaskData, masks: Mapping[int, torch.Tensor] | None = None, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy and accuracy of every model on its own data.

    Returns:
        ``(loss, accuracy)``, float64 arrays of shape ``(M,)``.
    """
    m = data.y.shape[1]
    loss = torch.zeros(m, dtype=torch.float64)
    hits = torch.zeros(m, dtype=torch.float64)
    for i in range(0, data.n, chunk):
        logits = forward(arch, params, data.x[i : i + chunk], masks)
        y = data.y[i : i + chunk]
        ce = F.cross_entropy(logits.reshape(-1, arch.classes), y.reshape(-1), reduction="none").reshape(y.shape)
        loss += ce.sum(0).double().cpu()
        hits += (logits.argmax(-1) == y).sum(0).double().cpu()
    return (loss / data.n).numpy(), (hits / data.n).numpy()


@dataclass(frozen=True)
class TrainSpec:
    """How to train: Adam steps, batch size, learning rate, evaluation period and an optional loss target.

    Attributes:
        steps: number of Adam steps (>= 1). batch: examples per step and model. lr: Adam learning rate.
        eval_every: evaluate the training loss every this many steps (0: only at the end).
        loss_target: if set, record for each model the first evaluation with training loss <= it.
    """

    steps: int
    batch: int = 64
    lr: float = 3e-3
    eval_every: int = 0
    loss_target: float | None = None

    def __post_init__(self) -> None:
        for name in ("steps", "batch"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise bad(name, v, "an int >= 1")
        if isinstance(self.eval_every, bool) or not isinstance(self.eval_every, int) or self.eval_every < 0:
            raise bad("eval_every", self.eval_every, "an int >= 0")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < math.inf):
            raise bad("lr", self.lr, "a finite number > 0")
        if self.loss_target is not None and not (isinstance(self.loss_target, (int, float)) and self.loss_target > 0):
            raise bad("loss_target", self.loss_target, "None or a number > 0")
        if self.loss_target is not None and self.eval_every == 0:
            raise bad("eval_every", self.eval_every, "an int >= 1 when loss_target is set (the loss is checked then)")


def train(
    arch: ConvArch,
    params: Params,
    trainable: Sequence[str],
    train_data: TaskData,
    spec: TrainSpec,
    *,
    seed: int,
    test_data: TaskData | None = None,
    masks: Mapping[int, torch.Tensor] | None = None,
) -> tuple[Params, dict[str, Any]]:
    """Train the named parameters of every model on its own training set with Adam.

    Loss: ``sum_m mean_batch CE(forward(x)[:, m], y[:, m])``. With ``spec.loss_target``, each model's
    first evaluation at or below the target records the step, the training loss and (with ``test_data``) the test
    accuracy there, so models can be compared at equal training loss.

    Returns:
        ``(params, log)``: new parameters (the trainable ones updated, all detached) and a dict with
        ``train_loss``, ``train_acc`` (final, per model), ``test_acc`` (final, with ``test_data``), and with a loss
        target ``target_step`` (per model, -1 where not reached), ``target_train_loss``, ``target_test_acc``.
    """
    unknown = [k for k in trainable if k not in params]
    if unknown:
        raise bad("trainable", unknown, f"names of params {sorted(params)}")
    params = {k: v.detach().clone().requires_grad_(k in trainable) for k, v in params.items()}
    opt = torch.optim.Adam([params[k] for k in trainable], lr=spec.lr)
    g = torch.Generator().manual_seed(seed)
    m = train_data.y.shape[1]
    target_step = np.full(m, -1)
    target_loss = np.full(m, np.nan)
    target_acc = np.full(m, np.nan)
    for step in range(1, spec.steps + 1):
        idx = torch.randint(0, train_data.n, (spec.batch,), generator=g).to(train_data.x.device)
        logits = forward(arch, params, train_data.x[idx], masks)
        y = train_data.y[idx]
        loss = F.cross_entropy(logits.reshape(-1, arch.classes), y.reshape(-1), reduction="sum") / spec.batch
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if spec.loss_target is not None and spec.eval_every and (step % spec.eval_every == 0 or step == spec.steps):
            tr_loss, _ = evaluate(arch, params, train_data, masks)
            new = (target_step < 0) & (tr_loss <= spec.loss_target)
            if new.any():
                target_step[new] = step
                target_loss[new] = tr_loss[new]
                if test_data is not None:
                    target_acc[new] = evaluate(arch, params, test_data, masks)[1][new]
            if (target_step >= 0).all():
                break
    params = {k: v.detach() for k, v in params.items()}
    tr_loss, tr_acc = evaluate(arch, params, train_data, masks)
    log: dict[str, Any] = {"steps_run": step, "train_loss": tr_loss.tolist(), "train_acc": tr_acc.tolist()}
    if test_data is not None:
        log["test_acc"] = evaluate(arch, params, test_data, masks)[1].tolist()
    if spec.loss_target is not None:
        log.update(
            target_step=target_step.tolist(),
            target_train_loss=target_loss.tolist(),
            target_test_acc=target_acc.tolist(),
        )
    return params, log


def spread(values: Sequence[float]) -> dict[str, float]:
    """``mean``, ``sd`` (sample, ddof 1; 0 for one value), ``min``, ``max`` and ``n`` of finite ``values``
    (non-finite ones are counted in ``missing``)."""
    v = np.asarray(values, dtype=float)
    ok = v[np.isfinite(v)]
    if ok.size == 0:
        return {"mean": math.nan, "sd": math.nan, "min": math.nan, "max": math.nan, "n": 0, "missing": int(v.size)}
    return {
        "mean": float(ok.mean()),
        "sd": float(ok.std(ddof=1)) if ok.size > 1 else 0.0,
        "min": float(ok.min()),
        "max": float(ok.max()),
        "n": int(ok.size),
        "missing": int(v.size - ok.size),
    }


def check_seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    """``seeds`` as a tuple. Raises NumericsError unless they are distinct ints >= 0 (at least one)."""
    seeds = tuple(seeds)
    if (
        not seeds
        or len(set(seeds)) != len(seeds)
        or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds)
    ):
        raise bad("seeds", seeds, "a non-empty sequence of distinct ints >= 0")
    return seeds


def task_data(
    seeds: tuple[int, ...], side: int, noise: float, n_train: int, n_test: int, dtype: torch.dtype, device: str
) -> tuple[TaskData, TaskData]:
    """Training and test sets of every model (streams ``'train'`` and ``'test'`` of each seed)."""
    return (
        make_data(seeds, "train", n_train, side=side, noise=noise, dtype=dtype, device=device),
        make_data(seeds, "test", n_test, side=side, noise=noise, dtype=dtype, device=device),
    )
