"""The per-layer rules of :func:`numerics.from_torch`: one torch leaf operation on a traced tensor, lowered exactly.

:func:`_apply` lowers one leaf (a module, or ``"relu"`` / ``"flatten"``) on a
:class:`numerics.convert._lower.Lowering`: ``Conv1d`` as a tree layer
(:func:`numerics.convert._lower_layers.conv_layer`), ``Linear`` as an exact matrix product plus bias, ``Conv2d``
and ``AvgPool2d`` as exact taps, eval-mode ``BatchNorm1d`` / ``BatchNorm2d`` as exact per-channel affine maps (:mod:`numerics.convert._lower_2d`; torch's stride, padding and dilation settings
are read by :func:`_conv2d` / :func:`_avg_pool2d`, which the traversal also calls for ``F.conv2d`` /
``F.avg_pool2d``), ``LocallyConnected1d`` and ``DenseOnSignal`` as their own layers, ``ReLU``, ``Flatten``,
``Identity`` and eval ``Dropout`` as what they are; max pooling, and anything else, is an error naming the layer.
:data:`_LEAVES` lists the module types the tracer keeps whole; :func:`_ops` opens a :class:`numerics.SpecModule`
into its layers. The traversal of the traced graph is :mod:`numerics.convert._import`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import torch
from torch import nn

import theory

from .._errors import bad
from ._lower import Lowering
from ._lower_2d import avg_pool2d, conv2d
from ._lower_forms import Sym
from ._lower_layers import conv_layer, exact_array, exact_dense, exact_scalar
from ._lower_max import max_pool
from ._module import DenseOnSignal, LocallyConnected1d, SpecModule

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
_CLIPS = (nn.Hardtanh,)  # nn.ReLU6 is a Hardtanh(0, 6)
_SMOOTH = (nn.Sigmoid, nn.Tanh, nn.GELU, nn.SiLU, nn.Softplus, nn.ELU, nn.Mish)
_LEAVES = (
    nn.MaxPool1d,
    nn.MaxPool2d,
    *_BATCH_NORMS,
    *_CLIPS,
    *_SMOOTH,
    nn.Conv1d,
    nn.Conv2d,
    nn.AvgPool2d,
    nn.Linear,
    nn.ReLU,
    nn.Flatten,
    nn.Identity,
    nn.Dropout,
    LocallyConnected1d,
    DenseOnSignal,
    SpecModule,
)
_MAX_POOLS = (
    nn.MaxPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.FractionalMaxPool2d,
)
_SUPPORTED = (
    "Conv1d, Conv2d, AvgPool2d, Linear, BatchNorm1d / BatchNorm2d (eval), ReLU, Hardtanh / ReLU6, Flatten, Identity, "
    "Dropout (eval), "
    "LocallyConnected1d or DenseOnSignal"
)
_MAX_POOL = "MaxPool1d / MaxPool2d modules (floor mode, no indices), read as exact ReLU max trees"


def _pair(x: Any) -> tuple[int, int]:
    return (x, x) if isinstance(x, int) else (int(x[0]), int(x[-1]))


def _pads2d(padding: Any, kernel: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) zeros of torch's ``padding`` (an int, a pair, ``"valid"`` or ``"same"``: the
    extra zero of an odd total goes to the bottom / right, as torch pads)."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        th, tw = (d * (k - 1) for k, d in zip(kernel, dilation))
        return th // 2, tw // 2, th - th // 2, tw - tw // 2
    ph, pw = _pair(padding)
    return ph, pw, ph, pw


def _conv2d(
    lo: Lowering, v: Sym, weight: Any, bias: Any, stride: Any, padding: Any, dilation: Any, groups: int, *, where: str
) -> Sym:
    dilation = _pair(dilation)
    return conv2d(
        lo,
        v,
        weight,
        bias,
        stride=_pair(stride),
        pads=_pads2d(padding, tuple(weight.shape[2:]), dilation),
        dilation=dilation,
        groups=int(groups),
        where=where,
    )


def _avg_pool2d(
    lo: Lowering,
    v: Sym,
    kernel: Any,
    stride: Any,
    padding: Any,
    ceil_mode: bool,
    count_pad: bool,
    divisor: Any,
    *,
    where: str,
) -> Sym:
    if ceil_mode:
        raise bad(where, "AvgPool2d(ceil_mode=True)", "ceil_mode=False (windows inside the padded signal)")
    ph, pw = _pair(padding)
    return avg_pool2d(
        lo,
        v,
        _pair(kernel),
        stride=_pair(stride or kernel),
        pads=(ph, pw, ph, pw),
        count_pad=bool(count_pad),
        divisor=divisor,
        where=where,
    )


def _batch_norm(lo: Lowering, v: Sym, op: Any, where: str) -> Sym:
    """BatchNorm in eval mode: per channel ``c``, ``y = s_c (x - mean_c) + bias_c`` with ``s_c`` the float64 value
    of ``weight_c / sqrt(running_var_c + eps)`` (computed as torch computes it, then read exactly); the shift
    ``bias_c - s_c mean_c`` exact. On a ``(C, n)`` signal it is one pointwise layer (shared by every position);
    on ``(C, H, W)`` or ``(C,)`` its affine forms, one tap per element."""
    if op.training or op.running_mean is None or op.running_var is None:
        raise bad(
            where or "module",
            f"{type(op).__name__} in training mode or without running statistics",
            "BatchNorm in eval mode (model.eval()) with running statistics: in training mode it divides by the "
            "batch's own statistics, which is not a fixed map",
        )
    c = op.num_features
    if not v.shape or v.shape[0] != c:
        raise bad(where, f"{type(op).__name__}({c}) on a signal of shape {v.shape}", f"{c} channels first")
    var, mean = op.running_var.detach().double(), op.running_mean.detach().double()
    weight = op.weight.detach().double() if op.weight is not None else torch.ones(c, dtype=torch.float64)
    bias = op.bias.detach().double() if op.bias is not None else torch.zeros(c, dtype=torch.float64)
    s = exact_dense(weight / torch.sqrt(var + op.eps), where)
    shift = exact_dense(bias, where) - s * exact_dense(mean, where)
    if v.index.ndim == 3:  # a (batch, C, n) signal: a per-channel map at every position
        return lo.tree(
            v,
            lambda ch, n: theory.PointwiseLayer(
                theory.SparseArray.from_dense(np.diag(s)), theory.SparseArray.from_dense(shift), relu=False
            ),
            where,
        )
    per = int(np.prod(v.shape[1:], dtype=np.int64))
    taps = [[(s[e // per], e)] for e in range(c * per)]
    return lo.linear(v, v.shape, taps, [shift[e // per] for e in range(c * per)], where)


def _max_pool(lo: Lowering, v: Sym, op: Any, where: str) -> Sym:
    """``MaxPool1d`` / ``MaxPool2d`` (floor mode, no indices) as an exact ReLU max tree (:func:`max_pool`)."""
    if op.ceil_mode or op.return_indices:
        raise bad(where, f"{type(op).__name__}(ceil_mode={op.ceil_mode}, return_indices={op.return_indices})",
                  "ceil_mode=False and return_indices=False")  # fmt: skip
    n = 2 if isinstance(op, nn.MaxPool2d) else 1
    spread = lambda x: tuple(x) if isinstance(x, (tuple, list)) else (int(x),) * n  # noqa: E731
    kernel = spread(op.kernel_size)
    return max_pool(lo, v, kernel, spread(op.stride or kernel), spread(op.padding), spread(op.dilation), where)


def _clip(lo: Lowering, v: Sym, a: Fraction, b: Fraction, where: str) -> Sym:
    """``clip(x, a, b) = a + relu(x - a) - relu(x - b)`` for ``a <= b`` (Hardtanh, ReLU6), exactly: both ReLUs in
    one layer (the two shifted copies stacked on a new axis), then their difference."""
    if not a <= b:
        raise bad(where, f"a clip to [{a}, {b}]", "min_val <= max_val")
    v = lo.add_const(v, np.array(-a, dtype=object), where)
    shifted = lo.add_const(v, np.array(a - b, dtype=object), where)
    both = lo.relu(Sym(np.stack([v.index, shifted.index], axis=v.baxis + 1), v.baxis))
    low, high = (Sym(np.take(both.index, i, axis=v.baxis + 1), v.baxis) for i in (0, 1))
    return lo.add_const(lo.add(low, high, -1, where), np.array(a, dtype=object), where)


def _ops(module: nn.Module) -> list[tuple[str, Any]]:
    """``(where, op)`` of a module that is a plain list of layers: ``op`` a leaf module or ``"relu"``."""
    if isinstance(module, SpecModule):
        out: list[tuple[str, Any]] = []
        for i, (layer, relu) in enumerate(zip(module.layers, module.relu)):
            out.append((f"layers.{i}", layer))
            if relu:
                out.append((f"layers.{i} relu", "relu"))
        return out
    return [("", module)]


def _apply(lo: Lowering, v: Sym, where: str, op: Any) -> Sym:
    """One leaf operation on the traced tensor ``v``."""
    if op == "relu" or isinstance(op, nn.ReLU):
        return lo.relu(v)
    if op == "flatten" or (isinstance(op, nn.Flatten) and op.start_dim == 1 and op.end_dim == -1):
        return lo.flatten(v, 1, where)
    if isinstance(op, nn.Identity) or (isinstance(op, nn.Dropout) and not op.training):
        return v
    if isinstance(op, nn.Conv2d):
        if op.padding_mode != "zeros":
            raise bad(where, f"Conv2d(padding_mode={op.padding_mode!r})", "padding_mode='zeros'")
        return _conv2d(lo, v, op.weight, op.bias, op.stride, op.padding, op.dilation, op.groups, where=where)
    if isinstance(op, nn.AvgPool2d):
        return _avg_pool2d(
            lo,
            v,
            op.kernel_size,
            op.stride,
            op.padding,
            op.ceil_mode,
            op.count_include_pad,
            op.divisor_override,
            where=where,
        )
    if isinstance(op, (nn.MaxPool1d, nn.MaxPool2d)):
        return _max_pool(lo, v, op, where)
    if isinstance(op, _MAX_POOLS):
        raise bad(where or "module", type(op).__name__, _MAX_POOL)
    if isinstance(op, _BATCH_NORMS):
        return _batch_norm(lo, v, op, where)
    if isinstance(op, _SMOOTH):
        raise bad(
            where or "module",
            type(op).__name__,
            "piecewise-linear layers: it is smooth, so no exact ReLU network computes it (a head of "
            "theory.approximate_head approximates it with a proved error bound)",
        )
    if isinstance(op, _CLIPS):
        return _clip(lo, v, exact_scalar(op.min_val, where), exact_scalar(op.max_val, where), where)
    if isinstance(op, nn.Conv1d):
        if v.index.ndim != 3:
            raise bad(
                where,
                f"Conv1d on a signal of shape {v.shape} (after Flatten/Linear, or 2-D)",
                "convolutions on a (batch, channels, positions) signal",
            )
        c = v.shape[0]
        if op.in_channels != c or op.padding_mode != "zeros" or isinstance(op.padding, str):
            raise bad(
                where,
                f"Conv1d(in_channels={op.in_channels}, padding={op.padding!r}, padding_mode="
                f"{op.padding_mode!r}) on {c} channels",
                f"in_channels {c}, numeric zero padding",
            )
        (stride,), (pad,), (dil,) = op.stride, op.padding, op.dilation
        return lo.tree(
            v,
            lambda c, n: conv_layer(
                op.weight,
                op.bias,
                c,
                n,
                stride=stride,
                pads=(pad, pad),
                dilation=dil,
                groups=op.groups,
                where=where,
                guard=lo.guard,
            )[0],
            where,
        )
    if isinstance(op, nn.Linear):
        if v.shape[-1] != op.in_features:
            raise bad(
                where,
                f"Linear(in_features={op.in_features}) on a signal of shape {v.shape}",
                f"a Linear on the last axis (after Flatten: the flattened signal), in_features = {v.shape[-1]}",
            )
        lo.guard(op.in_features * op.out_features, where, "a Linear layer's exact weights")
        v = lo.matmul(v, exact_dense(op.weight.T, where), where)
        return v if op.bias is None else lo.add_const(v, exact_dense(op.bias, where), where)
    if isinstance(op, LocallyConnected1d):
        return lo.tree(
            v,
            lambda c, n: theory.LocalLayer(
                exact_array(op.weight, op.weight.shape, where), exact_array(op.bias, op.bias.shape, where), relu=False
            ),
            where,
        )
    if isinstance(op, DenseOnSignal):
        return lo.tree(
            v,
            lambda c, n: theory.DenseLayer(
                exact_array(op.weight, op.shape, where), exact_array(op.bias, op.shape[:2], where), relu=False
            ),
            where,
        )
    raise bad(where or "module", type(op).__name__, _SUPPORTED)
