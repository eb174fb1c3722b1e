"""The one exact-to-float conversion: rational specs become torch modules.

Every rational weight is rounded once, directly from the exact value to the target dtype (round to nearest,
ties to even). Rounding through float64 first would double-round some values in float32/float16/bfloat16.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import torch
from torch import nn

import theory
from theory.cli import MEMORY_BUDGET, check_budget, format_count, guard_memory

from .._errors import NumericsError, bad

DTYPES = {"float64": torch.float64, "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
_PRECISION = {
    torch.float64: (53, -1022),
    torch.float32: (24, -126),
    torch.float16: (11, -14),
    torch.bfloat16: (8, -126),
}
_STAGING_PER_NONZERO = 40
"""Bytes per nonzero while one array is converted: the int64 keys tensor, the list of rounded values, the float64
values tensor (measured ~24)."""
_STAGING_FIXED = 16 << 20
"""Allocator and library workspaces of a conversion."""


def resolve_dtype(dtype: Any) -> torch.dtype:
    """A floating torch dtype from a dtype or its name ('float32', ...)."""
    if isinstance(dtype, str) and dtype in DTYPES:
        return DTYPES[dtype]
    if isinstance(dtype, torch.dtype) and dtype in _PRECISION:
        return dtype
    raise bad("dtype", dtype, "torch.float64, torch.float32, torch.float16 or torch.bfloat16 (or their names)")


def resolve_device(device: Any) -> torch.device:
    """A torch device from ``'cpu'``, ``'cuda'``, ``'cuda:N'``, ``'auto'`` (CUDA when available) or a device."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise bad("device", device, "'cpu', 'cuda', 'cuda:N', 'auto' or a torch.device") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise bad("device", device, "'cpu' or 'auto' on this machine: CUDA is not available")
    if dev.type not in ("cpu", "cuda"):
        raise bad("device", device, "a cpu or cuda device")
    return dev


def round_rational(q: Fraction, dtype: torch.dtype) -> float:
    """``q`` correctly rounded (nearest, ties to even) to ``dtype``, returned as the exact float64 value.

    Formula: with ``p`` significand bits and minimum normal exponent ``emin``, let ``e = max(floor(log2|q|),
    emin)``; the result is ``round_half_even(q / 2^(e-p+1)) * 2^(e-p+1)``.

    Raises:
        NumericsError: when ``|q|`` rounds beyond the largest finite value of ``dtype``.
    """
    p, emin = _PRECISION[resolve_dtype(dtype)]
    if q == 0:
        return 0.0
    a = abs(q)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    e = max(e, emin)
    scale = Fraction(2) ** (e - p + 1)
    m = round(a / scale)  # Fraction.__round__ rounds half to even
    if m * scale > Fraction(torch.finfo(dtype).max):
        raise NumericsError(f"weight {q} overflows {dtype} (largest finite value {torch.finfo(dtype).max})")
    value = float(m * scale)
    return value if q > 0 else -value


def to_tensor(a: theory.SparseArray, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Dense tensor of a sparse exact array, each value correctly rounded to ``dtype``."""
    cache: dict[Fraction, float] = {}
    vals = [cache[v] if v in cache else cache.setdefault(v, round_rational(v, dtype)) for v in a.values]
    flat = torch.zeros(a.size, dtype=torch.float64)
    if vals:
        flat[torch.tensor(a.keys, dtype=torch.int64)] = torch.tensor(vals, dtype=torch.float64)
    return flat.to(dtype).reshape(a.shape).to(device)  # float64 -> dtype is exact: values are representable


class LocallyConnected1d(nn.Module):
    """Untied kernel = stride = s layer. Shape: ``(B, c_in, n_out * s) -> (B, c_out, n_out)``.

    ``y[b, o, p] = bias[p, o] + sum_{c, t} weight[p, o, c, t] x[b, c, p s + t]``.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)  # (n_out, c_out, c_in, s)
        self.bias = nn.Parameter(bias, requires_grad=False)  # (n_out, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n_out, _, c_in, s = self.weight.shape
        xv = x.reshape(x.shape[0], c_in, n_out, s)
        return torch.einsum("bcps,pocs->bop", xv, self.weight) + self.bias.T


