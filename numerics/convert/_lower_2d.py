"""2-D operations of an imported network as exact taps on the lowering: ``Conv2d`` and ``AvgPool2d``.

A ``(batch, C, H, W)`` signal is a spec signal of ``H W`` positions (position ``h W + w``); :func:`conv2d` and
:func:`avg_pool2d` turn a 2-D convolution or average pooling into exact taps (``Fraction`` weights read losslessly
by :func:`numerics.convert._lower_layers.exact_dense`) that :meth:`numerics.convert._lower.Lowering.linear` writes
as affine forms, so they become dense layers: no tree layer kind is 2-D. Both importers use them:
:func:`numerics.from_torch` (``Conv2d``, ``F.conv2d``, ``AvgPool2d``) and :func:`numerics.from_onnx` (2-D ``Conv``,
``AveragePool``).

This module sits above :mod:`numerics.convert._lower` (with :mod:`numerics.convert._lower_forms` below it) and
:mod:`numerics.convert._lower_layers` (it imports them, none imports it), so the lowering and its per-layer helpers
import each other in one direction only.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from .._errors import bad
from ._lower import Lowering
from ._lower_forms import Sym
from ._lower_layers import exact_dense


def _two_d(v: Sym, what: str, where: str) -> None:
    if len(v.shape) != 3:
        raise bad(
            where,
            f"a {what} on a signal of shape {v.shape}",
            "a (batch, channels, H, W) signal: input_shape (c_in, H, W), before any Flatten",
        )


def _taps2d(
    lo: Lowering,
    v: Sym,
    w: np.ndarray,
    b: np.ndarray,
    *,
    stride: Sequence[int],
    pads: Sequence[int],
    dilation: Sequence[int],
    groups: int,
    where: str,
    mean_of_valid: bool = False,
) -> Sym:
    """The exact 2-D convolution of ``v`` with Fraction weights ``w`` ``(c_out, c_in / groups, kh, kw)`` and bias
    ``b`` ``(c_out,)``; ``pads`` = (top, left, bottom, right) zeros; ``mean_of_valid`` divides each output by
    its number of taps inside the signal (average pooling without the padding)."""
    (c_in, hh, ww), (c_out, cg, kh, kw) = v.shape, w.shape
    ok = len(stride) == len(dilation) == 2 and len(pads) == 4 and min(*stride, *dilation) >= 1 and min(pads) >= 0
    (sh, sw), (dh, dw), (top, left, bottom, right) = (stride, dilation, pads) if ok else ((1, 1), (1, 1), (0,) * 4)
    ho, wo = (hh + top + bottom - dh * (kh - 1) - 1) // sh + 1, (ww + left + right - dw * (kw - 1) - 1) // sw + 1
    if not ok or groups < 1 or cg * groups != c_in or c_out % groups or b.shape != (c_out,) or ho < 1 or wo < 1:
        raise bad(
            where,
            f"weight {w.shape}, {groups} groups, stride {tuple(stride)}, pads {tuple(pads)}, dilation "
            f"{tuple(dilation)} on a signal of shape {v.shape}",
            f"weight (c_out, c_in / groups, kh, kw) "
            f"with c_in = {c_in}, c_out divisible by groups, 2 strides and dilations >= 1, 4 pads >= 0, at least "
            "one output position",
        )
    lo.guard(c_out * ho * wo * cg * kh * kw, where, "a 2-D convolution's taps")
    taps, biases = [], []
    for o in range(c_out):
        first = (o // (c_out // groups)) * cg
        for i in range(ho):
            for j in range(wo):
                t = []
                for a in range(kh):
                    for e in range(kw):
                        y, x = i * sh - top + a * dh, j * sw - left + e * dw
                        if 0 <= y < hh and 0 <= x < ww:
                            t += [(w[o, ci, a, e], ((first + ci) * hh + y) * ww + x) for ci in range(cg)]
                if mean_of_valid:
                    t = [(c / (len(t) // cg), k) for c, k in t]
                taps.append(t)
                biases.append(b[o])
    return lo.linear(v, (c_out, ho, wo), taps, biases, where)


def conv2d(
    lo: Lowering,
    v: Sym,
    weight: Any,
    bias: Any,
    *,
    stride: Sequence[int],
    pads: Sequence[int],
    dilation: Sequence[int],
    groups: int,
    where: str,
) -> Sym:
    """``Conv2d`` / ``F.conv2d`` / ONNX 2-D ``Conv`` (zero padding, (top, left, bottom, right)) on ``v``:
    ``out[o, i, j] = b[o] + sum w[o, ci, a, e] in[g(o) c_g + ci, i sh - top + a dh, j sw - left + e dw]``."""
    _two_d(v, "2-D convolution (Conv2d)", where)
    w = exact_dense(weight, where)
    if w.ndim != 4:
        raise bad(where, f"a convolution weight of shape {w.shape}", "(c_out, c_in / groups, kh, kw)")
    b = np.full(w.shape[0], Fraction(0), object) if bias is None else exact_dense(bias, where).reshape(-1)
    return _taps2d(lo, v, w, b, stride=stride, pads=pads, dilation=dilation, groups=groups, where=where)


def avg_pool2d(
    lo: Lowering,
    v: Sym,
    kernel: Sequence[int],
    *,
    stride: Sequence[int],
    pads: Sequence[int],
    count_pad: bool,
    divisor: int | None,
    where: str,
) -> Sym:
    """``AvgPool2d`` / ONNX ``AveragePool`` (floor mode): the mean of each window, per channel; the divisor is
    ``divisor``, else ``kh kw`` with ``count_pad``, else the window's taps inside the signal. Exact."""
    _two_d(v, "2-D average pooling (AvgPool2d)", where)
    if len(kernel) != 2 or min(kernel) < 1 or divisor is not None and divisor < 1:
        raise bad(
            where,
            f"average pooling with kernel {tuple(kernel)}, divisor {divisor}",
            "a 2-D kernel of positive sizes, a positive divisor",
        )
    c, (kh, kw) = v.shape[0], kernel
    one = Fraction(1, divisor if divisor else kh * kw) if divisor or count_pad else Fraction(1)
    return _taps2d(
        lo,
        v,
        np.full((c, 1, kh, kw), one, object),
        np.full(c, Fraction(0), object),
        stride=stride,
        pads=pads,
        dilation=(1, 1),
        groups=c,
        where=where,
        mean_of_valid=not (divisor or count_pad),
    )
