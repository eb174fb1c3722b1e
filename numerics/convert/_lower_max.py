"""Max pooling as an exact ReLU network: ``max(a, b) = relu(a - b) + relu(b) - relu(-b)``, a tree of such steps.

A window of ``k`` values takes ``ceil(log2 k)`` ReLU layers. At each level the window's values are paired, an odd
one paired with itself (``max(c, c) = c``). Each pair ``(a, b)`` writes three units of one ReLU layer,
``a - b``, ``b`` and ``-b``, so every level is a single layer. Torch pads max pooling with ``-inf``, so a window
holds only the positions inside the signal. Source: the identity ``max(a, b) = b + relu(a - b)``, with ``b``
carried through the ReLU as ``relu(b) - relu(-b)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product

import numpy as np

from .._errors import bad
from ._lower import Lowering
from ._lower_forms import Sym


def max_pool(
    lo: Lowering,
    v: Sym,
    kernel: Sequence[int],
    stride: Sequence[int],
    pads: Sequence[int],
    dilation: Sequence[int],
    where: str,
) -> Sym:
    """Max pooling of ``v`` ``(C, *spatial)`` over windows of ``kernel`` (one entry per spatial axis), floor mode;
    ``pads[i]`` positions of ``-inf`` on both sides of axis ``i``. Exact."""
    v = lo._settle(v)
    spatial = v.shape[1:]
    n = len(spatial)
    ok = len(kernel) == len(stride) == len(pads) == len(dilation) == n and n in (1, 2)
    if not ok or min(*kernel, *stride, *dilation) < 1 or min(pads) < 0 or any(2 * p > k for p, k in zip(pads, kernel)):
        raise bad(
            where,
            f"max pooling with kernel {tuple(kernel)}, stride {tuple(stride)}, padding {tuple(pads)}, dilation "
            f"{tuple(dilation)} on a signal of shape {v.shape}",
            "a 1-D or 2-D window, strides and dilations >= 1, padding at most half the kernel",
        )
    out = [(s + 2 * p - d * (k - 1) - 1) // st + 1 for s, p, d, k, st in zip(spatial, pads, dilation, kernel, stride)]
    if min(out) < 1:
        raise bad(where, f"max pooling of a signal of shape {v.shape}", "at least one output position")
    c = v.shape[0]
    lo.guard(c * int(np.prod(out)) * int(np.prod(kernel)) * 3, where, "max pooling's comparisons")
    index = np.moveaxis(v.index, v.baxis, 0)[0]  # (C, *spatial) form ids
    windows = []
    for ch in range(c):
        for o in product(*(range(m) for m in out)):
            taps = [
                index[(ch, *pos)]
                for t in product(*(range(k) for k in kernel))
                for pos in [tuple(oi * st - p + ti * d for oi, st, p, ti, d in zip(o, stride, pads, t, dilation))]
                if all(0 <= x < s for x, s in zip(pos, spatial))
            ]
            windows.append(taps)
    width = max(len(w) for w in windows)
    cur = np.array([w + [w[-1]] * (width - len(w)) for w in windows], np.int64)  # repeats change no maximum
    while cur.shape[1] > 1:
        if cur.shape[1] % 2:
            cur = np.concatenate([cur, cur[:, -1:]], axis=1)
        a, b = Sym(cur[None, :, 0::2], 0), Sym(cur[None, :, 1::2], 0)
        diff, neg = lo.add(a, b, -1, where), lo.add(b, b, -2, where)
        r = lo.relu(Sym(np.stack([diff.index, b.index, neg.index], axis=-1), 0)).index
        cur = lo.add(lo.add(Sym(r[..., 0], 0), Sym(r[..., 1], 0), 1, where), Sym(r[..., 2], 0), -1, where).index[0]
    return Sym(cur.reshape(1, c, *out), 0)
