"""Baselines outside the tree family, on exactly the data :func:`train_point` draws: a two-layer fully connected
ReLU network of width ``w`` (``'fcn2'``) and min-norm ordinary least squares (``'ols'``).

Used by the Fig. 2 reproduction claim (``ww.fig2.cnn_learns_sparse``): the paper's FCN baseline is a two-layer net
of width 10, not the tree-shaped ``fcn`` of :class:`TreeArch`. Same seeds, training / validation / test sets and
relative test error (test MSE against the noiseless target over ``Var(f*)``) as :func:`train_point`.

* ``fcn2``: ``x -> v . relu(W x + b) + c``, PyTorch's default ``nn.Linear`` initialisation (uniform in
  ``+-1/sqrt(fan_in)``, weights and biases) drawn from a seeded generator, trained full batch with per-coordinate
  Adam (:data:`numerics.learning.OPTIMIZERS` ``'adam'``: ``torch.optim.Adam``, ``beta1 = momentum``), the
  config's ``weight_decay`` (decoupled, as ``torch.optim.AdamW``), ``max_steps``, ``eval_every`` and ``patience``
  (best-validation checkpoint, as :func:`train_ensemble`); the learning rate per seed is chosen on validation.
* ``ols``: ``beta = pinv(X) y`` in float64 (no intercept; the minimum-norm interpolant when ``n < d``).
"""

from __future__ import annotations

import math
import time
from typing import Any, Mapping

import torch

from .._errors import bad
from .._threads import torch_threads
from ._train import _data, _seed, task_of

BASELINES = ("fcn2", "ols")


def _fcn2_init(d: int, width: int, gen: torch.Generator, dtype: torch.dtype) -> list[torch.Tensor]:
    def u(shape: tuple[int, ...], fan_in: int) -> torch.Tensor:
        return ((torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) / math.sqrt(fan_in)).to(dtype)

    return [u((d, width), d), u((width,), d), u((width,), width), u((), width)]


def _fcn2(p: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    return torch.relu(x @ p[0] + p[1]) @ p[2] + p[3]


def _train_fcn2(p: list[torch.Tensor], x, y, x_val, y_val, lr: float, tr: Mapping[str, Any]) -> tuple[list, float, int]:
    """Full-batch Adam with early stopping; returns the best-validation parameters, their val MSE and step."""
    p = [t.clone().requires_grad_(True) for t in p]
    opt = torch.optim.AdamW(
        p, lr=lr, betas=(float(tr["momentum"]), 0.999), eps=1e-8, weight_decay=float(tr.get("weight_decay", 0.0))
    )
    best, best_val, best_step, stale = [t.detach().clone() for t in p], math.inf, 0, 0
    patience, every = tr.get("patience"), int(tr["eval_every"])
    for step in range(1, int(tr["max_steps"]) + 1):
        opt.zero_grad()
        loss = ((_fcn2(p, x) - y) ** 2).mean()
        if not torch.isfinite(loss):
            break
        loss.backward()
        opt.step()
        if step % every and step != int(tr["max_steps"]):
            continue
        with torch.no_grad():
            val = float(((_fcn2(p, x_val) - y_val) ** 2).mean())
        if val < best_val:
            best, best_val, best_step, stale = [t.detach().clone() for t in p], val, step, 0
        else:
            stale += 1
            if patience is not None and stale >= int(patience):
                break
    return best, best_val, best_step


def baseline_point(
    config: Mapping[str, Any], model: str, d: int, n: int, *, width: int = 10, dtype: str = "float32"
) -> dict[str, Any]:
    """Train / solve ``model`` (``'fcn2'`` or ``'ols'``) on the data :func:`train_point` uses for ``config`` at
    ``(d, n)``, on the CPU.

    Args:
        config: as :func:`train_point` (``task``, ``task_options``, ``seeds``, ``lrs``, ``seed``, ``train`` with
            ``max_steps``, ``eval_every``, ``patience``, ``momentum``, ``n_val``, ``n_test``).
        width: hidden units of ``fcn2``. dtype: ``fcn2``'s (``ols`` is always float64).
    Returns:
        ``n``, ``d``, ``arch`` (= model), per seed ``test_rel``, ``val_rel``, ``train_rel`` (over ``Var(f*)``),
        ``lr``, ``steps`` (``ols``: lr None, steps 0), ``params``, ``dtype``, ``seconds``.
    """
    t0 = time.perf_counter()
    if model not in BASELINES:
        raise bad("model", model, " | ".join(BASELINES))
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise bad("n", n, "an int >= 1")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise bad("width", width, "an int >= 1")
    dt = torch.float64 if model == "ols" else {"float32": torch.float32, "float64": torch.float64}[dtype]
    tr, task = dict(config["train"]), task_of(config, d)
    seeds, lrs = [int(s) for s in config["seeds"]], [float(v) for v in config["lrs"]]
    base = (int(config["seed"]), task.name, task.g, task.support, d)
    cpu = torch.device("cpu")
    x_val, y_val, _ = _data(task, _seed(*base, "val"), int(tr["n_val"]), dt, cpu)
    x_test, _, f_test = _data(task, _seed(*base, "test"), int(tr["n_test"]), dt, cpu)
    var = task.variance
    out: dict[str, list] = {k: [] for k in ("test_rel", "val_rel", "train_rel", "lr", "steps")}
    # Small dense problems: a second intra-op thread only waits (numerics.learning._train.SMALL_PROBLEM).
    with torch_threads(1):
        for s in seeds:
            x, y, _ = _data(task, _seed(*base, "train", s), n, dt, cpu)
            if model == "ols":
                beta = torch.linalg.pinv(x) @ y
                f = lambda z, b=beta: z @ b  # noqa: E731
                lr, step = None, 0
            else:
                gen = torch.Generator().manual_seed(_seed(*base, model, width, "init", s))
                p0 = _fcn2_init(d, width, gen, dt)
                runs = [(_train_fcn2(p0, x, y, x_val, y_val, r, tr), r) for r in lrs]
                (p, _, step), lr = min(runs, key=lambda t: t[0][1])
                f = lambda z, p=p: _fcn2(p, z)  # noqa: E731
            with torch.no_grad():
                out["test_rel"].append(float(((f(x_test) - f_test) ** 2).mean() / var))
                out["val_rel"].append(float(((f(x_val) - y_val) ** 2).mean() / var))
                out["train_rel"].append(float(((f(x) - y) ** 2).mean() / var))
            out["lr"].append(lr)
            out["steps"].append(step)
    params = d if model == "ols" else d * width + 2 * width + 1
    return {
        "n": n,
        "d": d,
        "arch": model,
        **out,
        "params": params,
        "device": "cpu",
        "dtype": "float64" if model == "ols" else dtype,
        "seconds": time.perf_counter() - t0,
    }
