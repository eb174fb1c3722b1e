"""Exact spec layers from float weights: the per-layer half of importing a network (torch modules, ONNX files).

Every finite float16 / float32 / float64 (and bfloat16) number is a dyadic rational, so :func:`exact_array` reads
weights without loss. :func:`conv_layer` lowers a 1-D convolution: kernel = stride without padding is a tree layer
(:class:`theory.ConvLayer`, or :class:`theory.PointwiseLayer` for kernel 1); any other stride, padding, dilation or
grouping is written out as a :class:`theory.DenseLayer` on the signal:
``out[p, o] = b[o] + sum_{t, ci} w[o, ci, t] h[p stride - pad_left + t dilation, g(o) c_g + ci]`` with
``g(o) = o // (c_out / groups)`` and ``c_g = c_in / groups`` (positions outside the signal read zero padding).
:func:`recover` finds the tree structure of a dense layer again (pointwise, conv, locally connected), exactly.
The 2-D operations, which build affine forms on a :class:`numerics.convert._lower.Lowering` rather than layers,
are in :mod:`numerics.convert._lower_2d`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from itertools import pairwise
from typing import Any

import numpy as np
import torch

import theory

from .._errors import NumericsError, bad

_FLOATS = (np.float16, np.float32, np.float64)


def as_float64(a: Any, where: str) -> np.ndarray:
    """A float tensor or array as float64 numpy (exact: every narrower float is a float64).

    Raises:
        NumericsError: not a float array (ints, complex, strings have no place among weights).
    """
    if isinstance(a, torch.Tensor):
        if not a.is_floating_point():
            raise bad(where, f"a {a.dtype} tensor", "float weights")
        return a.detach().to("cpu", torch.float64).numpy()
    a = np.asarray(a)
    if a.dtype.type not in _FLOATS:
        raise bad(where, f"an array of {a.dtype}", "float16, float32 or float64 weights")
    return a.astype(np.float64)


def exact_dense(t: Any, where: str) -> np.ndarray:
    """The exact rationals of a float tensor or array, as an object array of ``Fraction`` of the same shape.

    Raises:
        NumericsError: a non-finite entry, or not a float array.
    """
    a = as_float64(t, where)
    if not np.isfinite(a).all():
        raise NumericsError(f"{where}: has nan or inf entries, which have no exact value")
    out = np.full(a.shape, Fraction(0), dtype=object)
    flat, src = out.reshape(-1), a.reshape(-1)
    nz = np.flatnonzero(src)
    flat[nz] = [Fraction(*float(v).as_integer_ratio()) for v in src[nz]]
    return out


def exact_scalar(value: Any, where: str) -> Fraction:
    """A finite float attribute (a clip bound) as its exact binary value."""
    return exact_dense(np.array([float(value)]), where)[0]


def exact_array(t: Any, shape: Sequence[int], where: str) -> theory.SparseArray:
    """The exact rationals of a float tensor or array (every finite float is a dyadic rational), as a sparse array.

    Raises:
        NumericsError: a non-finite entry (nan or inf has no exact value), or not a float array.
    """
    a = as_float64(t, where).reshape(-1)
    if not np.isfinite(a).all():
        raise NumericsError(f"{where}: has nan or inf entries, which have no exact value")
    keys = np.flatnonzero(a)
    vals = np.empty(keys.size, dtype=object)
    vals[:] = [Fraction(*float(v).as_integer_ratio()) for v in a[keys]]
    return theory.SparseArray(tuple(int(s) for s in shape), keys.astype(np.int64), vals)


def conv_layer(
    weight: Any,
    bias: Any,
    c_in: int,
    n: int,
    *,
    stride: int,
    pads: tuple[int, int],
    dilation: int,
    groups: int,
    where: str,
    guard: Callable[[int, str, str], None] | None = None,
) -> tuple[theory.Layer, int]:
    """The exact layer of a 1-D convolution on ``n`` positions, and its number of output positions.

    Shape: ``(n, c_in) -> (n_out, c_out)``, ``n_out = (n + pad_l + pad_r - dilation (k - 1) - 1) // stride + 1``.

    Args:
        weight: floats ``(c_out, c_in / groups, k)``; bias: floats ``(c_out,)`` or None (zero).
        pads: zeros added on the left and on the right.
        guard: the import's memory guard (:meth:`AffineForms.guard`), asked before a dense layer is built.
    Raises:
        NumericsError: channels that do not match, no output position, non-finite weights.
    """
    w = as_float64(weight, where)
    c_out, cg_in, k = w.shape
    b = np.zeros(c_out) if bias is None else as_float64(bias, where).reshape(-1)
    pad_l, pad_r = pads
    if groups < 1 or cg_in * groups != c_in or c_out % groups or b.shape != (c_out,) or min(pad_l, pad_r) < 0:
        raise bad(
            where,
            f"a convolution with weight {tuple(w.shape)}, {groups} groups, pads {pads} on {c_in} channels",
            f"weight (c_out, c_in / groups, k) with c_in = {c_in}, c_out divisible by groups, bias (c_out,), pads >= 0",
        )
    if k == stride and pad_l == pad_r == 0 and dilation == 1 and groups == 1 and n % k == 0:
        if k == 1:
            return theory.PointwiseLayer(
                exact_array(w, (c_out, c_in), where), exact_array(b, (c_out,), where), relu=False
            ), n
        return theory.ConvLayer(exact_array(w, w.shape, where), exact_array(b, b.shape, where), relu=False), n // k
    n_out = (n + pad_l + pad_r - dilation * (k - 1) - 1) // stride + 1
    if n_out < 1 or stride < 1 or dilation < 1:
        raise bad(
            where,
            f"a convolution (kernel {k}, stride {stride}, pads {pads}, dilation {dilation}) on {n} positions",
            "a convolution with at least one output position",
        )
    if guard is not None:
        guard(n_out * c_out * cg_in * k, where, "a convolution's weights as a dense layer")
    # the dense layer (n_out, c_out, n, c_in) built by its nonzeros: output (p, o) reads input position
    # p stride - pad_l + t dilation, channels first[o] + ci, with weight w[o, ci, t]
    p, o, t, ci = (
        a.reshape(-1)
        for a in np.meshgrid(np.arange(n_out), np.arange(c_out), np.arange(k), np.arange(cg_in), indexing="ij")
    )
    src = p * stride - pad_l + t * dilation
    inside = (src >= 0) & (src < n)
    p, o, t, ci, src = p[inside], o[inside], t[inside], ci[inside], src[inside]
    first = (o // (c_out // groups)) * cg_in  # output channel o reads input channels first[o] + ci
    keys = np.ravel_multi_index((p, o, src, first + ci), (n_out, c_out, n, c_in))
    order = np.argsort(keys, kind="stable")
    weights = w[o, ci, t][order]
    nz = weights != 0
    vals = np.empty(int(nz.sum()), dtype=object)
    vals[:] = [Fraction(*float(v).as_integer_ratio()) for v in weights[nz]]
    weight = theory.SparseArray((n_out, c_out, n, c_in), keys[order][nz].astype(np.int64), vals)
    bias_full = np.ascontiguousarray(np.broadcast_to(b, (n_out, c_out)))
    return theory.DenseLayer(weight, exact_array(bias_full, bias_full.shape, where), relu=False), n_out


def recover(weight: theory.SparseArray, bias: theory.SparseArray, relu: bool) -> theory.Layer:
    """The most structured layer equal to the dense layer ``(weight, bias)``: pointwise, conv, local or dense.

    ``weight`` is ``(n_out, c_out, n_in, c_in)``; with ``s = n_in / n_out``, output position ``p`` must read only
    input positions ``p s ... p s + s - 1`` for a tree layer; equal weights and biases at every position make it
    shared (conv, or pointwise for ``s = 1``), else it is locally connected (``s >= 2``). Exact comparisons only.
    """
    n_out, c_out, n_in, c_in = weight.shape
    dense = theory.DenseLayer(weight, bias, relu=relu)
    if n_in % n_out:
        return dense
    s = n_in // n_out
    p, o, q, c = np.unravel_index(weight.keys, weight.shape)
    if np.any(q // s != p):
        return dense
    local = (n_out, c_out, c_in, s)
    keys = np.ravel_multi_index((p, o, c, q % s), local)
    order = np.argsort(keys, kind="stable")
    w_local = theory.SparseArray(local, keys[order], weight.values[order])
    per = c_out * c_in * s
    cut = np.searchsorted(w_local.keys, np.arange(n_out + 1) * per)  # keys are sorted by position first
    bcut = np.searchsorted(bias.keys, np.arange(n_out + 1) * c_out)
    rows = [(w_local.keys[a:b] % per, w_local.values[a:b]) for a, b in pairwise(cut)]
    brows = [(bias.keys[a:b] % c_out, bias.values[a:b]) for a, b in pairwise(bcut)]
    shared = all(np.array_equal(rows[0][0], k) and list(rows[0][1]) == list(v) for k, v in rows[1:]) and all(
        np.array_equal(brows[0][0], k) and list(brows[0][1]) == list(v) for k, v in brows[1:]
    )
    if shared:
        b = theory.SparseArray((c_out,), brows[0][0], brows[0][1])
        if s == 1:
            return theory.PointwiseLayer(theory.SparseArray((c_out, c_in), rows[0][0], rows[0][1]), b, relu=relu)
        return theory.ConvLayer(theory.SparseArray((c_out, c_in, s), rows[0][0], rows[0][1]), b, relu=relu)
    if s == 1:
        return dense
    return theory.LocalLayer(w_local, bias, relu=relu)
