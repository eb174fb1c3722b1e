"""Pooling as matrices: average pooling is a fixed matrix (M2); max pooling is ``S(x) x`` with a 0/1 selection
``S(x)`` read from the indices PyTorch returns (M3).

Source: Wang & Li, DUAT (arXiv 2407.17480), "pooling" in the matrix-vector method; the matrices are our
reconstruction (docs/duat.md, M2 and M3).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import scipy.sparse as sp
import torch

from .._sparse import coo
from ._conv import axis_taps


def _plane_product(
    channels: int,
    in_sp: Sequence[int],
    out_sp: Sequence[int],
    axes: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> sp.csr_matrix:
    """Depthwise matrix from per-axis (out index, in index, weight) lists: the weight is the product over axes."""
    (oh, uh, wh), (ow, uw, ww) = axes
    c = np.arange(channels)[:, None, None]
    rows = c * (out_sp[0] * out_sp[1]) + oh[None, :, None] * out_sp[1] + ow[None, None, :]
    cols = c * (in_sp[0] * in_sp[1]) + uh[None, :, None] * in_sp[1] + uw[None, None, :]
    vals = np.broadcast_to(wh[None, :, None] * ww[None, None, :], rows.shape)
    return coo(
        rows,
        np.broadcast_to(cols, rows.shape),
        vals,
        (channels * out_sp[0] * out_sp[1], channels * in_sp[0] * in_sp[1]),
    )


def avg_pool_csr(
    in_shape: Sequence[int],
    out_sp: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    count_include_pad: bool,
    divisor_override: int | None,
) -> sp.csr_matrix:
    """Fixed matrix of AvgPool2d (1-D: H = 1, kernel 1) for input ``(C, H, W)`` and output spatial ``out_sp``.

    Formula (PyTorch's CPU kernel): window ``[i s - p, min(i s - p + k, n + p))`` along each axis; the divisor is
    the window area before clipping to the input (``count_include_pad=True``), after clipping (``False``), or
    ``divisor_override``; the weight ``1/divisor`` sits on every in-range tap.
    """
    c, *in_sp = in_shape
    axes, areas_pad, areas_in = [], [], []
    for n, o, k, s, p in zip(in_sp, out_sp, kernel, stride, padding):
        oi, _, ui = axis_taps(n, o, k, s, p, 1)
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        axes.append((oi, ui))
        areas_pad.append((end - start).astype(np.float64))
        areas_in.append((np.minimum(end, n) - np.maximum(start, 0)).astype(np.float64))
    if divisor_override:
        div = [np.full(out_sp[0], float(divisor_override)), np.ones(out_sp[1])]
    else:
        div = areas_pad if count_include_pad else areas_in
    return _plane_product(c, in_sp, out_sp, [(oi, ui, 1.0 / d[oi]) for (oi, ui), d in zip(axes, div)])


def window_pattern_csr(
    in_shape: Sequence[int], out_sp: Sequence[int], kernel, stride, padding, dilation
) -> sp.csr_matrix:
    """0/1 matrix of every tap of a depthwise sliding window (max-pool's full window, for receptive fields)."""
    c, *in_sp = in_shape
    axes = []
    for n, o, k, s, p, d in zip(in_sp, out_sp, kernel, stride, padding, dilation):
        oi, _, ui = axis_taps(n, o, k, s, p, d)
        axes.append((oi, ui, np.ones(oi.size)))
    return _plane_product(c, in_sp, out_sp, axes)


def adaptive_avg_csr(in_shape: Sequence[int], out_sp: Sequence[int]) -> sp.csr_matrix:
    """Fixed matrix of AdaptiveAvgPool: output ``i`` averages ``[floor(i n/o), ceil((i+1) n/o))`` per axis.

    With output size 1 this is ``I_C (x) 1^T/(HW)`` (M2).
    """
    c, *in_sp = in_shape
    axes = []
    for n, o in zip(in_sp, out_sp):
        oi, ui, wi = [], [], []
        for i in range(o):
            a, b = (i * n) // o, math.ceil((i + 1) * n / o)
            oi += [i] * (b - a)
            ui += list(range(a, b))
            wi += [1.0 / (b - a)] * (b - a)
        axes.append((np.array(oi, dtype=np.int64), np.array(ui, dtype=np.int64), np.array(wi)))
    return _plane_product(c, in_sp, out_sp, axes)


def selection_csr(indices: torch.Tensor, in_shape: Sequence[int]) -> sp.csr_matrix:
    """Max-pool selection ``S(x)``: one 1 per row, at the flat in-plane index PyTorch returned for that output.

    Shape:
        indices: ``(C, *out spatial)`` (from ``return_indices=True``); result ``(C*prod(out), C*prod(in))``.
    """
    c = in_shape[0]
    plane = int(np.prod(in_shape[1:]))
    idx = indices.reshape(c, -1).cpu().numpy().astype(np.int64)
    cols = idx + np.arange(c)[:, None] * plane
    return coo(np.arange(cols.size), cols.ravel(), np.ones(cols.size), (cols.size, c * plane))
