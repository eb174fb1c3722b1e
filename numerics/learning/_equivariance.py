"""Equivariance of training: the symmetry behind the CNN / LCN / FCN sample-complexity separations.

If a training algorithm started from ``W_0`` on data ``(X, y)`` yields the predictor ``f``, and started from the
transformed initialisation on ``(U X, y)`` yields ``f_U``, equivariance means ``f_U(U x) = f(x)`` for all ``x``
(after Li, Zhang & Arora 2021; reconstruction, docs/catalogue.md). For the optimizer of
:mod:`numerics.learning._train` (its update is linear in the gradient, its step size depends on gradient norms only)
this holds exactly when the first layer transforms as ``W_1 -> U W_1`` per input block:

* FCN: any ``U`` in ``O(d)`` (``W_1 (d, N_1) -> U W_1``);
* LCN: ``U = diag(U_1, ..., U_{d/s})`` with independent ``U_p`` in ``O(s)`` (``W_1[p] -> U_p W_1[p]``);
* CNN: only ``U = diag(U_0, ..., U_0)`` (``W_1 -> U_0 W_1``): with independent blocks no shared filter carries
  every ``U_p``, and the two trainings disagree.

Gaussian initialisation is invariant in law under these maps, so the algorithm (random init included) is
equivariant in distribution; here the transformed initialisation is used so the identity can be checked to float64
precision on one run.

Which protocols keep the identity (numerics.learning._optim): optimizers ``gd``, ``sgd``, ``adam-tensor``, with any
momentum and weight decay (L2 or decoupled: both linear in the weights), full batch or minibatches (both runs take
the same batches: exact here; with random batch seeds, in distribution), any ``init_scale`` and readout
initialisation (only ``W_1`` is transformed). Per-coordinate ``adam`` breaks it: its step divides each coordinate
of ``W_1`` by that coordinate's own gradient scale, which a rotation mixes (reported as ``equivariant_protocol``).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import torch

from .._errors import bad
from .._tolerances import TOLERANCES
from ._tasks import Task
from ._train import TrainSettings, train_ensemble
from ._tree import TreeArch

TRANSFORMS = ("orthogonal", "block", "shared-block")
"""``orthogonal``: Haar ``U`` in O(d); ``block``: independent Haar ``U_p`` in O(s) per patch; ``shared-block``: one
Haar ``U_0`` repeated on every patch."""


def haar_orthogonal(n: int, generator: torch.Generator) -> torch.Tensor:
    """A Haar-distributed orthogonal ``n x n`` matrix (QR of a Gaussian matrix with the sign of ``diag R`` fixed).

    Shape: ``-> (n, n)``, float64.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise bad("n", n, "an int >= 1")
    q, r = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


