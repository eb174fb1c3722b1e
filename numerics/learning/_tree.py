"""Trainable CNN / LCN / FCN on one tree topology, as a vectorised ensemble (batched parameters).

All three architectures share the tree of the constructions (reconstruction; docs/catalogue.md, "Wang & Wu:
what is reconstructed"):
``L = log_s d`` layers with kernel = stride = ``s`` and ``width`` channels, ReLU, then ``head_layers`` 1x1 ReLU
layers of ``head_width`` units at the single remaining position, then a linear readout. ``head_width = 0`` is the
no-head convention: the tree's ``width`` outputs feed the readout directly (``head_layers`` is then not used).

* ``cnn``: layer ``l`` has one filter ``W_l (s C_{l-1}, C_l)`` shared by every position (weight sharing);
* ``lcn``: the same with untied filters ``W_l[p]`` per position ``p`` (locality, no sharing);
* ``fcn``: dense layers ``W_l (N_{l-1}, N_l)`` with the same unit counts ``N_l = d_l C_l`` (no locality).

Every parameter tensor has a leading ensemble dimension ``E``: member ``e`` is an independent network with its own
initialisation, data and learning rate, and one batched forward pass (``torch.matmul`` over the leading dims)
evaluates all of them; the sum of the members' losses has each member's own gradient in that member's slice.
Initialisation is Gaussian, ``init_scale * N(0, 2 / fan_in)`` for ReLU layers (``init_scale = 1``: He), zero
biases and, by default, a zero readout (every member starts at the predictor 0, whose relative test error is
exactly 1; ``readout_init='gaussian'``: ``init_scale * N(0, 1 / fan_in)``): an i.i.d. Gaussian first layer is
invariant in law under ``W -> U W`` for orthogonal ``U``, the premise of the equivariance arguments
(numerics.learning._equivariance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .._errors import bad
from ..convert import LocallyConnected1d

ARCHS = ("cnn", "lcn", "fcn")
READOUT_INITS = ("zero", "gaussian")


@dataclass(frozen=True)
class TreeArch:
    """Shape of a tree network: architecture, input size, kernel = stride, widths.

    Attributes:
        arch: ``'cnn'``, ``'lcn'`` or ``'fcn'``.
        d: input dimension, a power of ``s``.
        s: kernel = stride (>= 2).
        width: channels of every tree layer.
        head_width: units of each 1x1 head layer; 0: no head layer (the tree feeds the readout).
        head_layers: number of head ReLU layers (>= 0) before the linear readout (when ``head_width > 0``).
        init_scale: multiplier (finite, > 0) of every initial weight (1: ``N(0, 2 / fan_in)``).
        readout_init: ``'zero'`` (the predictor 0 at the start) or ``'gaussian'`` (``N(0, 1 / fan_in)``).
    Raises:
        NumericsError: on an unknown arch or a size out of range.
    """

    arch: str
    d: int
    s: int = 2
    width: int = 8
    head_width: int = 16
    head_layers: int = 1
    init_scale: float = 1.0
    readout_init: str = "zero"

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise bad("arch", self.arch, f"one of {ARCHS}")
        for name, lo in (("s", 2), ("d", 2), ("width", 1), ("head_width", 0), ("head_layers", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise bad(name, v, f"an int >= {lo}" + (" (0: no head layer)" if name == "head_width" else ""))
        c = self.init_scale
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c) or c <= 0:
            raise bad("init_scale", c, "a finite number > 0 (1: the N(0, 2/fan_in) initialisation)")
        if self.readout_init not in READOUT_INITS:
            raise bad("readout_init", self.readout_init, " | ".join(READOUT_INITS))
        if self.s**self.depth != self.d:
            raise bad("d", self.d, f"a power of s = {self.s}")

    @property
    def depth(self) -> int:
        """Tree layers ``L = log_s d``."""
        return max(1, round(math.log(self.d, self.s)))

    @property
    def n_head(self) -> int:
        """Head ReLU layers actually built: ``head_layers``, or 0 when ``head_width = 0``."""
        return 0 if self.head_width == 0 else self.head_layers

    def shapes(self) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """Per-member ``(weight shape, bias shape)`` of every layer, tree layers first, readout last."""
        out: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        c_in = 1
        for l in range(1, self.depth + 1):
            p_in, p_out = self.d // self.s ** (l - 1), self.d // self.s**l
            if self.arch == "cnn":
                out.append(((self.s * c_in, self.width), (self.width,)))
            elif self.arch == "lcn":
                out.append(((p_out, self.s * c_in, self.width), (p_out, self.width)))
            else:
                out.append(((p_in * c_in, p_out * self.width), (p_out * self.width,)))
            c_in = self.width
        for _ in range(self.n_head):
            out.append(((c_in, self.head_width), (self.head_width,)))
            c_in = self.head_width
        out.append(((c_in, 1), (1,)))
        return out

    def param_count(self) -> int:
        """Trainable parameters of one member (weights and biases)."""
        return sum(math.prod(w) + math.prod(b) for w, b in self.shapes())

    def scales(self) -> list[float]:
        """Per parameter tensor, the standard deviation of a Gaussian weight at initialisation (``sqrt(2/fan_in)``;
        ``sqrt(1/fan_in)`` for the zero-initialised readout); a bias gets its layer's value. The per-tensor Adam
        step is measured in these units, so every layer moves by the same fraction of its scale."""
        shapes = self.shapes()
        return [
            math.sqrt((1.0 if i == len(shapes) - 1 else 2.0) / ws[-2])
            for i, (ws, _) in enumerate(shapes)
            for _ in range(2)
        ]

    def init(
        self, generators: list[torch.Generator], *, dtype: torch.dtype, device: torch.device | str
    ) -> list[torch.Tensor]:
        """Gaussian initial parameters for ``E = len(generators)`` members (member ``e`` drawn from ``generators[e]``):
        ``init_scale * N(0, 2 / fan_in)`` weights, zero biases, the readout per ``readout_init`` (module docstring).

        Returns:
            ``[W_1, b_1, ..., W_out, b_out]``, each ``(E, *shape)``, leaf tensors with ``requires_grad``.
        """
        if not generators or not all(isinstance(g, torch.Generator) for g in generators):
            raise bad("generators", generators, "a non-empty list of torch.Generator (one per member)")
        shapes = self.shapes()
        params: list[list[torch.Tensor]] = [[] for _ in shapes for _ in range(2)]
        for g in generators:
            for i, (ws, bs) in enumerate(shapes):
                readout = i == len(shapes) - 1  # drawn even when zeroed: the same stream for every readout_init
                w = torch.randn(*ws, generator=g, dtype=torch.float64) * math.sqrt((1.0 if readout else 2.0) / ws[-2])
                if readout and self.readout_init == "zero":
                    w.zero_()
                if self.init_scale != 1:
                    w = w * self.init_scale
                params[2 * i].append(w)
                params[2 * i + 1].append(torch.zeros(bs, dtype=torch.float64))
        return [torch.stack(p).to(dtype=dtype, device=device).requires_grad_(True) for p in params]

    def forward(self, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Outputs of every member on its own batch.

        Shape: ``x (E, B, d)`` (or ``(1, B, d)``, broadcast to all members) ``-> (E, B)``.
        """
        E, B = params[0].shape[0], x.shape[1]
        if x.ndim != 3 or x.shape[-1] != self.d or x.shape[0] not in (1, E):
            raise bad("x", tuple(x.shape), f"(E={E} or 1, B, d={self.d})")
        x = x.expand(E, B, self.d)
        if self.arch != "fcn":
            return self._head(params, self._local_tree(params, x))
        h = x
        for l in range(self.depth):
            h = torch.relu(h @ params[2 * l] + params[2 * l + 1][:, None, :])
        return self._head(params, h)

    def _local_tree(self, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """The CNN's or LCN's tree layers in position-major layout ``(E, P, C, B)``: a patch is a free reshape and
        each layer one batched product ``W^T (C', s C) @ patch (s C, B)`` per position, contiguous with a long
        last dimension (per training step on a CPU at d = 32, n = 1024: 1.8x faster for the CNN than
        ``(E, B P, s C) @ (s C, C')``, whose tiny inner and output dimensions BLAS handles poorly, and 2.4x for the
        LCN than a layout that needs a transposed copy per layer).
        Shape: ``x (E, B, d) -> (E, B, C_L)``."""
        E, B = x.shape[0], x.shape[1]
        h = x.transpose(1, 2).reshape(E, self.d, 1, B)
        for l in range(self.depth):
            w, b = params[2 * l], params[2 * l + 1]  # w: (E, [P',] s C, C'), row t C + c
            if self.arch == "cnn":  # one filter for every position
                w, b = w[:, None], b[:, None]
            h = h.reshape(E, -1, w.shape[-2], B)  # (E, P', s C, B): patch p', t major
            h = torch.relu(w.transpose(-1, -2) @ h + b[..., None])
        return h.reshape(E, -1, B).transpose(1, 2)

    def _head(self, params: list[torch.Tensor], h: torch.Tensor) -> torch.Tensor:
        """The 1x1 head layers and the linear readout on the tree's output. Shape: ``h (E, B, C_L) -> (E, B)``."""
        n_head = len(params) // 2 - self.depth
        for i in range(n_head):
            w, b = params[2 * (self.depth + i)], params[2 * (self.depth + i) + 1]
            h = h @ w + b[:, None, :]
            if i < n_head - 1:
                h = torch.relu(h)
        return h[..., 0]

    def module(self, params: list[torch.Tensor], member: int = 0) -> nn.Sequential:
        """Member ``member`` of a trained ensemble as a plain torch module, e.g. for :func:`numerics.from_torch`.

        ``cnn``: ``Conv1d`` layers with kernel = stride = ``s``; ``lcn``: :class:`numerics.LocallyConnected1d`;
        ``fcn``: ``Linear`` layers on the flat signal; then ``Flatten``, the head's ``Linear`` layers and the
        readout. The weights are copies of the member's (detached), so it computes :meth:`forward` of that
        member up to float summation order.

        Shape: input ``(B, 1, d)`` (``cnn``, ``lcn``) or ``(B, d)`` (``fcn``); output ``(B, 1)``.
        Raises:
            NumericsError: ``member`` out of range or ``params`` not of this topology.
        """
        shapes = self.shapes()
        E = params[0].shape[0] if params else 0
        if len(params) != 2 * len(shapes) or any(
            tuple(w.shape[1:]) != ws or tuple(b.shape[1:]) != bs
            for (ws, bs), w, b in zip(shapes, params[::2], params[1::2])
        ):
            raise bad("params", [tuple(p.shape) for p in params], f"the parameters of {self} (TreeArch.init)")
        if isinstance(member, bool) or not isinstance(member, int) or not 0 <= member < E:
            raise bad("member", member, f"an int in [0, {E})")
        w = [p[member].detach().clone() for p in params[::2]]
        b = [p[member].detach().clone() for p in params[1::2]]
        layers: list[nn.Module] = []
        c_in = 1
        for l in range(self.depth):
            s, c = self.s, self.width
            if self.arch == "fcn":
                lin = nn.Linear(w[l].shape[0], w[l].shape[1], dtype=w[l].dtype)
                lin.weight.data, lin.bias.data = w[l].T.contiguous(), b[l]
                layers.append(lin)
            elif self.arch == "cnn":  # row t C + c of the shared filter is Conv1d's weight[o, c, t]
                conv = nn.Conv1d(c_in, c, s, s, dtype=w[l].dtype)
                conv.weight.data = w[l].reshape(s, c_in, c).permute(2, 1, 0).contiguous()
                assert conv.bias is not None  # built with bias=True (the default)
                conv.bias.data = b[l]
                layers.append(conv)
            else:  # (P, s C, C') -> LocallyConnected1d's (P, C', C, s)
                p_out = w[l].shape[0]
                layers.append(
                    LocallyConnected1d(w[l].reshape(p_out, s, c_in, c).permute(0, 3, 2, 1).contiguous(), b[l])
                )
            layers.append(nn.ReLU())
            c_in = c
        layers.append(nn.Flatten())
        for i in range(self.depth, len(w)):
            lin = nn.Linear(w[i].shape[0], w[i].shape[1], dtype=w[i].dtype)
            lin.weight.data, lin.bias.data = w[i].T.contiguous(), b[i]
            layers.append(lin)
            if i < len(w) - 1:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers).eval()
