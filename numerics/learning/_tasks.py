"""Regression tasks of the separation experiments: Gaussian inputs, seeded, generated on the fly.

The paper's "simple regression task" could not be read (Wang & Wu 2023, arXiv 2305.08404); each task here is our
reconstruction, chosen for the symmetry it probes (docs/separation.md, "Models, tasks and training"):

* ``sparse``: ``y = g(x_{i_1}, ..., x_{i_k})`` on a long-range support (default ``(0, d-1)``): the CNN's routing
  construction (``theory.select``) learns it with O(log d) parameters; LCNs and FCNs pay for every position.
* ``patch-quadratic``: ``y = d^(-1/2) sum_p (x_{2p}^2 - x_{2p+1}^2)``: swapping the two coordinates
  of one patch changes the target, so the LCN's local permutation symmetry gives an Omega(d) packing, the FCN's
  rotation symmetry an Omega(d^2) one, while a CNN only needs one patch function and a sum (``theory.tree_sum``).
* ``halves``: ``y = d^(-1/2) (sum_{i<d/2} x_i^2 - sum_{i>=d/2} x_i^2)`` (after Li, Zhang & Arora 2021): the same
  quadratic form with the coordinates permuted; interactions between the input halves.

Labels carry Gaussian noise of variance ``noise * Var(f*)``; test errors are measured against the noiseless
``f*`` and reported relative to ``Var(f*)`` (computed in closed form below, checked by Monte Carlo in the tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .._errors import bad

TASKS = ("sparse", "patch-quadratic", "halves")
SPARSE_G = ("product", "sumsq", "smooth")
"""``sparse`` targets: ``product`` x_a x_b; ``sumsq`` (x_a^2 + x_b^2 - 2)/2; ``smooth`` sin(x_a) cos(x_b) (scaled)."""

_SMOOTH_SCALE = 2.0 / math.sqrt(1.0 - math.exp(-4.0))
"""Var(sin(a) cos(b)) = E[sin^2] E[cos^2] = (1 - e^-2)(1 + e^-2)/4 = (1 - e^-4)/4 for a, b ~ N(0, 1)."""


@dataclass(frozen=True)
class Task:
    """One regression task on ``x ~ N(0, I_d)``.

    Attributes:
        name: one of :data:`TASKS`.
        d: input dimension, a power of 2 (>= 4), the sizes of trees with kernel = stride 2 or 4; ``sparse`` also
            takes a power of 3 (>= 9), for kernel 3 (the quadratic tasks pair coordinates, so need even d).
        support: ``sparse`` only: the relevant coordinates (default ``(0, d - 1)``, the longest range).
        g: ``sparse`` only: one of :data:`SPARSE_G`.
        noise: label-noise variance as a fraction of ``Var(f*)`` (>= 0).
    Raises:
        NumericsError: on an unknown name or g, a bad d, support or noise.
    """

    name: str
    d: int
    support: tuple[int, ...] = ()
    g: str = "product"
    noise: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in TASKS:
            raise bad("task", self.name, f"one of {TASKS}")
        if (
            isinstance(self.d, bool)
            or not isinstance(self.d, int)
            or self.d < 4
            or (self.d & (self.d - 1) and not (self.name == "sparse" and 3 ** round(math.log(self.d, 3)) == self.d))
        ):
            raise bad("d", self.d, "a power of 2, >= 4" + (" or of 3, >= 9" if self.name == "sparse" else ""))
        if not isinstance(self.noise, (int, float)) or not math.isfinite(self.noise) or self.noise < 0:
            raise bad("noise", self.noise, "a finite number >= 0 (a fraction of Var(f*))")
        if self.name == "sparse":
            if self.g not in SPARSE_G:
                raise bad("g", self.g, f"one of {SPARSE_G}")
            support = tuple(self.support) if self.support else (0, self.d - 1)
            if (
                len(support) != 2
                or len(set(support)) != 2
                or not all(isinstance(i, int) and 0 <= i < self.d for i in support)
            ):
                raise bad("support", self.support, f"two distinct coordinates in [0, {self.d})")
            object.__setattr__(self, "support", support)
        elif self.support:
            raise bad("support", self.support, f"empty for task {self.name!r} (only 'sparse' has a support)")

    @property
    def variance(self) -> float:
        """``Var(f*(x))`` for ``x ~ N(0, I_d)``, in closed form.

        sparse: 1 for every g (each is normalised); quadratics: ``(1/d) * d * Var(x^2) = 2`` since the ``d`` terms
        ``+-x_i^2`` are independent with variance 2.
        """
        return 1.0 if self.name == "sparse" else 2.0

    def target(self, x: torch.Tensor) -> torch.Tensor:
        """The noiseless target ``f*(x)``.

        Shape: ``x (..., d) -> (...)``.
        """
        if x.shape[-1] != self.d:
            raise bad("x", tuple(x.shape), f"last dimension d = {self.d}")
        if self.name == "sparse":
            a, b = x[..., self.support[0]], x[..., self.support[1]]
            if self.g == "product":
                return a * b
            if self.g == "sumsq":
                return (a * a + b * b - 2.0) / 2.0
            return _SMOOTH_SCALE * torch.sin(a) * torch.cos(b)
        sq = x * x
        if self.name == "patch-quadratic":
            signed = sq[..., 0::2].sum(-1) - sq[..., 1::2].sum(-1)
        else:
            half = self.d // 2
            signed = sq[..., :half].sum(-1) - sq[..., half:].sum(-1)
        return signed / math.sqrt(self.d)

    def label(self, f: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Noisy labels ``y = f + sqrt(noise Var(f*)) z`` from targets ``f`` and standard normal draws ``z``.

        Shape: ``f (...)``, ``z (...)`` -> ``(...)``.
        """
        return f + math.sqrt(self.noise * self.variance) * z

    def sample(
        self,
        shape: tuple[int, ...],
        generator: torch.Generator,
        *,
        dtype: torch.dtype,
        device: torch.device | str = "cpu",
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw ``x ~ N(0, I_d)``, noisy labels ``y`` and the noiseless targets ``f*(x)``.

        Args:
            shape: leading shape, e.g. ``(seeds, n)``.
            generator: a CPU ``torch.Generator`` (draws are made on the CPU, so a seed gives the same data on every
                device), then moved to ``device``.
        Shape: ``x (*shape, d)``, ``y (*shape)``, ``f (*shape)``.
        """
        if not all(isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in shape):
            raise bad("shape", shape, "a tuple of ints >= 0, e.g. (seeds, n)")
        x = torch.randn(*shape, self.d, generator=generator, dtype=torch.float64)
        f = self.target(x)
        y = self.label(f, torch.randn(*shape, generator=generator, dtype=torch.float64))
        return tuple(t.to(dtype=dtype, device=device) for t in (x, y, f))  # type: ignore[return-value]