class DenseOnSignal(nn.Module):
    """Fully connected on the flattened signal. Shape: ``(B, c_in, n_in) -> (B, c_out, n_out)``.

    ``y[b, o, p] = bias[p, o] + sum_{n, c} weight[p, o, n, c] x[b, c, n]``.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        n_out, c_out, n_in, c_in = weight.shape
        self.shape = (n_out, c_out, n_in, c_in)
        self.weight = nn.Parameter(weight.reshape(n_out * c_out, n_in * c_in), requires_grad=False)
        self.bias = nn.Parameter(bias.reshape(-1), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n_out, c_out, n_in, c_in = self.shape
        flat = x.transpose(1, 2).reshape(x.shape[0], n_in * c_in)
        y = torch.nn.functional.linear(flat, self.weight, self.bias)
        return y.reshape(x.shape[0], n_out, c_out).transpose(1, 2)


def _layer_module(layer: theory.Layer, dtype: torch.dtype, device: torch.device) -> nn.Module:
    w, b = to_tensor(layer.weight, dtype, device), to_tensor(layer.bias, dtype, device)
    if layer.kind in ("conv", "pointwise"):
        k = layer.kernel
        conv = nn.Conv1d(layer.c_in, layer.c_out, kernel_size=k, stride=k, bias=True, dtype=dtype, device=device)
        conv.weight = nn.Parameter(w.reshape(layer.c_out, layer.c_in, k), requires_grad=False)
        conv.bias = nn.Parameter(b, requires_grad=False)
        return conv
    if layer.kind == "local":
        return LocallyConnected1d(w, b)
    return DenseOnSignal(w, b)


class SpecModule(nn.Module):
    """A network spec as a torch module.

    Shape: input ``(B, d)`` (when ``c_in == 1``) or ``(B, c_in, d)``; output ``(B, n_D * C_D)``, flattened
    position-major exactly like :func:`theory.evaluate_exact`. Internally ``(B, channels, positions)``.
    Non-finite inputs raise :class:`NumericsError` unless ``check_finite`` is set to False.
    """

    def __init__(self, net: theory.Network, dtype: torch.dtype, device: torch.device) -> None:
        super().__init__()
        self.d, self.c_in, self.n_outputs = net.d, net.c_in, net.n_outputs
        self.content_hash = net.content_hash
        self.dtype, self.device = dtype, device
        self.check_finite = True
        self.layers = nn.ModuleList(_layer_module(layer, dtype, device) for layer in net.layers)
        self.relu = tuple(layer.relu for layer in net.layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2 and self.c_in == 1 and x.shape[1] == self.d:
            h = x.unsqueeze(1)
        elif x.dim() == 3 and tuple(x.shape[1:]) == (self.c_in, self.d):
            h = x
        else:
            want = (f"(batch, {self.d}) or " if self.c_in == 1 else "") + f"(batch, {self.c_in}, {self.d})"
            raise bad("x shape", tuple(x.shape), want)
        if h.dtype != self.dtype or h.device.type != self.device.type:
            raise bad(
                "x",
                f"a {h.dtype} tensor on {h.device}",
                f"{self.dtype} on {self.device}, as the module was built (convert with x.to(dtype=..., device=...))",
            )
        if self.check_finite and not bool(torch.isfinite(h).all()):
            raise bad(
                "x", "a tensor with nan or inf entries", "finite inputs (set module.check_finite = False to skip)"
            )
        for module, relu in zip(self.layers, self.relu):
            h = module(h)
            if relu:
                h = torch.relu(h)
        return h.transpose(1, 2).reshape(h.shape[0], -1)


def float_bytes(net: theory.Network, dtype: Any) -> int:
    """Bytes the float weights of ``net`` take as dense tensors of ``dtype``."""
    size = torch.tensor([], dtype=resolve_dtype(dtype)).element_size()
    return sum((l.weight.size + l.bias.size) * size for l in net.layers)


def module_bytes(net: theory.Network, dtype: Any) -> int:
    """Estimated peak bytes of :func:`to_module`: the dense weights in ``dtype``, plus the staging of the largest
    array (its float64 copy when ``dtype`` is narrower, a ``Conv1d``'s own initial weight, the nonzeros in flight)."""
    dt = resolve_dtype(dtype)
    size = torch.tensor([], dtype=dt).element_size()
    staging = 0
    for layer in net.layers:
        init = layer.weight.size * size if layer.kind in ("conv", "pointwise") else 0
        for a in (layer.weight, layer.bias):
            wide = 8 * a.size if dt != torch.float64 else 0
            staging = max(staging, wide + init + _STAGING_PER_NONZERO * a.nnz)
    return float_bytes(net, dt) + staging + _STAGING_FIXED


def to_module(
    net: theory.Network, dtype: Any = torch.float64, device: Any = "cpu", *, memory_budget: int = MEMORY_BUDGET
) -> SpecModule:
    """Convert an exact spec to a torch module: the only place rationals become floats.

    Args:
        net: a :class:`theory.Network`.
        dtype: float64 (default, for verification), float32, float16 or bfloat16; weights are correctly
            rounded from the exact rationals.
        device: ``'cpu'`` (default), ``'cuda'``, ``'cuda:N'`` or ``'auto'`` (CUDA when available).
        memory_budget: bytes the conversion may allocate (default 4 GiB): the dense float weights and the
            staging of the largest array (:func:`module_bytes`), checked before anything is allocated.
    Returns:
        :class:`SpecModule`: ``(B, d)`` or ``(B, c_in, d)`` in, ``(B, n_D * C_D)`` out. Layers map to
        ``Conv1d(kernel = stride = s)``, :class:`LocallyConnected1d`, ``Conv1d(kernel 1)`` and
        :class:`DenseOnSignal`.
    Raises:
        NumericsError: bad dtype/device, a weight overflowing dtype, or weights too large for ``memory_budget``
            (``to_module: estimated 12 GiB for the dense float weights (float32, 3.2e9 entries) exceeds
            memory_budget 4 GiB; ...``).
    """
    if not isinstance(net, theory.Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    dt, dev = resolve_dtype(dtype), resolve_device(device)
    budget = check_budget(memory_budget, error=NumericsError)
    entries = sum(layer.weight.size + layer.bias.size for layer in net.layers)
    guard_memory(
        "to_module",
        module_bytes(net, dt),
        budget,
        f"the dense float weights ({str(dt).replace('torch.', '')}, {format_count(entries)} entries)",
        "use a CNN spec (LCN / FCN weights grow with d)",
        error=NumericsError,
    )
    return SpecModule(net, dt, dev)
