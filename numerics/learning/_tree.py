"""Trainable CNN / LCN / FCN on one tree topology, as a vectorised ensemble (batched parameters).

All three architectures share the tree of the constructions (papers/wang_wu_2023.md, section 2, reconstruction):
``L = log_s d`` layers with kernel = stride = ``s`` and ``width`` channels, ReLU, then ``head_layers`` 1x1 ReLU
layers of ``head_width`` units at the single remaining position, then a linear readout.

* ``cnn``: layer ``l`` has one filter ``W_l (s C_{l-1}, C_l)`` shared by every position (weight sharing);
* ``lcn``: the same with untied filters ``W_l[p]`` per position ``p`` (locality, no sharing);
* ``fcn``: dense layers ``W_l (N_{l-1}, N_l)`` with the same unit counts ``N_l = d_l C_l`` (no locality).

Every parameter tensor has a leading ensemble dimension ``E``: member ``e`` is an independent network with its own
initialisation, data and learning rate, and one batched forward pass (``torch.matmul`` over the leading dims)
evaluates all of them; the sum of the members' losses has each member's own gradient in that member's slice.
Initialisation is Gaussian, ``N(0, 2 / fan_in)`` for ReLU layers, zero biases and a zero readout (every member
starts at the predictor 0, whose relative test error is exactly 1): an i.i.d. Gaussian first layer is invariant
in law under ``W -> U W`` for orthogonal ``U``, the premise of the equivariance arguments (section 5.3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .._errors import bad

ARCHS = ("cnn", "lcn", "fcn")


@dataclass(frozen=True)
class TreeArch:
    """Shape of a tree network: architecture, input size, kernel = stride, widths.

    Attributes:
        arch: ``'cnn'``, ``'lcn'`` or ``'fcn'``.
        d: input dimension, a power of ``s``.
        s: kernel = stride (>= 2).
        width: channels of every tree layer.
        head_width: units of each 1x1 head layer.
        head_layers: number of head ReLU layers (>= 0) before the linear readout.
    Raises:
        NumericsError: on an unknown arch or a size out of range.
    """

    arch: str
    d: int
    s: int = 2
    width: int = 8
    head_width: int = 16
    head_layers: int = 1

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise bad("arch", self.arch, f"one of {ARCHS}")
        for name, lo in (("s", 2), ("d", 2), ("width", 1), ("head_width", 1), ("head_layers", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise bad(name, v, f"an int >= {lo}")
        if self.s ** self.depth != self.d:
            raise bad("d", self.d, f"a power of s = {self.s}")

    @property
    def depth(self) -> int:
        """Tree layers ``L = log_s d``."""
        return max(1, round(math.log(self.d, self.s)))

    def shapes(self) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """Per-member ``(weight shape, bias shape)`` of every layer, tree layers first, readout last."""
        out, c_in = [], 1
        for l in range(1, self.depth + 1):
            p_in, p_out = self.d // self.s ** (l - 1), self.d // self.s ** l
            if self.arch == "cnn":
                out.append(((self.s * c_in, self.width), (self.width,)))
            elif self.arch == "lcn":
                out.append(((p_out, self.s * c_in, self.width), (p_out, self.width)))
            else:
                out.append(((p_in * c_in, p_out * self.width), (p_out * self.width,)))
            c_in = self.width
        for _ in range(self.head_layers):
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
        return [math.sqrt((1.0 if i == len(shapes) - 1 else 2.0) / ws[-2]) for i, (ws, _) in enumerate(shapes)
                for _ in range(2)]

    def init(self, generators: list[torch.Generator], *, dtype: torch.dtype,
             device: torch.device | str) -> list[torch.Tensor]:
        """Gaussian initial parameters for ``E = len(generators)`` members (member ``e`` drawn from ``generators[e]``).

        Returns:
            ``[W_1, b_1, ..., W_out, b_out]``, each ``(E, *shape)``, leaf tensors with ``requires_grad``.
        """
        if not generators or not all(isinstance(g, torch.Generator) for g in generators):
            raise bad("generators", generators, "a non-empty list of torch.Generator (one per member)")
        shapes = self.shapes()
        params: list[list[torch.Tensor]] = [[] for _ in shapes for _ in range(2)]
        for g in generators:
            for i, (ws, bs) in enumerate(shapes):
                w = torch.randn(*ws, generator=g, dtype=torch.float64) * math.sqrt(2.0 / ws[-2])
                if i == len(shapes) - 1:
                    w.zero_()
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
            w, b = params[2 * l], params[2 * l + 1]                  # w: (E, [P',] s C, C'), row t C + c
            if self.arch == "cnn":                                   # one filter for every position
                w, b = w[:, None], b[:, None]
            h = h.reshape(E, -1, w.shape[-2], B)                     # (E, P', s C, B): patch p', t major
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
