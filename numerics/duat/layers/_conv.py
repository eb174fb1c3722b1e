"""Convolution as a sparse matrix (M1): ``y = M_K x + b (x) 1_{HoWo}``, built from the index formula.

Source: Wang & Li, "Dynamic Universal Approximation Theory" (arXiv 2407.17480), the matrix-vector method; the
explicit matrices are our reconstruction (docs/duat.md, M1 and M1a).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.sparse as sp
import torch

from ..._errors import bad
from .._sparse import coo, to_torch


def _pair(value, name: str, ndim: int) -> tuple[int, ...]:
    """An int or a tuple of ``ndim`` ints -> tuple of ints."""
    vals = (value,) * ndim if isinstance(value, (int, np.integer)) else tuple(value)
    if len(vals) != ndim or not all(isinstance(v, (int, np.integer)) for v in vals):
        raise bad(name, value, f"an int or a tuple of {ndim} ints")
    return tuple(int(v) for v in vals)


def axis_taps(in_size: int, out_size: int, k: int, s: int, pad_lo: int, d: int) -> tuple[np.ndarray, ...]:
    """Valid taps of a sliding window along one axis: arrays ``(out_index, tap_index, in_index)``.

    Formula: output ``i`` and tap ``a`` read input ``u = i*s - pad_lo + a*d``; taps with ``u`` outside
    ``[0, in_size)`` read the zero padding and are dropped.
    """
    u = np.arange(out_size)[:, None] * s - pad_lo + np.arange(k)[None, :] * d
    oi, ai = np.nonzero((u >= 0) & (u < in_size))
    return oi, ai, u[oi, ai]


def resolve_padding(padding, kernel: Sequence[int], dilation: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Per-axis (low, high) zero padding from an int, a tuple, ``'valid'`` or ``'same'`` (PyTorch's split)."""
    ndim = len(kernel)
    if padding == "valid":
        return ((0, 0),) * ndim
    if padding == "same":
        tot = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in tot)
    p = _pair(padding, "padding", ndim)
    if min(p) < 0:
        raise bad("padding", padding, "non-negative ints, 'valid' or 'same'")
    return tuple((v, v) for v in p)


