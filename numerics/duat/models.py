"""Reference modules built from torch.nn layers, each exposing its dataflow as a ``duat_graph()``.

The graph protocol: ``duat_graph()`` returns a tuple of nodes, each either a child module's attribute name
(walked recursively) or a :class:`Residual` (``main(x) + shortcut(x)``, an empty shortcut being the identity
skip). The walker follows the graph, never ``forward()``; :func:`numerics.duat.decompose` then compares
``W x + b`` with the real ``forward()`` output, so a graph that disagrees with its module is caught.

Models (:func:`reference_model`; weights drawn from ``seed``, BatchNorm statistics randomised so they matter):
``resnet-basic-block`` (post-activation, 3 -> 16 planes, 1x1-conv+BN projection shortcut: the input 3x32x32 of
the CLI example ``--input 3x32x32`` needs a projection), ``resnet-preact-block`` (pre-activation, same planes, 1x1-conv
projection on the pre-activated input as in He et al. 2016), ``resnet-2-blocks`` (the post-activation block
then a 16 -> 16 identity-skip block), ``vgg-small`` (plain conv-BN-ReLU/max-pool net with a linear head),
``vit-block`` (pre-LN, width 64, 4 heads, MLP 4x, on 16 tokens), ``patch-vit`` (8x8 patch embedding of a
3x32x32 image into 16 tokens, then the ViT block).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Union

import torch
from torch import nn

from .._errors import NumericsError, bad
from .layers import ChannelsToTokens

Node = Union[str, "Residual"]


@dataclass(frozen=True)
class Residual:
    """``main(x) + shortcut(x)``: two node sequences on the same input; ``shortcut=()`` is the identity skip."""

    main: tuple
    shortcut: tuple = ()

    def __post_init__(self):
        for part in (self.main, self.shortcut):
            if not isinstance(part, tuple) or not all(isinstance(n, (str, Residual)) for n in part):
                raise bad("Residual", part, "a tuple of child names (str) and Residual nodes")
        if not self.main:
            raise bad("Residual.main", self.main, "at least one node")


class BasicBlock(nn.Module):
    """Post-activation ResNet basic block: ``relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x))`` (He et al. 2016)."""

    def __init__(self, in_planes: int = 3, planes: int = 16, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.projection = stride != 1 or in_planes != planes
        if self.projection:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (self.shortcut(x) if self.projection else x))

    def duat_graph(self) -> tuple:
        short = ("shortcut",) if self.projection else ()
        return (Residual(("conv1", "bn1", "relu", "conv2", "bn2"), short), "relu")


class PreActBlock(nn.Module):
    """Pre-activation basic block: ``conv2(relu(bn2(conv1(relu(bn1 x))))) + s``; ``s = x`` (identity) or a 1x1 conv
    of ``relu(bn1 x)`` (projection), as in He et al. 2016, "Identity mappings in deep residual networks"."""

    def __init__(self, in_planes: int = 3, planes: int = 16, stride: int = 1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.relu = nn.ReLU()
        self.projection = stride != 1 or in_planes != planes
        if self.projection:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.relu(self.bn1(x))
        out = self.conv2(self.relu(self.bn2(self.conv1(pre))))
        return out + (self.shortcut(pre) if self.projection else x)

    def duat_graph(self) -> tuple:
        if self.projection:
            return ("bn1", "relu", Residual(("conv1", "bn2", "relu", "conv2"), ("shortcut",)))
        return (Residual(("bn1", "relu", "conv1", "bn2", "relu", "conv2")),)


class ViTBlock(nn.Module):
    """Pre-LN Transformer block: ``X1 = X + MHA(LN1 X)``, ``X2 = X1 + FC2 GELU(FC1 LN2 X1)`` on ``(B, N, D)``."""

    def __init__(self, dim: int = 64, heads: int = 4, mlp_ratio: int = 4, bias: bool = True):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, bias=bias, batch_first=True)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ln1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))

    def duat_graph(self) -> tuple:
        return (Residual(("ln1", "attn")), Residual(("ln2", "mlp")))


class PatchEmbed(nn.Module):
    """Patch embedding: ``Conv2d(C, D, P, stride=P)`` then ``flatten(2).transpose(1, 2)``: image -> ``(B, N, D)`` (M8)."""

    def __init__(self, in_chans: int = 3, dim: int = 64, patch: int = 8):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, patch, patch)
        self.to_tokens = ChannelsToTokens()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_tokens(self.proj(x))

    def duat_graph(self) -> tuple:
        return ("proj", "to_tokens")


def vgg_small(in_chans: int = 3, classes: int = 10) -> nn.Sequential:
    """Plain VGG-style net: [conv3-BN-ReLU] x2, max-pool, conv3-BN-ReLU, max-pool, global average, linear."""
    return nn.Sequential(
        nn.Conv2d(in_chans, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, classes),
    )


_MODELS = {
    "resnet-basic-block": (lambda: BasicBlock(3, 16), (3, 32, 32)),
    "resnet-preact-block": (lambda: PreActBlock(3, 16), (3, 32, 32)),
    "resnet-2-blocks": (lambda: nn.Sequential(BasicBlock(3, 16), BasicBlock(16, 16)), (3, 32, 32)),
    "vgg-small": (vgg_small, (3, 32, 32)),
    "vit-block": (lambda: ViTBlock(64, 4, 4), (16, 64)),
    "patch-vit": (lambda: nn.Sequential(PatchEmbed(3, 64, 8), ViTBlock(64, 4, 4)), (3, 32, 32)),
}
MODEL_NAMES = tuple(_MODELS)


def init_(model: nn.Module, seed: int) -> nn.Module:
    """Redraw every parameter and BatchNorm statistic from ``torch.Generator(seed)`` (no global RNG), in place.

    Weights ~ N(0, 1/fan_in) (fan_in = numel / first dim); biases ~ N(0, 0.1^2); BatchNorm: weight ~ U(0.5, 1.5),
    bias ~ N(0, 0.1^2), running mean ~ N(0, 0.1^2), running var ~ U(0.5, 1.5).
    """
    g = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                n = mod.num_features
                if mod.running_mean is None or mod.running_var is None:
                    raise NumericsError(
                        f"init_: {type(mod).__name__}(track_running_stats=False) has no running statistics to draw"
                    )
                mod.weight.copy_(0.5 + torch.rand(n, generator=g, dtype=torch.float64))
                mod.bias.copy_(0.1 * torch.randn(n, generator=g, dtype=torch.float64))
                mod.running_mean.copy_(0.1 * torch.randn(n, generator=g, dtype=torch.float64))
                mod.running_var.copy_(0.5 + torch.rand(n, generator=g, dtype=torch.float64))
                continue
            for name, p in mod.named_parameters(recurse=False):
                if p.dim() >= 2:
                    p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) / math.sqrt(p[0].numel()))
                elif "weight" in name:  # LayerNorm scale
                    p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64))
                else:
                    p.copy_(0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64))
    return model


def reference_model(name: str, *, seed: int = 0, dtype: torch.dtype = torch.float64) -> tuple[nn.Module, tuple]:
    """A reference model in eval mode with seeded weights, and its default per-sample input shape.

    Args:
        name: one of :data:`MODEL_NAMES`.
        seed: weights and statistics come from ``torch.Generator(seed)`` only.
        dtype: parameter dtype (float64 for exact identities).

    Raises:
        NumericsError: unknown name.
    """
    if name not in _MODELS:
        raise bad("model", name, ", ".join(MODEL_NAMES))
    build, shape = _MODELS[name]
    with torch.random.fork_rng(devices=[]):  # torch's default init must not touch the caller's RNG
        model = build()
    return init_(model.to(torch.float64), seed).to(dtype).eval(), shape
