"""Dispatch from supported leaf module types to their matrix-vector forms; conv and pooling leaves live here.

Only exact types are dispatched (a subclass may override ``forward``, which the walker must not guess at).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..._errors import NumericsError
from ._activations import ACTIVATIONS, activation
from ._attention import self_attention
from ._conv import _pair, conv_from_args, resolve_padding
from ._leaf import LeafMap, forward
from ._linear import ChannelsToTokens, channels_to_tokens, linear, reshape_only
from ._norm import batch_norm, layer_norm
from ._pool import adaptive_avg_csr, avg_pool_csr, selection_csr, window_pattern_csr


def _as_2d(h: torch.Tensor, nd: int) -> tuple[int, ...]:
    """Per-sample shape as ``(C, H, W)``; 1-D layers get ``H = 1``."""
    return tuple(h.shape) if nd == 2 else (h.shape[0], 1, h.shape[1])


def _check_dims(module: nn.Module, h: torch.Tensor, nd: int, path: str) -> None:
    if h.dim() != nd + 1:
        raise NumericsError(
            f"{path}: {type(module).__name__} needs a per-sample input of {nd + 1} dims "
            f"(C, {'H, W' if nd == 2 else 'L'}), got {tuple(h.shape)}"
        )


def conv(module: nn.Conv1d | nn.Conv2d, h: torch.Tensor, path: str, structural: bool) -> LeafMap:
    """Conv1d/Conv2d (zeros padding) as ``M_K x + b (x) 1`` (M1); see :func:`numerics.duat.conv_matrix`."""
    nd = 2 if isinstance(module, nn.Conv2d) else 1
    _check_dims(module, h, nd, path)
    if module.padding_mode != "zeros":
        raise NumericsError(
            f"{path}: {type(module).__name__}(padding_mode={module.padding_mode!r}) is not "
            f"supported; allowed: padding_mode='zeros'"
        )
    out = forward(module, h)  # torch validates shapes first (its errors name the problem)
    pads = resolve_padding(module.padding, module.kernel_size, module.dilation)
    w = torch.ones_like(module.weight) if structural else module.weight
    m = conv_from_args(w, tuple(h.shape), module.stride, pads, module.dilation, module.groups)
    b = module.bias.detach().double().numpy() if module.bias is not None else np.zeros(module.out_channels)
    return LeafMap(m, np.repeat(b, out[0].numel()), out, m)


def _pool_args(module, nd: int):
    k = _pair(module.kernel_size, "kernel_size", nd)
    s = _pair(module.stride if module.stride else module.kernel_size, "stride", nd)
    p = _pair(module.padding, "padding", nd)
    lift = lambda t, one: t if nd == 2 else (one,) + t
    return lift(k, 1), lift(s, 1), lift(p, 0)


def avg_pool(module: nn.AvgPool1d | nn.AvgPool2d, h: torch.Tensor, path: str, structural: bool) -> LeafMap:
    """AvgPool1d/2d (either count_include_pad, ceil_mode, divisor_override) as a fixed matrix (M2)."""
    nd = 2 if isinstance(module, nn.AvgPool2d) else 1
    _check_dims(module, h, nd, path)
    k, s, p = _pool_args(module, nd)
    out = forward(module, h)
    out_sp = _as_2d(out, nd)[1:]
    m = avg_pool_csr(
        _as_2d(h, nd), out_sp, k, s, p, module.count_include_pad, getattr(module, "divisor_override", None)
    )
    if structural:
        m.data[:] = 1.0
    return LeafMap(m, np.zeros(out.numel()), out, m)


def adaptive_avg_pool(module, h: torch.Tensor, path: str, structural: bool) -> LeafMap:
    """AdaptiveAvgPool1d/2d as a fixed matrix (M2; ``I_C (x) 1^T/(HW)`` for output size 1)."""
    nd = 2 if isinstance(module, nn.AdaptiveAvgPool2d) else 1
    _check_dims(module, h, nd, path)
    out = forward(module, h)
    m = adaptive_avg_csr(_as_2d(h, nd), _as_2d(out, nd)[1:])
    if structural:
        m.data[:] = 1.0
    return LeafMap(m, np.zeros(out.numel()), out, m)


def max_pool(module: nn.MaxPool1d | nn.MaxPool2d, h: torch.Tensor, path: str, structural: bool) -> LeafMap:
    """MaxPool1d/2d as ``S(x) x`` (M3): ``S`` from ``return_indices=True``; structurally its full window."""
    nd = 2 if isinstance(module, nn.MaxPool2d) else 1
    _check_dims(module, h, nd, path)
    fn = F.max_pool2d if nd == 2 else F.max_pool1d
    with torch.no_grad():
        out, idx = fn(
            h[None],
            module.kernel_size,
            module.stride,
            module.padding,
            module.dilation,
            ceil_mode=module.ceil_mode,
            return_indices=True,
        )
    out, idx = out[0], idx[0]
    if structural:
        k, s, p = _pool_args(module, nd)
        d = _pair(module.dilation, "dilation", nd)
        m = window_pattern_csr(_as_2d(h, nd), _as_2d(out, nd)[1:], k, s, p, d if nd == 2 else (1,) + d)
    else:
        m = selection_csr(idx, tuple(h.shape))
    return LeafMap(m, np.zeros(out.numel()), out, None, {"selection": idx}, weight_dynamic=True)


# The module argument is Any: each handler takes the exact type it is keyed under (conv takes Conv1d | Conv2d, ...),
# a per-key relation that a Callable type over nn.Module cannot express (parameters are contravariant).
Handler = Callable[[Any, torch.Tensor, str, bool], LeafMap]
LEAVES: dict[type, Handler] = {
    nn.Conv1d: conv,
    nn.Conv2d: conv,
    nn.AvgPool1d: avg_pool,
    nn.AvgPool2d: avg_pool,
    nn.AdaptiveAvgPool1d: adaptive_avg_pool,
    nn.AdaptiveAvgPool2d: adaptive_avg_pool,
    nn.MaxPool1d: max_pool,
    nn.MaxPool2d: max_pool,
    nn.BatchNorm1d: batch_norm,
    nn.BatchNorm2d: batch_norm,
    nn.LayerNorm: layer_norm,
    nn.Linear: linear,
    nn.MultiheadAttention: self_attention,
    ChannelsToTokens: channels_to_tokens,
    nn.Flatten: reshape_only,
    nn.Unflatten: reshape_only,
    nn.Identity: reshape_only,
    nn.Dropout: reshape_only,
    **{cls: activation for cls in ACTIVATIONS},
}
"""Exact module type -> handler ``(module, sample, path, structural) -> LeafMap``."""

SUPPORTED_NAMES = ", ".join(
    sorted(f"nn.{c.__name__}" if c.__module__.startswith("torch") else c.__name__ for c in LEAVES)
)