def conv_csr(
    weight: np.ndarray,
    in_shape: Sequence[int],
    stride: Sequence[int],
    pads: Sequence[tuple[int, int]],
    dilation: Sequence[int],
    groups: int,
) -> sp.csr_matrix:
    """CSR form of :func:`conv_matrix` for a 2-D problem (1-D problems pass H = 1); arguments already checked."""
    cout, cg, kh, kw = weight.shape
    c, h, w = in_shape
    outs = [
        (n + lo + hi - d * (k - 1) - 1) // s + 1
        for n, k, s, (lo, hi), d in zip((h, w), (kh, kw), stride, pads, dilation)
    ]
    ho, wo = outs
    hi_, ha, hu = axis_taps(h, ho, kh, stride[0], pads[0][0], dilation[0])
    wi, wa, wu = axis_taps(w, wo, kw, stride[1], pads[1][0], dilation[1])
    o = np.arange(cout)[:, None, None, None]
    cl = np.arange(cg)[None, :, None, None]
    th = np.arange(hi_.size)[None, None, :, None]
    tw = np.arange(wi.size)[None, None, None, :]
    ch = (o // (cout // groups)) * cg + cl
    rows = o * (ho * wo) + hi_[th] * wo + wi[tw]
    cols = ch * (h * w) + hu[th] * w + wu[tw]
    vals = weight[o, cl, ha[th], wa[tw]]
    shape = np.broadcast_shapes(rows.shape, cols.shape, vals.shape)
    return coo(
        np.broadcast_to(rows, shape),
        np.broadcast_to(cols, shape),
        np.broadcast_to(vals, shape),
        (cout * ho * wo, c * h * w),
    )


def conv_out_shape(
    weight_shape: Sequence[int], input_shape: Sequence[int], stride, padding, dilation
) -> tuple[int, ...]:
    """Output shape ``(C_out, *spatial)`` with ``Ho = floor((H + p_lo + p_hi - d(k-1) - 1)/s) + 1`` per axis."""
    nd = len(input_shape) - 1
    k = tuple(weight_shape[2:])
    s, d = _pair(stride, "stride", nd), _pair(dilation, "dilation", nd)
    pads = resolve_padding(padding, k, d)
    return (weight_shape[0],) + tuple(
        (n + lo + hi - dd * (kk - 1) - 1) // ss + 1 for n, kk, ss, (lo, hi), dd in zip(input_shape[1:], k, s, pads, d)
    )


def conv_matrix(
    weight: torch.Tensor, input_shape: Sequence[int], stride=1, padding=0, dilation=1, groups: int = 1
) -> torch.Tensor:
    """The sparse matrix ``M_K`` of a zero-padded 1-D or 2-D convolution (PyTorch cross-correlation, no flip).

    Formula (M1, our reconstruction): ``M_K[(o,i,j),(c,u,v)] = K[o, c - g_o C_in/g, a, b]`` when
    ``u = i s_h - p_h + a d_h`` and ``v = j s_w - p_w + b d_w`` for some tap ``(a, b)``, ``c`` in output
    channel ``o``'s group ``g_o``; taps reading the zero padding are dropped. Rows and columns are row-major
    flattenings (channel, row, column). Built from index arrays, never by probing with basis vectors.

    Args:
        weight: kernel ``(C_out, C_in/groups, kh, kw)`` (2-D) or ``(C_out, C_in/groups, k)`` (1-D).
        input_shape: ``(C_in, H, W)`` or ``(C_in, L)``: one sample, no batch dimension.
        stride, padding, dilation: as ``torch.nn.functional.conv2d`` / ``conv1d`` (padding may be ``'same'``
            or ``'valid'``).
        groups: channel groups.

    Returns:
        ``M_K``: coalesced sparse COO, float64, CPU, shape ``(C_out*prod(out spatial), C_in*prod(in spatial))``.

    Shape:
        ``F.conv2d(x[None], weight, None, ...).flatten() == M_K @ x.flatten()``.

    Raises:
        NumericsError: mismatched shapes, bad stride/padding/dilation/groups or an empty output.
    """
    if not isinstance(weight, torch.Tensor) or weight.dim() not in (3, 4):
        raise bad("weight", getattr(weight, "shape", weight), "a 3-D (Conv1d) or 4-D (Conv2d) tensor")
    nd = weight.dim() - 2
    in_shape = tuple(int(v) for v in input_shape)
    if len(in_shape) != nd + 1 or min(in_shape) < 1:
        raise bad(
            "input_shape", input_shape, f"{nd + 1} positive ints (C, {'H, W' if nd == 2 else 'L'}) for this kernel"
        )
    if (
        not isinstance(groups, int)
        or groups < 1
        or in_shape[0] % groups
        or weight.shape[0] % groups
        or weight.shape[1] * groups != in_shape[0]
    ):
        raise bad(
            "groups",
            groups,
            f"a positive int dividing C_in={in_shape[0]} and C_out={weight.shape[0]} "
            f"with C_in/groups == weight.shape[1]={weight.shape[1]}",
        )
    s, d = _pair(stride, "stride", nd), _pair(dilation, "dilation", nd)
    if min(s) < 1:
        raise bad("stride", stride, "positive ints")
    if min(d) < 1:
        raise bad("dilation", dilation, "positive ints")
    pads = resolve_padding(padding, tuple(weight.shape[2:]), d)
    out = conv_out_shape(tuple(weight.shape), in_shape, s, padding, d)
    if min(out[1:]) < 1:
        raise bad("input_shape", input_shape, f"a size the kernel fits into (output would be {out})")
    return to_torch(conv_from_args(weight, in_shape, s, pads, d, groups))


def conv_from_args(
    weight: torch.Tensor,
    in_shape: tuple[int, ...],
    stride: tuple[int, ...],
    pads: tuple[tuple[int, int], ...],
    dilation: tuple[int, ...],
    groups: int,
) -> sp.csr_matrix:
    """Lift 1-D problems to 2-D (H = 1) and call :func:`conv_csr` with a float64 numpy kernel."""
    w = weight.detach().to(torch.float64).cpu().numpy()
    if w.ndim == 3:
        return conv_csr(
            w[:, :, None, :],
            (in_shape[0], 1, in_shape[1]),
            (1,) + tuple(stride),
            ((0, 0),) + tuple(pads),
            (1,) + tuple(dilation),
            groups,
        )
    return conv_csr(w, in_shape, stride, pads, dilation, groups)
