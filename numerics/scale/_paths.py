"""Two fast evaluation paths for network specs, both exact re-orderings of the float arithmetic of
:class:`numerics.SpecModule` (the plain ``Conv1d`` reference).

* :class:`StructuredPath` (structure-aware): evaluates only the output's cone, the units reachable backwards
  from the outputs through nonzero weights. A root channel of ``select`` depends on one position per level,
  so the cone has ``2k`` units per level and the path reads ``k`` input columns.
* :class:`DensePath` (dense, any weights of the same shapes): every kernel = stride level is one matrix
  product on a channels-last view, ``(rows, s C_in) @ (s C_in, C_out)``; consecutive levels are fused over
  chunks of the signal that stay in cache, and on CPU the chunks are spread over worker threads that run
  single-threaded products (small products scale badly inside one multi-threaded GEMM).

Why the paths agree (Source: IEEE 754 round-to-nearest; standard, see Higham, *Accuracy and Stability of
Numerical Algorithms*, 2nd ed., section 3.1). For a finite float ``v``: ``0 * v = +-0`` and ``v + (+-0) = v``
exactly, ``(+-1) * v = +-v`` exactly, and ``relu`` is exact. A unit with one nonzero weight ``+-1`` and bias 0
(every routing unit of ``gather``/``select``) therefore has the same float value in every path, whatever the
order in which the dense path adds the exact zeros; by induction over levels all routing units agree bit
for bit (as numbers: ``-0 == +0``). Units with several nonzero terms (dense heads) agree up to the order of
the float additions, i.e. within the bound of :func:`numerics.rounding_bound`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import theory
from theory.spec import cone_levels

from .._errors import bad
from ..convert import SpecModule, to_module

MATRIX_LIMIT = 1 << 22  # a cone layer with m x n <= this is evaluated as one small dense matrix
SMALL_MATMUL = 1 << 15  # batch x m x n up to this: broadcast-multiply-sum (ATen runs it serially)


# The output's cone, per level ``(units, (which, src, nz))``: one implementation, in theory (torch-free).
cone = cone_levels


class serial:
    """Run a block with one intra-op thread (``torch.set_num_threads(1)``), restoring the count afterwards.

    Products of a few rows are far faster serially: a thread-pool wake-up costs more than the work, and on a
    loaded machine a parallel region waits for a descheduled worker. Affects the whole process while active.
    """

    def __enter__(self) -> "serial":
        self.saved = torch.get_num_threads()
        torch.set_num_threads(1)
        return self

    def __exit__(self, *exc: Any) -> None:
        torch.set_num_threads(self.saved)


def dense_flops_per_row(net: theory.Network) -> int:
    """Multiply-adds x 2 of one input row through all weights (zeros included), as the dense path computes them:
    ``2 n_l C_out C_in s`` for conv/pointwise layers, ``2 x weight size`` for local/dense layers."""
    return sum(
        2 * int(np.prod(layer.weight.shape)) * (n if layer.kind in ("conv", "pointwise") else 1)
        for layer, n in zip(net.layers, net.positions[1:])
    )


def module_for(net: theory.Network, module: SpecModule | None, dtype: Any, device: Any) -> SpecModule:
    if not isinstance(net, theory.Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    if module is None:
        return to_module(net, dtype, device)
    if not isinstance(module, SpecModule) or module.content_hash != net.content_hash:
        raise bad("module", type(module).__name__, "to_module(net, ...) of this very net")
    return module


def checked_inputs(x: torch.Tensor, d: int, c_in: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``x`` as ``(B, c_in, d)`` after shape/dtype/device checks."""
    if not isinstance(x, torch.Tensor):
        raise bad("x", type(x).__name__, "a torch.Tensor")
    if x.dim() == 2 and c_in == 1 and x.shape[1] == d:
        x = x.unsqueeze(1)
    elif not (x.dim() == 3 and tuple(x.shape[1:]) == (c_in, d)):
        raise bad("x shape", tuple(x.shape), (f"(batch, {d}) or " if c_in == 1 else "") + f"(batch, {c_in}, {d})")
    if x.dtype != dtype or x.device.type != device.type:
        raise bad("x", f"a {x.dtype} tensor on {x.device}", f"{dtype} on {device}, like the path was built")
    return x


def reject_nonfinite(x: torch.Tensor, what: str) -> None:
    if not bool(torch.isfinite(x).all()):
        raise bad("x", f"a tensor with nan or inf entries ({what})", "finite inputs")


