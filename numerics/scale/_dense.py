"""The dense evaluation path: all weights of a spec, any values, as fused matrix products per level.

An exact re-ordering of the float arithmetic of :class:`numerics.SpecModule` (see :mod:`numerics.scale._paths` for
why routing units agree bit for bit and dense units agree to rounding).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import torch

import theory

from ..convert import SpecModule
from ._paths import checked_inputs, dense_flops_per_row, module_for, reject_nonfinite, serial

VECTOR_BYTES = 64  # AVX-512 register: products narrower than this many bytes of outputs are widened


class DensePath:
    """All weights, any values: fused matrix products per level. Shape: ``(B, d)``/``(B, c_in, d)`` -> ``(B, n_D C_D)``.

    Conv (kernel = stride = s) and pointwise layers are evaluated channels-last on the whole batch as one long
    signal of ``B n_l`` positions (a kernel = stride tile never straddles two rows because ``s`` divides
    ``n_{l-1}``): level ``l`` is ``H_l = act(H_{l-1}.view(-1, s C_{l-1}) @ W_l + b_l)`` with
    ``W_l[t C_{l-1} + c, o] = w[o, c, t]``. Locally connected and dense layers run through their modules.

    Args:
        net, module: the spec and optionally ``to_module(net, ...)`` (built from ``dtype``/``device`` if absent).
        chunk_bytes: target size of the largest per-chunk intermediate (default 4 MiB on CPU: best of 256 KiB ..
            16 MiB on a 2-core AVX-512 machine with 1 MiB L2 and 32 MiB shared L3; 64 MiB on CUDA).
        min_rows: a fused group of levels stops before a level would have fewer rows per chunk than this.
        threads: CPU worker threads (default ``torch.get_num_threads()``); each runs single-threaded products
            on its own chunks and ``torch.set_num_threads`` is restored afterwards.
    """

    def __init__(
        self,
        net: theory.Network,
        module: SpecModule | None = None,
        *,
        dtype: Any = torch.float64,
        device: Any = "cpu",
        chunk_bytes: int | None = None,
        min_rows: int = 1024,
        threads: int | None = None,
    ) -> None:
        module = module_for(net, module, dtype, device)
        self.d, self.c_in, self.n_outputs = net.d, net.c_in, net.n_outputs
        self.dtype, self.device = module.dtype, module.device
        self.positions, self.channels = net.positions, net.channels
        self.itemsize = torch.tensor([], dtype=self.dtype).element_size()
        cpu = self.device.type == "cpu"
        self.chunk_bytes = chunk_bytes or ((4 << 20) if cpu else (64 << 20))
        self.min_rows = min_rows
        self.threads = max(1, threads or torch.get_num_threads()) if cpu else 1
        self.flops_per_row = dense_flops_per_row(net)
        self.segments: list[tuple[str, Any, int]] = []  # (kind, data, index of the segment's first layer)
        nonneg = False  # every value of the current signal is >= 0 (it left a ReLU)
        for i, (layer, mod, relu) in enumerate(zip(net.layers, module.layers, module.relu)):
            shared = layer.kind in ("conv", "pointwise")
            if shared:
                # a conv / pointwise layer of a SpecModule is a Conv1d with a bias
                assert isinstance(mod.weight, torch.Tensor) and isinstance(mod.bias, torch.Tensor)
                w = mod.weight.detach()  # (c_out, c_in, s)
                c_out, c_in, s = w.shape
                mat = w.permute(2, 1, 0).reshape(s * c_in, c_out).contiguous()
                b = mod.bias.detach()
                # Nonnegative weights and bias on nonnegative inputs give nonnegative outputs: the ReLU is the
                # identity there and is skipped (as numbers the result is the same; only -0 may read as +0).
                keeps_sign = nonneg and bool((w >= 0).all()) and bool((b >= 0).all())
                level = (
                    self._widened(mat, b.reshape(1, c_out) if bool((b != 0).any()) else None),
                    relu and not keeps_sign,
                    s,
                    c_out,
                )
                nonneg = relu or keeps_sign
                if self.segments and self.segments[-1][0] == "fused":
                    self.segments[-1][1].append(level)
                else:
                    self.segments.append(("fused", [level], i))
            else:
                self.segments.append(("module", (mod, relu, layer.c_out), i))
                nonneg = relu

    def _widened(self, mat: torch.Tensor, bias: torch.Tensor | None) -> dict[int, tuple[torch.Tensor, Any]]:
        """``{r: (block_diag(mat x r), bias x r)}`` for r = 1, 2, 4, ... up to ``VECTOR_BYTES / (c_out itemsize)``.

        A product with few output channels runs far below the GEMM rate; ``r`` consecutive rows as one row
        of the block-diagonal product keep the same float operations plus exact zeros (``0 * v = +-0``,
        ``v + (+-0) = v``), so the result is unchanged up to the order of additions (exactly so for routing).
        """
        lanes = max(1, VECTOR_BYTES // (self.itemsize * mat.shape[1]))
        out, r = {}, 1
        while r <= lanes:
            out[r] = (torch.block_diag(*[mat] * r) if r > 1 else mat, None if bias is None else bias.repeat(1, r))
            r *= 2
        return out

    # ------------------------------------------------------------------ planning
    def _groups(self, n_pos: int, levels: list) -> list[tuple[int, int, int, int]]:
        """``(i, j, R, Q)``: levels ``i..j-1`` fused, reduction ``R``, chunk of ``Q`` input positions."""
        out, i = [], 0
        while i < len(levels):
            s0, c0 = levels[i][2], levels[i][3]
            q = min(n_pos, max(s0, self.chunk_bytes // (self.itemsize * c0) * s0))
            r, j = 1, i
            while j < len(levels):
                s = levels[j][2]
                if n_pos % (r * s) or (q < n_pos and q // (r * s) < self.min_rows and j > i):
                    break
                r, j = r * s, j + 1
            q = max(r, q - q % r)
            out.append((i, j, r, q))
            n_pos //= r
            i = j
        return out

    def peak_bytes(self, batch: int) -> int:
        """Bytes this path allocates for a batch, the input excluded: the channels-last copy of the input
        (``c_in > 1``), the outputs of two consecutive fused groups and every worker's two scratch buffers,
        or a module layer's input, output and activation."""
        peak = batch * self.d * self.c_in if self.c_in > 1 else 0
        for kind, data, first in self.segments:
            n, c = batch * self.positions[first], self.channels[first]
            if kind == "module":
                peak = max(peak, n * c + 3 * batch * self.positions[first + 1] * self.channels[first + 1])
                continue
            cur = n * c
            for i, j, r, q in self._groups(n, data):
                scratch = 2 * self._scratch_len(data[i:j], q)
                out = n // r * data[j - 1][3]
                peak = max(peak, cur + out + self.threads * scratch)
                cur, n = out, n // r
        return self.itemsize * peak

    @staticmethod
    def _scratch_len(levels: list, q: int) -> int:
        rows, most = q, 0
        for lv in levels:
            rows //= lv[2]
            most = max(most, rows * lv[3])
        return most

    # ------------------------------------------------------------------ evaluation
    def _chunks(self, h: torch.Tensor, levels: list, r: int, q: int, out: torch.Tensor, lo: int, hi: int) -> None:
        scratch_len = self._scratch_len(levels, q)
        bufs = [torch.empty(scratch_len, dtype=h.dtype, device=h.device) for _ in range(2)]
        for start in range(lo, hi, q):
            n = min(q, hi - start)
            g, rows = h[start : start + n], n
            for t, (wide, relu, s, c_out) in enumerate(levels):
                rows //= s
                dst = (
                    out[start // r : (start + n) // r]
                    if t == len(levels) - 1
                    else bufs[t % 2][: rows * c_out].view(rows, c_out)
                )
                w = max(wide)
                while rows % w:
                    w //= 2
                mat, bias = wide[w]
                a, o = g.reshape(rows // w, -1), dst.view(rows // w, -1)
                torch.mm(a, mat, out=o) if bias is None else torch.addmm(bias, a, mat, out=o)
                if relu:
                    dst.relu_()
                g = dst

    def _fused(self, h: torch.Tensor, levels: list) -> torch.Tensor:
        for i, j, r, q in self._groups(h.shape[0], levels):
            out = torch.empty(h.shape[0] // r, levels[j - 1][3], dtype=h.dtype, device=h.device)
            n_chunks = -(-h.shape[0] // q)
            workers = min(self.threads, n_chunks)
            if workers == 1:
                with serial() if h.device.type == "cpu" else contextlib.nullcontext():
                    self._chunks(h, levels[i:j], r, q, out, 0, h.shape[0])
            else:
                self._threaded(h, levels[i:j], r, q, out, n_chunks, workers)
            h = out
        return h

    def _threaded(self, h, levels, r, q, out, n_chunks, workers) -> None:
        per, errors = -(-n_chunks // workers), []
        saved = torch.get_num_threads()

        def work(t: int) -> None:
            try:
                torch.set_num_threads(1)
                self._chunks(h, levels, r, q, out, t * per * q, min(h.shape[0], (t + 1) * per * q))
            except BaseException as e:  # re-raised in the calling thread
                errors.append(e)

        pool = [threading.Thread(target=work, args=(t,)) for t in range(workers)]
        try:
            for th in pool:
                th.start()
            for th in pool:
                th.join()
        finally:
            torch.set_num_threads(saved)
        if errors:
            raise errors[0]

    def __call__(self, x: torch.Tensor, check_finite: bool = True) -> torch.Tensor:
        x = checked_inputs(x, self.d, self.c_in, self.dtype, self.device)
        if check_finite:
            reject_nonfinite(x, "anywhere")
        batch = x.shape[0]
        h = x.reshape(batch * self.d, 1) if self.c_in == 1 else x.transpose(1, 2).reshape(batch * self.d, self.c_in)
        for kind, data, _ in self.segments:
            if kind == "fused":
                h = self._fused(h, data)
            else:
                mod, relu, c_out = data
                y = mod(h.view(batch, -1, h.shape[1]).transpose(1, 2))
                y = torch.relu(y) if relu else y
                h = y.transpose(1, 2).reshape(-1, c_out)
        return h.reshape(batch, -1)
