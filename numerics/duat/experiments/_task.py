"""A synthetic image task that needs global information: "is the horizontal bar left of the vertical one?".

Our reconstruction of a task for the DUAT empirical claims (duat.E16-E19, docs/catalogue.md): the paper's
experiments could not be read, so the task is generated, with a label that depends on the whole image. Each image is
``1 x side x side`` Gaussian noise plus two bars of amplitude 1: a horizontal one (1 x 3) and a vertical one
(3 x 1), one in the left part and one in the right part of the image. The label is 1 when the horizontal bar is the
left one, 0 when it is the right one; each class is exactly half of a sample.

Why it needs global information. Every image contains one horizontal and one vertical bar, so the *counts* of
local patterns carry no information; only their relative position does. Bars keep a margin of 2 pixels to the
border and a gap of 2 columns between them, so no 3 x 3 window (zero padding 1) sees both bars, or a bar and
the padding. A depth-1 CNN with global average pooling computes a mean over windows of a function of each
window, so without noise it gives every image the same output (exactly; tested); with noise it can only exploit
how neighbouring windows share noise pixels, a second-order effect (in our runs it stays at chance, 0.50 +- 0.01).
This locality argument is ours. A CNN whose receptive field spans both bars can solve the task.
"""

from __future__ import annotations

import torch

from ..._errors import bad

BAR = 3
"""Bar length in pixels."""
MARGIN = 2
"""Pixels between any bar and the border (a 3 x 3 window touching a bar never touches the zero padding)."""
GAP = 2
"""Columns between the left and the right part (no 3 x 3 window touches both bars)."""


def _regions(side: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Column ranges ``[lo, hi)`` of the left and right parts that bar pixels may occupy."""
    half = side // 2
    return (MARGIN, half - GAP // 2), (half + GAP // 2, side - MARGIN)


def bars_task(
    n: int,
    *,
    side: int = 16,
    noise: float = 0.5,
    seed: int,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` images of the bar-relation task and their labels (deterministic per ``seed``).

    ``x = noise * N(0, I) + 1[horizontal bar] + 1[vertical bar]``; ``y = 1`` iff the horizontal bar lies in the
    left part. Exactly ``n // 2`` images have label 1 (the rest 0), in random order.

    Args:
        n: number of images (>= 2).
        side: image side, even and >= 12 (each part must hold a horizontal bar).
        noise: standard deviation of the Gaussian background (finite, >= 0).
        seed: int >= 0; the only source of randomness (a ``torch.Generator`` on the CPU).
        dtype: floating dtype of ``x``. device: where the tensors are returned.
    Returns:
        ``(x, y)``: images and int64 labels.
    Shape:
        x: ``(n, 1, side, side)``; y: ``(n,)``.
    Raises:
        NumericsError: on a bad ``n``, ``side``, ``noise``, ``seed`` or ``dtype``.
    Source:
        our reconstruction of a task needing global information (claims duat.E16-E19, docs/catalogue.md).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise bad("n", n, "an int >= 2")
    if isinstance(side, bool) or not isinstance(side, int) or side < 12 or side % 2:
        raise bad("side", side, "an even int >= 12")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < float("inf"):
        raise bad("noise", noise, "a finite number >= 0")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise bad("seed", seed, "an int >= 0")
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise bad("dtype", dtype, "a floating torch dtype")
    g = torch.Generator().manual_seed(seed)
    y = torch.zeros(n, dtype=torch.int64)
    y[: n // 2] = 1
    y = y[torch.randperm(n, generator=g)]
    x = noise * torch.randn(n, side, side, generator=g, dtype=torch.float64)
    (l_lo, l_hi), (r_lo, r_hi) = _regions(side)
    rows = torch.arange(n)
    for left in (True, False):
        lo, hi = (l_lo, l_hi) if left else (r_lo, r_hi)
        horizontal = (y == 1) if left else (y == 0)
        # horizontal bar: one row, BAR columns starting at c; vertical bar: BAR rows starting at r, one column
        h_row = torch.randint(MARGIN, side - MARGIN, (n,), generator=g)
        h_col = torch.randint(lo, hi - BAR + 1, (n,), generator=g)
        v_row = torch.randint(MARGIN, side - MARGIN - BAR + 1, (n,), generator=g)
        v_col = torch.randint(lo, hi, (n,), generator=g)
        for t in range(BAR):
            r = torch.where(horizontal, h_row, v_row + t)
            c = torch.where(horizontal, h_col + t, v_col)
            x[rows, r, c] += 1.0
    return x.unsqueeze(1).to(dtype=dtype, device=device), y.to(device)