class StructuredPath:
    """Evaluate only the output's cone. Shape: ``(B, d)`` or ``(B, c_in, d)`` in, ``(B, n_D C_D)`` out.

    Float weights are read from ``to_module(net, dtype, device)`` (the one exact-to-float conversion). Layer
    ``l`` of the cone computes ``h_l = act(W_l[cone] h_{l-1}[cone] + b_l[cone])``: a gather (``out =
    w * h[:, src] + b``) when every unit has one edge, else a small dense matrix or a scatter-add.
    ``check_finite='live'`` (default) rejects non-finite values among the inputs read (:attr:`live_units`;
    the others cannot change the output), ``'all'`` scans the whole input, ``'none'`` skips the check.
    """

    def __init__(
        self, net: theory.Network, module: SpecModule | None = None, *, dtype: Any = torch.float64, device: Any = "cpu"
    ) -> None:
        module = module_for(net, module, dtype, device)
        self.d, self.c_in, self.n_outputs = net.d, net.c_in, net.n_outputs
        self.dtype, self.device = module.dtype, module.device
        levels = cone(net)
        self.live_units = levels[0][0]
        dev = self.device
        self._pos = torch.as_tensor(self.live_units // net.c_in, device=dev)
        self._chan = torch.as_tensor(self.live_units % net.c_in, device=dev)
        self.ops: list[tuple[str, Any, torch.Tensor | None, bool]] = []
        n_in = self.live_units.size
        self.widths = [n_in]
        for i, layer in enumerate(net.layers):
            units, edges = levels[i + 1]
            assert edges is not None  # cone_levels: only level 0 (the input) has no edges
            which, src, nz = edges
            mod = module.layers[i]
            # SpecModule layers (Conv1d, LocallyConnected1d, DenseOnSignal) all have a weight and a bias
            assert isinstance(mod.weight, torch.Tensor) and isinstance(mod.bias, torch.Tensor)
            w = mod.weight.detach().reshape(-1)[torch.as_tensor(layer.weight.keys[nz], device=dev)]
            rows = units % layer.c_out if layer.kind in ("conv", "pointwise") else units
            b = mod.bias.detach().reshape(-1)[torch.as_tensor(rows, device=dev)]
            bias = b if bool((b != 0).any()) else None
            m = units.size
            if which.size == m and np.array_equal(which, np.arange(m)):
                scale = None if bool((w == 1).all()) else w
                self.ops.append(("gather", (torch.as_tensor(src, device=dev), scale), bias, layer.relu))
            elif m * n_in <= MATRIX_LIMIT:
                mat = torch.zeros(n_in, m, dtype=self.dtype, device=dev)
                mat[torch.as_tensor(src, device=dev), torch.as_tensor(which, device=dev)] = w
                self.ops.append(("matrix", mat, bias, layer.relu))
            else:
                self.ops.append(
                    (
                        "scatter",
                        (torch.as_tensor(src, device=dev), torch.as_tensor(which, device=dev), w, m),
                        bias,
                        layer.relu,
                    )
                )
            n_in = m
            self.widths.append(m)
        self.ops = self._merge(self.ops)

    @staticmethod
    def _merge(ops: list) -> list:
        """Fold every pure gather (no scale, no bias) into the gather before it.

        ``act2(act1(u)[:, s2]) == relu(u[:, s2])`` when either act is ReLU (ReLU commutes with a gather and is
        idempotent), else ``u[:, s2]``; with ``u = h[:, s1] w1 + b1`` computed on the gathered columns
        ``s1[s2]`` the float operations are the same ones, so the result is bit-identical.
        """
        out: list = []
        for op in ops:
            kind, data, bias, relu = op
            prev = out[-1] if out else None
            if kind == "gather" and data[1] is None and bias is None and prev is not None and prev[0] == "gather":
                src1, scale1 = prev[1]
                idx = data[0]
                out[-1] = (
                    "gather",
                    (src1[idx], None if scale1 is None else scale1[idx]),
                    None if prev[2] is None else prev[2][idx],
                    prev[3] or relu,
                )
            else:
                out.append(op)
        return out

    def bytes_per_row(self) -> int:
        """Upper bound on the bytes one input row costs while the cone is evaluated (all levels counted)."""
        size = torch.tensor([], dtype=self.dtype).element_size()
        edges = sum(op[1][0].numel() for op in self.ops if op[0] in ("gather", "scatter"))
        return size * (2 * sum(self.widths) + edges)

    def read(self, x: torch.Tensor, check_finite: str = "live") -> torch.Tensor:
        """The live input columns ``(B, n_live)`` of a full input, in :attr:`live_units` order."""
        x = checked_inputs(x, self.d, self.c_in, self.dtype, self.device)
        if check_finite == "all":
            reject_nonfinite(x, "anywhere")
        cols = x[:, 0, self._pos] if self.c_in == 1 else x[:, self._chan, self._pos]
        if check_finite == "live":
            reject_nonfinite(cols, "at an input the output depends on")
        elif check_finite not in ("all", "none"):
            raise bad("check_finite", check_finite, "'live', 'all' or 'none'")
        return cols

    def from_live(self, h: torch.Tensor) -> torch.Tensor:
        """Evaluate from the live columns. Shape: ``(B, n_live) -> (B, n_outputs)``. Differentiable."""
        for kind, data, bias, relu in self.ops:
            if kind == "gather":
                src, scale = data
                h = h[:, src] if scale is None else h[:, src] * scale
                if bias is not None:
                    h = h + bias
            elif kind == "matrix":
                if h.shape[0] * data.numel() <= SMALL_MATMUL:  # serial: no thread-pool wake-up for tiny products
                    h = (h.unsqueeze(2) * data).sum(1)
                    h = h if bias is None else h + bias
                else:
                    h = h @ data if bias is None else torch.addmm(bias, h, data)
            else:
                src, which, w, m = data
                out = (bias if bias is not None else torch.zeros(m, dtype=h.dtype, device=h.device)).expand(
                    h.shape[0], m
                )
                h = out.index_add(1, which, h[:, src] * w)
            if relu:
                h = torch.relu(h) if torch.is_grad_enabled() and h.requires_grad else h.relu_()
        return h

    def __call__(self, x: torch.Tensor, check_finite: str = "live") -> torch.Tensor:
        return self.from_live(self.read(x, check_finite))
