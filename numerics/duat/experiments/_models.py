"""Small 2-D CNNs for the DUAT empirical claims, as seed-stacked ensembles (one grouped convolution per layer).

A :class:`ConvArch` is a stack of 3 x 3 convolutions (zero padding 1, ReLU), optional 2 x 2 max-pools after chosen
layers, optional identity skips, global average pooling and a linear readout (claims duat.E16-E19,
docs/catalogue.md; the architectures are ours). ``M`` independent models (one per seed) are trained at once: every
parameter has a leading model dimension, model ``m`` reads input channel ``m`` and layer ``l`` is one
``conv2d(groups=M)``, so the sum of the models' losses has each model's own gradient in its own slice.

Optional per-layer extras, both applied to the kernel before the convolution:

* LoRA (Hu et al. 2021, applied to conv kernels as claim duat.E18 states, docs/catalogue.md):
  ``K_eff = K + reshape(B A)`` with ``B (C_out, r)``, ``A (r, C_in k^2)``: a rank-``r`` update of the kernel
  reshaped to ``(C_out, C_in k^2)``;
* pruning masks: ``K_eff = K * mask`` (0/1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import torch
import torch.nn.functional as F

from ..._errors import bad

K = 3
"""Kernel side of every convolution."""

Params = dict[str, torch.Tensor]
"""Parameters by name: ``w{l}`` ``(M, C_out, C_in, K, K)``, ``b{l}`` ``(M, C_out)``, ``head_w`` ``(M, C_L, classes)``,
``head_b`` ``(M, classes)``; LoRA factors ``lora_a{l}`` ``(M, r, C_in K^2)``, ``lora_b{l}`` ``(M, C_out, r)``."""


@dataclass(frozen=True)
class ConvArch:
    """Shape of one CNN: conv widths, where to pool, where to skip.

    Attributes:
        widths: output channels of each 3 x 3 conv layer (depth = ``len(widths)`` >= 1).
        pools: layer indices followed by a 2 x 2 max-pool (stride 2).
        skips: layer indices ``l >= 1`` whose pre-activation gets the input of layer ``l - 1`` added
            (a two-conv residual block ``h -> relu(h + conv_l(relu(conv_{l-1}(h))))``); needs equal widths and
            no pool after layer ``l - 1``.
        in_channels: channels of the input image. classes: outputs of the readout.
    Raises:
        NumericsError: on empty or non-positive widths, or pools/skips that do not fit.
    """

    widths: tuple[int, ...]
    pools: tuple[int, ...] = ()
    skips: tuple[int, ...] = ()
    in_channels: int = 1
    classes: int = 2

    def __post_init__(self) -> None:
        if not self.widths or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in self.widths):
            raise bad("widths", self.widths, "a non-empty tuple of ints >= 1")
        depth = len(self.widths)
        if any(not isinstance(p, int) or not 0 <= p < depth for p in self.pools):
            raise bad("pools", self.pools, f"layer indices in [0, {depth})")
        for s in self.skips:
            if (
                not isinstance(s, int)
                or not 1 <= s < depth
                or s - 1 in self.pools
                or self.widths[s] != self.channels_in(s - 1)
            ):
                raise bad(
                    "skips",
                    self.skips,
                    "layer indices l >= 1 with no pool after layer l-1 and "
                    "widths[l] equal to the input channels of layer l-1",
                )
        for name in ("in_channels", "classes"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise bad(name, v, "an int >= 1")

    @property
    def depth(self) -> int:
        """Number of conv layers."""
        return len(self.widths)

    def channels_in(self, layer: int) -> int:
        """Input channels of conv layer ``layer``."""
        return self.in_channels if layer == 0 else self.widths[layer - 1]

    def param_count(self) -> int:
        """Trainable parameters of one model: ``sum_l (9 C_{l-1} C_l + C_l) + C_L classes + classes``."""
        convs = sum(K * K * self.channels_in(l) * w + w for l, w in enumerate(self.widths))
        return convs + self.widths[-1] * self.classes + self.classes

    def receptive_field(self) -> int:
        """Receptive-field side of one output unit before pooling to a vector: ``1 + sum_l (K-1) prod_{m<l} s_m``
        over convs, a 2 x 2 pool adding ``prod_{m<l} s_m`` (the closed form of claim duat.E15)."""
        r, jump = 1, 1
        for l in range(self.depth):
            r += (K - 1) * jump
            if l in self.pools:
                r += jump
                jump *= 2
        return r


def init_params(
    arch: ConvArch, seeds: tuple[int, ...], *, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"
) -> Params:
    """He-normal conv kernels ``N(0, 2 / (9 C_in))``, readout ``N(0, 1 / C_L)``, zero biases; model ``m`` from
    ``torch.Generator().manual_seed(seeds[m])`` only (drawn in float64, then cast, so every dtype gets the same
    initialisation up to rounding).

    Args:
        arch: the architecture. seeds: one int >= 0 per model. dtype, device: of the returned tensors.
    Returns:
        :data:`Params` with leading dimension ``M = len(seeds)``, leaf tensors without gradients.
    Raises:
        NumericsError: on empty or negative seeds.
    """
    if not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
        raise bad("seeds", seeds, "a non-empty tuple of ints >= 0")
    per_model = []
    for s in seeds:
        g = torch.Generator().manual_seed(s)
        p = {}
        for l, w in enumerate(arch.widths):
            fan_in = arch.channels_in(l) * K * K
            p[f"w{l}"] = torch.randn(w, arch.channels_in(l), K, K, generator=g, dtype=torch.float64) * math.sqrt(
                2.0 / fan_in
            )
            p[f"b{l}"] = torch.zeros(w, dtype=torch.float64)
        p["head_w"] = torch.randn(arch.widths[-1], arch.classes, generator=g, dtype=torch.float64) / math.sqrt(
            arch.widths[-1]
        )
        p["head_b"] = torch.zeros(arch.classes, dtype=torch.float64)
        per_model.append(p)
    return {k: torch.stack([p[k] for p in per_model]).to(dtype=dtype, device=device) for k in per_model[0]}


def add_lora(arch: ConvArch, params: Params, rank: int, *, seed: int) -> Params:
    """LoRA factors for every conv layer: ``A ~ N(0, 1 / (C_in K^2))`` (seeded), ``B = 0`` (so ``K_eff = K`` at
    the start).

    Returns:
        A new dict with the base tensors and the factors ``lora_a{l}`` ``(M, rank, C_in K^2)`` and ``lora_b{l}``
        ``(M, C_out, rank)``.
    Raises:
        NumericsError: on a rank that is not an int >= 1.
    """
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise bad("rank", rank, "an int >= 1")
    g = torch.Generator().manual_seed(seed)
    out = dict(params)
    ref = params["w0"]
    m = ref.shape[0]
    for l, w in enumerate(arch.widths):
        fan_in = arch.channels_in(l) * K * K
        out[f"lora_a{l}"] = (torch.randn(m, rank, fan_in, generator=g, dtype=torch.float64) / math.sqrt(fan_in)).to(ref)
        out[f"lora_b{l}"] = torch.zeros(m, w, rank, dtype=ref.dtype, device=ref.device)
    return out


def kernel(params: Params, layer: int, masks: Mapping[int, torch.Tensor] | None = None) -> torch.Tensor:
    """Effective kernel of ``layer``: ``(K + reshape(B A)) * mask`` with the optional LoRA factors and mask.

    Shape:
        ``(M, C_out, C_in, K, K)``.
    """
    w = params[f"w{layer}"]
    if f"lora_a{layer}" in params:
        w = w + torch.matmul(params[f"lora_b{layer}"], params[f"lora_a{layer}"]).reshape(w.shape)
    if masks is not None and layer in masks:
        w = w * masks[layer]
    return w


def forward(
    arch: ConvArch, params: Params, x: torch.Tensor, masks: Mapping[int, torch.Tensor] | None = None
) -> torch.Tensor:
    """Logits of all ``M`` models, model ``m`` on its own images ``x[:, m]``.

    Formula: ``h_0 = x``, ``z_l = conv(h_{l-1}, K_l) + b_l (+ h_{l-2}`` if ``l`` in skips), ``h_l = relu(z_l)``,
    max-pooled after layers in ``pools``; logits ``= mean_{i,j} h_L[:, :, i, j] @ V + c``.

    Shape:
        x: ``(B, M * in_channels, H, W)`` (model-major channels); returns ``(B, M, classes)``.
    """
    m = params["w0"].shape[0]
    h = x
    skip_in = None
    for l in range(arch.depth):
        if l + 1 in arch.skips:
            skip_in = h
        w = kernel(params, l, masks)
        z = F.conv2d(h, w.reshape(-1, *w.shape[2:]), params[f"b{l}"].reshape(-1), padding=K // 2, groups=m)
        if l in arch.skips:
            assert skip_in is not None  # ConvArch allows skips only at l >= 1, so layer l - 1 set skip_in
            z = z + skip_in
        h = torch.relu(z)
        if l in arch.pools:
            h = F.max_pool2d(h, 2)
    pooled = h.mean(dim=(2, 3)).reshape(h.shape[0], m, arch.widths[-1])
    return torch.einsum("bmc,mck->bmk", pooled, params["head_w"]) + params["head_b"]


def matched_arch(depth: int, target: int, *, pools: tuple[int, ...], max_width: int = 512) -> ConvArch:
    """The plain CNN of ``depth`` layers whose parameter count is nearest ``target``.

    Layers ``0 .. depth-2`` have a common width ``w`` and the last layer a width ``v`` in ``[ceil(w/2), 2w]``
    (one free width alone cannot match the quadratic count finely); ties go to the smaller ``|v - w|``.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise bad("depth", depth, "an int >= 1")
    best = None
    for w in range(1, max_width + 1):
        if ConvArch((w,) * depth, pools=pools).param_count() > 4 * target:
            break
        for v in [w] if depth == 1 else range((w + 1) // 2, 2 * w + 1):
            arch = ConvArch((w,) * (depth - 1) + (v,), pools=pools)
            key = (abs(arch.param_count() - target), abs(v - w))
            if best is None or key < best[0]:
                best = (key, arch)
    if best is None:
        raise bad("target", target, f"a parameter count >= that of the width-1 depth-{depth} CNN")
    return best[1]