def transform_blocks(transform: str, d: int, s: int, generator: torch.Generator) -> list[torch.Tensor]:
    """The diagonal blocks of ``U``: one ``(d, d)`` block for ``orthogonal``, ``d / s`` blocks ``(s, s)`` otherwise."""
    if transform not in TRANSFORMS:
        raise bad("transform", transform, f"one of {TRANSFORMS}")
    if s < 1 or d % s:
        raise bad("d", d, f"a multiple of the block size s = {s}")
    if transform == "orthogonal":
        return [haar_orthogonal(d, generator)]
    if transform == "shared-block":
        return [haar_orthogonal(s, generator)] * (d // s)
    return [haar_orthogonal(s, generator) for _ in range(d // s)]


def _apply(blocks: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``U x`` for a block-diagonal ``U``. Shape: ``x (..., d) -> (..., d)``."""
    k = blocks[0].shape[0]
    parts = x.reshape(*x.shape[:-1], len(blocks), k)
    u = torch.stack(blocks).to(x)
    return torch.einsum("pij,...pj->...pi", u, parts).reshape(x.shape)


def _transform_first_layer(arch: TreeArch, w1: torch.Tensor, blocks: list[torch.Tensor]) -> torch.Tensor:
    """The first-layer weights trained on ``U X`` must start from: ``U W_1`` in the layout of ``arch``.

    Row-vector convention: a layer computes ``x W_1``; with ``x -> x U^T`` the product is unchanged iff
    ``W_1 -> U W_1``. Raises :class:`NumericsError` when no such weights exist in the architecture (a CNN under
    non-identical blocks).
    """
    if arch.arch == "fcn":
        full = torch.block_diag(*blocks).to(w1)
        return full @ w1  # (E, d, N_1)
    if arch.arch == "lcn":
        return torch.stack(blocks).to(w1) @ w1  # (E, P, s, C): W_1[p] -> U_p W_1[p]
    if any(not torch.equal(b, blocks[0]) for b in blocks):
        raise bad("transform", "independent blocks", "one block shared by every patch for a CNN (weights are tied)")
    return blocks[0].to(w1) @ w1  # (E, s, C)


def equivariance_run(
    arch: str,
    transform: str,
    *,
    d: int = 16,
    n: int = 64,
    steps: int = 200,
    lr: float = 0.01,
    settings: TrainSettings | None = None,
    width: int = 4,
    head_width: int = 8,
    task: str = "patch-quadratic",
    n_eval: int = 256,
    seed: int = 0,
    init: str = "transformed",
    s: int = 2,
) -> dict[str, Any]:
    """Train twice, from ``W_0`` on ``(X, y)`` and from ``T(W_0)`` on ``(U X, y)``, and compare ``f(x)`` with ``f_U(U x)``.

    Args:
        arch: ``'cnn'``, ``'lcn'`` or ``'fcn'``.
        transform: one of :data:`TRANSFORMS`.
        d, n, steps, lr: input size, training-set size, optimizer steps (no early stopping), learning rate.
        settings: optimizer settings (the sweep's; ``max_steps``/``patience`` are replaced by ``steps``/None;
            optimizer, momentum, weight decay and batch size are used as given, both runs with the same batches).
        width, head_width: tree channels and head units (0: no head layer); s: kernel = stride (d a power of s).
        task: data of :class:`numerics.learning._tasks.Task` (its labels; any labels would do).
        n_eval: evaluation points ``x`` (fresh Gaussians).
        init: ``'transformed'`` (``T(W_0)``, the identity's premise), ``'identity'`` (``W_0`` unchanged: a control
            that must disagree), or ``'best-shared'`` for a CNN under independent blocks: every candidate ``U_p W_1``
            (one per patch) is tried and the smallest disagreement is reported.
    Returns:
        ``max_abs_diff`` (max over eval points of ``|f(x) - f_U(U x)|``), ``output_scale`` (max ``|f(x)|``),
        ``rel_diff``, ``agree`` (within ``TOLERANCES['equivariance_float64']``), ``train_loss`` of both runs, sizes,
        ``equivariant_protocol`` (whether the settings are among those that keep the identity).
    Shape: all computations in float64 on the CPU.
    """
    if init not in ("transformed", "identity", "best-shared"):
        raise bad("init", init, "'transformed', 'identity' or 'best-shared'")
    for name, value in (("n", n), ("n_eval", n_eval)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad(name, value, "an int >= 1")
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not math.isfinite(lr) or lr <= 0:
        raise bad("lr", lr, "a finite number > 0")
    base = settings or TrainSettings()
    opt = replace(base, max_steps=steps, patience=None)
    shape = TreeArch(arch, d, s, width, head_width, 1)
    g = torch.Generator().manual_seed(seed)
    blocks = transform_blocks(transform, d, shape.s, g)
    x, y, _ = Task(task, d).sample((n,), g, dtype=torch.float64)
    x_eval = torch.randn(n_eval, d, generator=g, dtype=torch.float64)
    p0 = shape.init([torch.Generator().manual_seed(seed + 1)], dtype=torch.float64, device="cpu")
    rate = torch.tensor([lr], dtype=torch.float64)

    def trained(params: list[torch.Tensor], data: torch.Tensor) -> tuple[torch.Tensor, float]:
        train_ensemble(shape, params, data[None], y[None], rate, opt)
        with torch.no_grad():
            return shape.forward(params, x_eval[None])[0], float(
                ((shape.forward(params, data[None])[0] - y) ** 2).mean()
            )

    def fresh(first: torch.Tensor) -> list[torch.Tensor]:
        return [first.detach().clone().requires_grad_(True)] + [p.detach().clone().requires_grad_(True) for p in p0[1:]]

    f, loss = trained(fresh(p0[0]), x)
    ux, ux_eval = _apply(blocks, x), _apply(blocks, x_eval)
    if init == "transformed":
        firsts = [_transform_first_layer(shape, p0[0].detach(), blocks)]
    elif init == "identity":
        firsts = [p0[0].detach()]
    else:
        firsts = [_transform_first_layer(shape, p0[0].detach(), [b] * len(blocks)) for b in blocks]
    best = None
    for w1 in firsts:
        params = fresh(w1)
        train_ensemble(shape, params, ux[None], y[None], rate, opt)
        with torch.no_grad():
            fu = shape.forward(params, ux_eval[None])[0]
            loss_u = float(((shape.forward(params, ux[None])[0] - y) ** 2).mean())
        diff = float((f - fu).abs().max())
        if best is None or diff < best[0]:
            best = (diff, loss_u, fu)
    diff, loss_u, fu = best  # type: ignore[misc]
    scale = float(f.abs().max())
    return {
        "arch": arch,
        "transform": transform,
        "init": init,
        "d": d,
        "n": n,
        "steps": steps,
        "lr": lr,
        "optimizer": opt.optimizer,
        "equivariant_protocol": opt.equivariant,
        "max_abs_diff": diff,
        "output_scale": scale,
        "rel_diff": diff / scale if scale > 0 else math.inf,
        "agree": TOLERANCES["equivariance_float64"].ok(fu, f),
        "train_loss": [loss, loss_u],
        "candidates": len(firsts),
    }
