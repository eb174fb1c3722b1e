"""Training of a vectorised ensemble, and one grid point of the separation sweep.

The optimizers (``gd``, ``sgd``, ``adam-tensor``, ``adam``), weight decay, minibatches, and which of them keep the
O(d)- / block-equivariance the lower-bound claims need, are described in :mod:`numerics.learning._optim`.

Early stopping: every ``eval_every`` steps each member's validation error is measured on a fixed validation set
(not counted in ``n``); each member keeps its best checkpoint and stops counting after ``patience`` evaluations
without improvement; training ends when every member has stopped or after ``max_steps``. Stopped (and diverged)
members are dropped from the batch at the next evaluation, so a member costs the steps it trains, as it would alone.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any, Mapping

import numpy as np
import torch

from .._errors import bad
from .._threads import torch_threads
from ..convert import resolve_device, resolve_dtype
from ._optim import PROTOCOL_DEFAULTS, MinibatchOrder, TrainSettings, apply_update, init_state
from ._tasks import Task
from ._tree import TreeArch

SMALL_PROBLEM = 2**20
"""Training data (E * n * d numbers) below which CPU training runs single-threaded: the tensors are too small to
split, and a second intra-op thread only waits (18x slower measured on a loaded 2-core machine)."""


def _threads_for(x: torch.Tensor) -> int:
    """One torch intra-op thread for small CPU problems (see :data:`SMALL_PROBLEM`), else the current count."""
    small = x.device.type == "cpu" and x.numel() < SMALL_PROBLEM
    return 1 if small else torch.get_num_threads()


def train_ensemble(
    arch: TreeArch,
    params: list[torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    lrs: torch.Tensor,
    settings: TrainSettings,
    *,
    x_val: torch.Tensor | None = None,
    y_val: torch.Tensor | None = None,
    batch_seeds: list[int] | None = None,
) -> dict[str, Any]:
    """Train every member of the ensemble on its own data with its own learning rate.

    Args:
        arch: the shared topology.
        params: from :meth:`TreeArch.init`, each ``(E, ...)``; updated in place, and on return hold each member's
            best-validation checkpoint (the last iterate without a validation set).
        x, y: training data per member. Shape: ``x (E, n, d)``, ``y (E, n)``.
        lrs: learning rate per member. Shape: ``(E,)``.
        x_val, y_val: a validation set shared by all members. Shape: ``(n_val, d)``, ``(n_val,)``.
        batch_seeds: with ``settings.batch_size``, the seed of each member's minibatch order (E ints; default
            ``0 .. E-1``); unused for full-batch training.
    Returns:
        ``val`` (E,) best validation MSE (NaN without a validation set), ``steps`` (E,) steps at the best
        checkpoint (the last iterate without a validation set), ``diverged`` (E,) bool (a non-finite loss appeared),
        ``trained_steps`` (E,) gradient steps each member was computed for, ``total_steps`` int (the ensemble's).
    """
    E = params[0].shape[0]
    if x.shape[0] != E or y.shape != x.shape[:2] or lrs.shape != (E,):
        raise bad("x, y, lrs", (tuple(x.shape), tuple(y.shape), tuple(lrs.shape)), f"(E={E}, n, d), (E, n), (E,)")
    seeds = list(range(E)) if batch_seeds is None else list(batch_seeds)
    if len(seeds) != E or not all(isinstance(v, int) and not isinstance(v, bool) for v in seeds):
        raise bad("batch_seeds", batch_seeds, f"None or {E} ints (one per member)")
    if x_val is not None and y_val is None:  # (the first validation step would fail on it)
        raise bad("y_val", None, "a tensor (n_val,) when x_val is given")
    batches = None
    if settings.batch_size is not None and settings.batch_size < x.shape[1]:
        batches = MinibatchOrder(seeds, x.shape[1], settings.batch_size, x.device)
    with torch_threads(_threads_for(x)):
        return _train(arch, params, x, y, lrs, settings, x_val, y_val, batches)


def _train(
    arch: TreeArch,
    params: list[torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    lrs: torch.Tensor,
    settings: TrainSettings,
    x_val: torch.Tensor | None,
    y_val: torch.Tensor | None,
    batches: MinibatchOrder | None,
) -> dict[str, Any]:
    E, dev, dt = params[0].shape[0], x.device, x.dtype
    validate = x_val is not None
    # Per-member results, indexed by the full ensemble.
    best_val = torch.full((E,), math.inf, dtype=dt, device=dev)
    best_step = torch.zeros(E, dtype=torch.long, device=dev)
    diverged = torch.zeros(E, dtype=torch.bool, device=dev)
    trained = torch.zeros(E, dtype=torch.long, device=dev)
    best = [p.detach().clone() for p in params]
    # Working state of the members still training (``idx`` are their positions in the full ensemble): a member that
    # stops is compacted out at the next evaluation, so stopped members cost no further compute.
    idx = torch.arange(E, device=dev)
    work = [p.detach().clone().requires_grad_(True) for p in params]
    vel, sq = init_state(settings, work)
    lr, xs, ys = lrs.to(dtype=dt, device=dev), x, y
    alive = torch.ones(E, dtype=torch.bool, device=dev)
    stale = torch.zeros(E, dtype=torch.long, device=dev)
    scales = arch.scales()
    step = 0
    for step in range(1, settings.max_steps + 1):
        if batches is None:
            loss = ((arch.forward(work, xs) - ys) ** 2).mean(1)
        else:
            rows, cols = torch.arange(len(idx), device=dev)[:, None], batches.indices(step)
            loss = ((arch.forward(work, xs[rows, cols]) - ys[rows, cols]) ** 2).mean(1)
        finite = torch.isfinite(loss)
        diverged[idx] |= ~finite
        alive &= finite
        trained[idx] += 1
        grads = torch.autograd.grad(torch.where(finite, loss, 0).sum(), work)
        apply_update(settings, work, grads, vel, sq, scales, torch.where(alive, lr, 0), step)
        if step % settings.eval_every and step != settings.max_steps:
            continue
        with torch.no_grad():
            if validate:
                assert x_val is not None and y_val is not None  # validate: x_val given, so train_ensemble had y_val
                val = ((arch.forward(work, x_val[None]) - y_val) ** 2).mean(1)
                val = torch.where(torch.isfinite(val) & alive, val, math.inf)
                better = val < best_val[idx]
                best_val[idx] = torch.where(better, val, best_val[idx])
                best_step[idx] = torch.where(better, step, best_step[idx])
                stale = torch.where(better, 0, stale + 1)
                for b, p in zip(best, work):
                    b[idx[better]] = p[better]
                if settings.patience is not None:
                    alive &= stale < settings.patience
            n_alive = int(alive.sum())
            if n_alive == 0:
                break
            if n_alive < len(idx):
                if not validate:  # a member without a validation set ends at its last iterate
                    for b, p in zip(best, work):
                        b[idx[~alive]] = p[~alive]
                keep = alive.nonzero().squeeze(1)
                idx, lr, stale, alive = idx[keep], lr[keep], stale[keep], alive[keep]
                xs, ys = xs[keep], ys[keep]
                work = [p[keep].clone().requires_grad_(True) for p in work]
                vel, sq = [v[keep] for v in vel], [q[keep] for q in sq]
                if batches is not None:
                    batches.keep(keep)
    with torch.no_grad():
        if not validate:
            for b, p in zip(best, work):
                b[idx] = p
            best_val.fill_(math.nan)
            best_step.copy_(trained)
        for b, p in zip(best, params):
            p.copy_(b)
    return {"val": best_val, "steps": best_step, "diverged": diverged, "total_steps": step, "trained_steps": trained}


def _seed(*parts: Any) -> int:
    """A 63-bit seed from a tuple of plain values (stable across processes and machines)."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "big") >> 1


def _normals(seed: int, n: int, d: int) -> np.ndarray:
    """``n`` rows of ``N(0, I_d)``; the first ``m`` rows do not depend on ``n`` (nested training sets)."""
    return np.random.default_rng(seed).standard_normal((n, d))


def task_of(config: Mapping[str, Any], d: int) -> Task:
    """The :class:`Task` a sweep config describes at input size ``d``."""
    opts = dict(config.get("task_options", {}))
    return Task(
        config["task"],
        d,
        support=tuple(opts.get("support", ())),
        g=opts.get("g", "product"),
        noise=float(opts.get("noise", 0.0)),
    )


def _data(task: Task, seed: int, n: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, ...]:
    x = torch.from_numpy(_normals(seed, n, task.d))
    f = task.target(x)
    y = task.label(f, torch.from_numpy(np.random.default_rng(seed + 1).standard_normal(n)))
    return tuple(t.to(dtype=dtype, device=device) for t in (x, y, f))


_TRAIN_KEYS = ("width", "head_width", "head_layers", "max_steps", "eval_every", "momentum", "n_val", "n_test")


def _int(v: Any) -> Any:
    """An integral float as an int (JSON round trips); anything else unchanged, for the validation to judge."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def tree_of(train: Mapping[str, Any], arch: str, d: int) -> TreeArch:
    """The :class:`TreeArch` a sweep config's ``train`` dict describes at input size ``d`` (``width``,
    ``head_width``, ``head_layers``; ``s``, ``init_scale``, ``readout_init`` default to :data:`PROTOCOL_DEFAULTS`)."""
    tr = {**PROTOCOL_DEFAULTS, **train}
    return TreeArch(
        arch,
        d,
        _int(tr["s"]),
        _int(tr["width"]),
        _int(tr["head_width"]),
        _int(tr["head_layers"]),
        tr["init_scale"],
        tr["readout_init"],
    )


def train_point(
    config: Mapping[str, Any], arch: str, d: int, n: int, *, device: str = "cpu", dtype: str = "float32"
) -> dict[str, Any]:
    """Train ``seeds x lrs`` models of one architecture on ``n`` samples at input size ``d``, as one ensemble.

    Seed ``i`` fixes the training set (nested in ``n``: the ``n`` samples are the first ``n`` of one stream) and
    the initialisation (the same for every ``n`` and learning rate); the validation and test sets are fixed per
    ``(config seed, task, d)``. For each seed the learning rate with the lowest validation error is chosen.

    Args:
        config: plain dict with ``task``, ``task_options`` (``g``, ``support``, ``noise``), ``seeds`` (ints),
            ``lrs`` (floats), ``seed`` (int), ``train`` (``width``, ``head_width``, ``head_layers``, ``max_steps``,
            ``eval_every``, ``patience``, ``momentum``, ``n_val``, ``n_test``; optional, at
            :data:`PROTOCOL_DEFAULTS` when absent: ``s``, ``optimizer``, ``weight_decay``, ``batch_size``,
            ``init_scale``, ``readout_init``). Seed ``i`` also fixes the minibatch order (with ``batch_size``).
        arch: ``'cnn'``, ``'lcn'`` or ``'fcn'``.
        d: input dimension (a power of ``s``); n: training-set size (>= 1).
        device: ``'cpu'``, ``'cuda'``, ``'auto'``; dtype: ``'float32'`` or ``'float64'``.
    Returns:
        JSON-able dict: ``n``, ``d``, ``arch``, per seed ``test_rel`` (test MSE against the noiseless target over
        ``Var(f*)``), ``val_rel``, ``train_rel`` (training MSE on the noisy labels over ``Var(f*)``), ``lr``,
        ``steps``; ``all_test_rel`` / ``all_val_rel`` (seeds x lrs); ``diverged`` count; ``total_steps`` (the
        ensemble's) and ``member_steps`` (summed over members); ``params``; ``seconds``.
    """
    t0 = time.perf_counter()
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise bad("n", n, "an int >= 1")
    missing = [k for k in ("task", "seeds", "lrs", "seed", "train") if k not in config] + [
        f"train.{k}" for k in _TRAIN_KEYS if k not in config.get("train", {})
    ]
    if missing:
        raise bad("config", sorted(config), f"a sweep config dict (SweepConfig.to_dict()); missing {missing}")
    tr = dict(config["train"])
    task = task_of(config, d)
    shape = tree_of(tr, arch, d)
    settings = TrainSettings.from_config(tr)
    seeds, lrs = [int(s) for s in config["seeds"]], [float(v) for v in config["lrs"]]
    if not seeds or not lrs:
        raise bad("config seeds/lrs", (seeds, lrs), "at least one seed and one learning rate")
    S, R = len(seeds), len(lrs)
    base = (int(config["seed"]), task.name, task.g, task.support, d)
    train = [_data(task, _seed(*base, "train", s), n, dt, dev) for s in seeds]
    x_val, y_val, _ = _data(task, _seed(*base, "val"), int(tr["n_val"]), dt, dev)
    x_test, _, f_test = _data(task, _seed(*base, "test"), int(tr["n_test"]), dt, dev)
    rep = lambda t: t.repeat_interleave(R, 0)  # noqa: E731  member e = seed (e // R), lr (e % R)
    x = rep(torch.stack([t[0] for t in train]))
    y = rep(torch.stack([t[1] for t in train]))
    gens = [torch.Generator().manual_seed(_seed(*base, arch, "init", s)) for s in seeds for _ in lrs]
    params = shape.init(gens, dtype=dt, device=dev)
    batch_seeds = [_seed(*base, arch, "batch", s) for s in seeds for _ in lrs]
    out = train_ensemble(
        shape,
        params,
        x,
        y,
        torch.tensor(lrs * S, dtype=dt),
        settings,
        x_val=x_val,
        y_val=y_val,
        batch_seeds=batch_seeds,
    )
    var = task.variance
    with torch.no_grad():
        test = ((shape.forward(params, x_test[None]) - f_test) ** 2).mean(1) / var
        fit = ((shape.forward(params, x) - y) ** 2).mean(1) / var
    val = (out["val"] / var).view(S, R)
    test, fit = torch.nan_to_num(test, nan=math.inf).view(S, R), fit.view(S, R)
    pick = torch.argmin(torch.nan_to_num(val, nan=math.inf), 1)
    rows = torch.arange(S, device=pick.device)
    as_list = lambda t: [float(v) for v in t.cpu().tolist()]  # noqa: E731
    return {
        "n": n,
        "d": d,
        "arch": arch,
        "test_rel": as_list(test[rows, pick]),
        "val_rel": as_list(val[rows, pick]),
        "train_rel": as_list(fit[rows, pick]),
        "lr": [lrs[int(i)] for i in pick],
        "steps": [int(v) for v in out["steps"].view(S, R)[rows, pick].tolist()],
        "all_test_rel": [as_list(r) for r in test],
        "all_val_rel": [as_list(r) for r in val],
        "diverged": int(out["diverged"].sum()),
        "total_steps": int(out["total_steps"]),
        "member_steps": int(out["trained_steps"].sum()),
        "params": shape.param_count(),
        "device": str(dev),
        "dtype": dtype,
        "seconds": time.perf_counter() - t0,
    }
