"""The training protocol of the separation harness: optimizer settings, their vectorised updates, minibatch order.

Four optimizers, each applied to every ensemble member at once (parameters ``(E, ...)``, learning rates ``(E,)``):

* ``gd``: full-batch heavy-ball gradient descent, ``v <- mu v + g``, ``theta <- theta - lr v`` (the name older
  stores use; the first step is ``v = g``, as in ``torch.optim.SGD`` with dampening 0);
* ``sgd``: the same update (``torch.optim.SGD``: momentum ``mu``, 0 for plain SGD), full batch or on minibatches;
* ``adam-tensor`` (the default of the experiments): Adam with ONE second moment per parameter tensor and member,
  ``m <- mu m + (1 - mu) g``, ``q <- 0.999 q + 0.001 mean(g^2)``, ``theta <- theta - lr c m_hat / (sqrt(q_hat) +
  1e-12)`` with ``c`` the tensor's initial scale (:meth:`TreeArch.scales`, independent of ``init_scale``), so every
  layer of a deep narrow tree moves by the same fraction of its scale (plain GD stalls on those trees);
* ``adam``: standard per-coordinate Adam (``torch.optim.Adam``: ``beta1 = mu``, ``beta2 = 0.999``, ``eps = 1e-8``,
  bias-corrected, no scale ``c``: ``lr`` is absolute).

Weight decay ``lambda`` (default 0): an L2 term ``g <- g + lambda theta`` for ``gd`` / ``sgd`` (``torch.optim.SGD``);
decoupled, ``theta <- (1 - lr lambda) theta`` before the step, for ``adam`` (``torch.optim.AdamW``) and
``adam-tensor``. It applies to every tensor, biases included.

Equivariance (docs/catalogue.md; checked by numerics.learning._equivariance): ``gd``, ``sgd`` and
``adam-tensor`` are linear in the gradient up to factors that depend on gradient norms only, so they commute with
``W_1 -> U W_1`` for orthogonal ``U``; weight decay (both forms) is linear in ``theta`` and keeps this; minibatches
keep it too (the rotated run selects the same samples, so the identity holds exactly for a shared batch seed, and
in distribution for random ones). Per-coordinate ``adam`` does NOT (its second moment is taken per coordinate of
``W_1``, which a rotation mixes; it is only permutation-equivariant, as Li, Zhang & Arora 2021 note): claims that
rest on the equivariance refuse it (:func:`require_equivariant`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch

from .._errors import bad
from ._tasks import Task
from ._tree import TreeArch

OPTIMIZERS = ("gd", "sgd", "adam-tensor", "adam")
EQUIVARIANT_OPTIMIZERS = ("gd", "sgd", "adam-tensor")
"""Optimizers whose training commutes with ``W_1 -> U W_1`` (see the module docstring)."""
ADAM_BETA2, ADAM_EPS, TENSOR_EPS = 0.999, 1e-8, 1e-12
PROTOCOL_DEFAULTS: dict[str, Any] = {
    "s": 2,
    "optimizer": "gd",
    "weight_decay": 0.0,
    "batch_size": None,
    "init_scale": 1.0,
    "readout_init": "zero",
}
"""Keys of a sweep config's ``train`` dict added after the first stores, at the values those stores ran with
(``optimizer`` was absent before ``adam-tensor`` existed: ``gd``); filled in when absent, so an old store resumes
with identical results."""


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings shared by every member of an ensemble.

    Attributes:
        max_steps: gradient steps at most.
        eval_every: steps between validation evaluations.
        patience: evaluations without improvement before a member stops (None: never stop early).
        momentum: ``mu`` in ``[0, 1)``: the heavy-ball coefficient (``gd``, ``sgd``) or Adam's ``beta1``.
        optimizer: one of :data:`OPTIMIZERS` (module docstring).
        weight_decay: ``lambda >= 0`` (L2 for ``gd`` / ``sgd``, decoupled for the Adams); 0: none.
        batch_size: None (full batch) or the minibatch size ``B >= 1``; each member draws a fresh permutation
            of its ``n`` samples per epoch from its own batch seed and takes ``ceil(n / B)`` steps per epoch (the
            last batch smaller when ``B`` does not divide ``n``); ``B >= n`` is full batch. Not with ``gd``.
    """

    max_steps: int = 2000
    eval_every: int = 25
    patience: int | None = 8
    momentum: float = 0.9
    optimizer: str = "adam-tensor"
    weight_decay: float = 0.0
    batch_size: int | None = None

    @classmethod
    def from_config(cls, train: Mapping[str, Any]) -> "TrainSettings":
        """The settings in a sweep config's ``train`` dict (``max_steps``, ``eval_every``, ``momentum``; optional
        ``patience``, default None, ``optimizer``, default ``'gd'``, ``weight_decay``, default 0, ``batch_size``,
        default None); validated as usual."""
        missing = [k for k in ("max_steps", "eval_every", "momentum") if k not in train]
        if missing:
            raise bad("train", sorted(train), f"a dict with max_steps, eval_every, momentum; missing {missing}")
        wd = train.get("weight_decay", 0.0)
        return cls(
            int(train["max_steps"]),
            int(train["eval_every"]),
            train.get("patience"),
            float(train["momentum"]),
            train.get("optimizer", "gd"),
            float(wd) if isinstance(wd, int) and not isinstance(wd, bool) else wd,
            train.get("batch_size"),
        )

    def __post_init__(self) -> None:
        for name in ("max_steps", "eval_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise bad(name, v, "an int >= 1")
        if self.patience is not None and (
            isinstance(self.patience, bool) or not isinstance(self.patience, int) or self.patience < 1
        ):
            raise bad("patience", self.patience, "None or an int >= 1")
        if not isinstance(self.momentum, (int, float)) or not 0 <= self.momentum < 1:
            raise bad("momentum", self.momentum, "a number in [0, 1)")
        if self.optimizer not in OPTIMIZERS:
            raise bad("optimizer", self.optimizer, " | ".join(OPTIMIZERS))
        wd = self.weight_decay
        if isinstance(wd, bool) or not isinstance(wd, (int, float)) or not math.isfinite(wd) or wd < 0:
            raise bad("weight_decay", wd, "a finite number >= 0 (0: no weight decay)")
        b = self.batch_size
        if b is not None and (isinstance(b, bool) or not isinstance(b, int) or b < 1):
            raise bad("batch_size", b, "None (full batch) or an int >= 1")
        if b is not None and self.optimizer == "gd":
            raise bad("batch_size", b, "None with optimizer 'gd' (full batch); use optimizer 'sgd' for minibatches")

    @property
    def equivariant(self) -> bool:
        """Whether training commutes with ``W_1 -> U W_1`` (every optimizer but per-coordinate ``adam``)."""
        return self.optimizer in EQUIVARIANT_OPTIMIZERS


def require_equivariant(settings: TrainSettings, needed_by: str) -> TrainSettings:
    """``settings`` unchanged when its training is O(d)- / block-equivariant, else NumericsError naming the claim.

    Raises:
        NumericsError: optimizer ``'adam'`` (per-coordinate second moments break the rotation equivariance).
    """
    if not settings.equivariant:
        raise bad(
            "optimizer",
            settings.optimizer,
            f"an equivariant optimizer ({' | '.join(EQUIVARIANT_OPTIMIZERS)}) for {needed_by}: per-coordinate "
            "Adam is only permutation-equivariant, so the lower-bound argument does not cover it",
        )
    return settings


def check_protocol(train: Mapping[str, Any], task: str, ds: tuple[int, ...]) -> None:
    """Validate the training protocol of a sweep config for :func:`numerics.learning.train_point` up front (not
    at the first point on a worker): the optimizer settings (:class:`TrainSettings`), the tree (``s``, ``width``,
    ``head_width``, ``head_layers``, ``init_scale``, ``readout_init``: :class:`TreeArch` at every d) and the task's
    sizes. Keys the evaluator requires but ``train`` lacks are left to it (it names them).

    Raises:
        NumericsError: naming the first bad value.
    """
    tr = {
        "max_steps": 1,
        "eval_every": 1,
        "momentum": 0.9,
        "width": 8,
        "head_width": 16,
        "head_layers": 1,
        **PROTOCOL_DEFAULTS,
        **train,
    }
    TrainSettings.from_config(tr)
    for d in ds:
        TreeArch(
            "cnn", d, tr["s"], tr["width"], tr["head_width"], tr["head_layers"], tr["init_scale"], tr["readout_init"]
        )
        Task(task, d)


def describe_protocol(train: Mapping[str, Any]) -> str | None:
    """One line naming the training protocol of a config's ``train`` dict (None when it is not one)."""
    if not all(k in train for k in ("width", "head_width", "head_layers", "momentum", *PROTOCOL_DEFAULTS)):
        return None
    head = (
        "no head"
        if not train["head_width"] or not train["head_layers"]
        else f"head {train['head_layers']} x {train['head_width']}"
    )
    batch = "full batch" if train["batch_size"] is None else f"minibatch {train['batch_size']}"
    return (
        f"kernel = stride {train['s']}, width {train['width']}, {head}; optimizer {train['optimizer']} "
        f"(momentum {train['momentum']}), weight decay {train['weight_decay']}, {batch}; init "
        f"{train['init_scale']} x N(0, 2/fan_in), readout {train['readout_init']}; max_steps "
        f"{train.get('max_steps')}, patience {train.get('patience')}"
    )


def init_state(settings: TrainSettings, params: Sequence[torch.Tensor]) -> tuple[list, list]:
    """Optimizer state per tensor: first moments / velocities like the parameters, and second moments (``(E,)``
    per tensor for ``adam-tensor``, like the parameters for ``adam``, unused otherwise)."""
    E, dt, dev = params[0].shape[0], params[0].dtype, params[0].device
    vel = [torch.zeros_like(p) for p in params]
    if settings.optimizer == "adam":
        return vel, [torch.zeros_like(p) for p in params]
    return vel, [torch.zeros(E, dtype=dt, device=dev) for _ in params]


@torch.no_grad()
def apply_update(
    settings: TrainSettings,
    params: Sequence[torch.Tensor],
    grads: Sequence[torch.Tensor],
    vel: Sequence[torch.Tensor],
    sq: Sequence[torch.Tensor],
    scales: Sequence[float],
    rate: torch.Tensor,
    step: int,
) -> None:
    """One in-place optimizer step of every member (module docstring). ``rate (E,)`` is each member's learning
    rate (0 for a member that no longer trains: it neither moves nor decays); ``step`` counts from 1."""
    mu, wd, opt = settings.momentum, settings.weight_decay, settings.optimizer
    for p, v, q, c, g in zip(params, vel, sq, scales, grads):
        g = torch.nan_to_num(g)
        shape = (-1, *[1] * (p.ndim - 1))
        if opt in ("gd", "sgd"):
            if wd:
                g = g + wd * p
            v.mul_(mu).add_(g)
            p.sub_(rate.view(shape) * v)
            continue
        if wd:
            p.mul_(1 - (rate * wd).view(shape))
        if opt == "adam-tensor":
            v.mul_(mu).add_((1 - mu) * g)
            q.mul_(0.999).add_(0.001 * g.pow(2).flatten(1).mean(1))  # literals: today's bits
            mhat = v / (1 - mu**step)
            vhat = q / (1 - 0.999**step)
            p.sub_((c * rate / (vhat.sqrt() + TENSOR_EPS)).view(shape) * mhat)
        else:  # per-coordinate Adam, in torch.optim.Adam's order of operations
            v.mul_(mu).add_((1 - mu) * g)
            q.mul_(ADAM_BETA2).addcmul_(g, g, value=1 - ADAM_BETA2)
            denom = q.sqrt() / math.sqrt(1 - ADAM_BETA2**step) + ADAM_EPS
            p.sub_((rate / (1 - mu**step)).view(shape) * v / denom)


class MinibatchOrder:
    """Seeded minibatch indices per member: member ``e`` draws ``randperm(n)`` from ``Generator(seeds[e])`` at
    the start of each epoch and takes its consecutive slices of ``B`` (the last one shorter when ``B`` does
    not divide ``n``). A member's order depends on its own seed only, so members trained together see the
    same batches as alone. Shape: :meth:`indices` ``-> (E_alive, B_k)`` long, on ``device``."""

    def __init__(self, seeds: Sequence[int], n: int, batch_size: int, device: torch.device):
        self.gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.n, self.b, self.device = n, batch_size, device
        self.per_epoch = -(-n // batch_size)
        self.perm = torch.empty(len(seeds), 0, dtype=torch.long, device=device)

    def indices(self, step: int) -> torch.Tensor:
        """The sample indices of gradient step ``step`` (from 1) of every member still training."""
        k = (step - 1) % self.per_epoch
        if k == 0:
            self.perm = torch.stack([torch.randperm(self.n, generator=g) for g in self.gens]).to(self.device)
        return self.perm[:, k * self.b : (k + 1) * self.b]

    def keep(self, keep: torch.Tensor) -> None:
        """Drop the members not in ``keep`` (positions among those still training)."""
        rows = keep.tolist()
        self.gens = [self.gens[i] for i in rows]
        self.perm = self.perm[keep]
