"""Worst-case error search: keep the worst random samples, then climb the error by projected sign-gradient ascent.

The error ``e(x) = max_j |net_j(x) - g_j(x)|`` of a ReLU network (piecewise linear) against a smooth target
is Lipschitz and almost everywhere differentiable. From each start point the search takes steps
``x <- clip_box(x + eta_t (hi - lo) sign(grad e(x)))`` (steepest ascent in the box's own l-infinity geometry,
Source: Madry et al. 2018, "Towards deep learning models resistant to adversarial attacks", PGD; standard) with
``eta_t`` decaying geometrically from ``eta_0`` to ``eta_0 * 1e-6``, keeps the best point seen, and restarts
from the best points perturbed by uniform noise of shrinking width. Whatever it finds is a point of the box,
so its error is a lower bound on the sup error (certified later by exact re-evaluation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass
class TopK:
    """The ``k`` largest values seen so far with their rows. Shape: ``values (<= k,)``, ``rows (<= k, n)``."""

    k: int
    values: torch.Tensor | None = None
    rows: torch.Tensor | None = None

    def update(self, values: torch.Tensor, rows: torch.Tensor) -> None:
        """Merge a batch (``values (B,)``, ``rows (B, n)``); stays on the batch's device, no host sync."""
        take = min(self.k, values.shape[0])
        v, i = torch.topk(values, take)
        r = rows[i]
        if self.values is not None:
            assert self.rows is not None  # values and rows are only ever set together
            v, r = torch.cat([self.values, v]), torch.cat([self.rows, r])
            v, i = torch.topk(v, min(self.k, v.shape[0]))
            r = r[i]
        self.values, self.rows = v, r.clone()


def ascend(
    error: Callable[[torch.Tensor], torch.Tensor],
    starts: torch.Tensor,
    lo: torch.Tensor,
    hi: torch.Tensor,
    *,
    steps: int = 200,
    restarts: int = 4,
    eta0: float = 0.05,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Projected sign-gradient ascent of ``error`` from every start, with restarts.

    Args:
        error: differentiable ``(m, n) -> (m,)``.
        starts: ``(m, n)`` points inside the box.
        lo, hi: ``(n,)`` box corners (same dtype and device as ``starts``).
        steps: ascent steps per round; restarts: extra rounds from perturbed best points.
        eta0: first step as a fraction of the box width.
        generator: the random source of the restarts (on the device of ``starts``).
    Returns:
        ``(best_points (m, n), best_errors (m,))``, sorted by decreasing error.
    Shape: ``starts (m, n)``, ``lo, hi (n,)``.
    """
    width = hi - lo
    best_x = starts.detach().clone()
    with torch.no_grad():
        best_v = error(best_x)
    decay = (1e-6) ** (1.0 / max(steps - 1, 1))
    for round_ in range(restarts + 1):
        if round_ == 0:
            x = best_x.clone()
        else:
            spread = 0.5**round_
            u = torch.rand(best_x.shape, generator=generator, device=best_x.device, dtype=best_x.dtype)
            x = torch.clamp(best_x + (u - 0.5) * spread * width, lo, hi)
        eta = eta0
        for _ in range(steps):
            x.requires_grad_(True)
            v = error(x)
            (grad,) = torch.autograd.grad(v.sum(), x)
            with torch.no_grad():
                better = v > best_v
                best_v = torch.where(better, v, best_v)
                best_x = torch.where(better[:, None], x, best_x)
                x = torch.clamp(x + eta * width * torch.sign(grad), lo, hi)
            eta *= decay
        with torch.no_grad():
            v = error(x)
            better = v > best_v
            best_v = torch.where(better, v, best_v)
            best_x = torch.where(better[:, None], x, best_x)
    order = torch.argsort(best_v, descending=True)
    return best_x[order].detach(), best_v[order].detach()
