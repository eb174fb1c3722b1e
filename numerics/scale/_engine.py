"""Batched, chunked evaluation of a spec on random inputs from a box, within a memory budget.

Inputs come from ``torch.Generator`` objects on the evaluation device: sample ``i`` draws its coordinates from
block ``i // R`` of a stream seeded with ``mix(seed, stream, block)``, so the samples depend on ``seed`` alone,
never on the batch size, the memory budget or the path. Coordinates the output depends on (the cone's input
units, plus any the caller names) come from stream 0; the other coordinates (read only by the full-input
paths) from stream 1. Batches are sized from the byte count of every buffer a batch allocates, so that the
budget holds for the whole evaluation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Iterator, Sequence

import numpy as np
import torch

import theory
from theory.cli import SCALE_MEMORY_BUDGET, guard_time

from .._errors import NumericsError, bad
from ..convert import float_bytes, module_bytes, resolve_device, resolve_dtype, to_module
from ._dense import DensePath
from ._meters import Progress, ProgressMeter
from ._paths import StructuredPath, dense_flops_per_row

DEFAULT_BUDGET = SCALE_MEMORY_BUDGET  # batches are sized to fill the budget (theory.cli holds the defaults)
PATHS = ("auto", "structured", "dense", "module")
BLOCK_ELEMS = 1 << 16  # random numbers per generator block
MAX_ROWS = 1 << 20  # largest batch (beyond this, batches only cost memory)
CPU_RESERVE = 16 << 20  # CPU: libraries' lazy workspaces (oneDNN, thread pools) counted against the budget
CPU_SLACK = 1.25  # CPU: heap fragmentation between batches, on top of the buffers counted
WARMUP_ROWS = 256  # a timed run's first batch (warm-up); the next, full-size batch is timed


def check_count(name: str, value: Any, minimum: int) -> int:
    """An int ``>= minimum`` (bools rejected; integral floats such as ``1e7`` accepted)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise bad(name, value, f"an int >= {minimum}")
    return int(value)


def _mix(seed: int, stream: int, block: int) -> int:
    """splitmix64 of (seed, stream, block), as a nonnegative 63-bit seed."""
    z = (seed * 0x9E3779B97F4A7C15 + stream * 0xBF58476D1CE4E5B9 + block + 1) % 2**64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
    return (z ^ (z >> 31)) & (2**63 - 1)


def inward(
    intervals: Sequence[tuple[Fraction, Fraction]], dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(lo, hi)`` tensors of ``dtype``: each endpoint rounded into the interval (so samples stay inside)."""
    lo = torch.tensor([float(a) for a, _ in intervals], dtype=torch.float64).to(dtype)
    hi = torch.tensor([float(b) for _, b in intervals], dtype=torch.float64).to(dtype)
    for i, (a, b) in enumerate(intervals):
        if Fraction(float(lo[i])) < a:
            lo[i] = torch.nextafter(lo[i], torch.tensor(float("inf"), dtype=dtype))
        if Fraction(float(hi[i])) > b:
            hi[i] = torch.nextafter(hi[i], torch.tensor(float("-inf"), dtype=dtype))
    if bool((lo > hi).any()):
        raise bad("box", [(str(a), str(b)) for a, b in intervals], f"intervals holding at least one {dtype} value")
    return lo.to(device), hi.to(device)


@dataclass
class Engine:
    """Sampling and evaluation plan for one net, box, path, dtype and device (see :func:`evaluate_at_scale`).

    ``units`` are the input units whose columns every batch reports (they must include the cone's input
    units); ``extra_per_row`` and ``extra_fixed`` are bytes the caller allocates per row and once.
    """

    net: theory.Network
    units: Sequence[int] | np.ndarray  # an int64 array once __post_init__ has run
    box: Sequence[tuple[Fraction, Fraction]]
    default: tuple[Fraction, Fraction]
    path: str = "auto"
    device: Any = "auto"
    dtype: Any = torch.float32
    seed: int = 0
    memory_budget: int = DEFAULT_BUDGET
    extra_per_row: int = 0
    extra_fixed: int = 0
    max_rows: int = MAX_ROWS
    module: Any = field(init=False)

    def __post_init__(self) -> None:
        self.dtype, self.device = resolve_dtype(self.dtype), resolve_device(self.device)
        self.seed = check_count("seed", self.seed, 0)
        self.memory_budget = check_count("memory_budget", self.memory_budget, 1)
        if not isinstance(self.path, str) or self.path not in PATHS:
            raise bad("path", self.path, f"one of {PATHS}")
        weights = module_bytes(self.net, self.dtype)
        if weights > self.memory_budget:  # refuse before allocating them
            raise bad(
                "memory_budget",
                self.memory_budget,
                f"at least {weights} bytes: the dense float weights and their conversion alone",
            )
        self.module = to_module(self.net, self.dtype, self.device, memory_budget=self.memory_budget)
        self.structured = StructuredPath(self.net, self.module)
        self.units = np.asarray(self.units, dtype=np.int64)
        self.live_idx = torch.as_tensor(np.searchsorted(self.units, self.structured.live_units), device=self.device)
        self._dense: DensePath | None = None
        if self.path == "auto":
            cone_cost = sum(self.structured.widths) + self.structured.bytes_per_row()
            self.path = "structured" if 8 * cone_cost < dense_flops_per_row(self.net) else "dense"
        self.lo, self.hi = inward(self.box, self.dtype, self.device)
        self.dlo, self.dhi = inward([self.default], self.dtype, self.device)
        n, c_in, d = len(self.units), self.net.c_in, self.net.d
        self.full_index = torch.as_tensor((self.units % c_in) * d + self.units // c_in, device=self.device)
        self.rows_u = max(1, BLOCK_ELEMS // max(n, 1))
        self.rows_f = max(1, BLOCK_ELEMS // (d * c_in))
        self.batch_size = self._plan()

    @property
    def dense(self) -> DensePath:
        """The dense path, built on first use (it holds a second copy of the weights)."""
        if self._dense is None:
            self._dense = DensePath(self.net, self.module)
        return self._dense

    # ------------------------------------------------------------------ memory
    @property
    def itemsize(self) -> int:
        return torch.tensor([], dtype=self.dtype).element_size()

    def planned_bytes(self, batch: int, path: str | None = None) -> int:
        """Bytes a batch of ``batch`` rows allocates on top of what exists before the run (weights included)."""
        path, s = path or self.path, self.itemsize
        n, full = len(self.units), self.net.d * self.net.c_in
        copies = 2 if path == "dense" else 1  # the module's weights, and the dense path's own copy
        fixed = copies * float_bytes(self.net, self.dtype) + self.extra_fixed + s * BLOCK_ELEMS * 2 + s * full
        per_row = n * (s + 8) + self.extra_per_row + 8 * 3 * self.net.n_outputs
        if path == "structured":
            var = batch * (per_row + self.structured.bytes_per_row())
        elif path == "dense":
            var = batch * (per_row + full * s) + self.dense.peak_bytes(batch)
        else:  # the plain module: a layer's input, its output and the ReLU's copy, and oneDNN's reorders
            acts = max(
                a * b + 2 * c * e
                for a, b, c, e in zip(
                    self.net.positions, self.net.channels, self.net.positions[1:], self.net.channels[1:]
                )
            )
            var = batch * (per_row + full * s + 4 * s * acts)
        if self.device.type == "cpu":
            return CPU_RESERVE + int(CPU_SLACK * (fixed + var))
        return fixed + var

    def _plan(self) -> int:
        one = self.planned_bytes(1)
        if one > self.memory_budget:
            raise bad(
                "memory_budget",
                self.memory_budget,
                f"at least {one} bytes: one row of this net on the {self.path} path ({self.dtype}) needs that much",
            )
        lo, hi = 1, self.max_rows
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if self.planned_bytes(mid) <= self.memory_budget else (lo, mid - 1)
        return lo

    # ------------------------------------------------------------------ sampling
    def _fill(self, out: torch.Tensor, start: int, rows: int, stream: int) -> None:
        """Uniform [0, 1) numbers of rows ``start .. start + len(out)`` of a stream into ``out (B, n)``."""
        g = torch.Generator(device=self.device)
        b_count = out.shape[0]
        for b in range(start // rows, (start + b_count - 1) // rows + 1):
            g.manual_seed(_mix(self.seed, stream, b))
            a0, a1 = max(start, b * rows), min(start + b_count, (b + 1) * rows)
            if a0 == b * rows and a1 == (b + 1) * rows:
                torch.rand(rows, out.shape[1], generator=g, out=out[a0 - start : a1 - start], dtype=self.dtype)
            else:
                blk = torch.rand(rows, out.shape[1], generator=g, device=self.device, dtype=self.dtype)
                out[a0 - start : a1 - start] = blk[a0 - b * rows : a1 - b * rows]

    def columns(self, start: int, count: int) -> torch.Tensor:
        """Samples ``start .. start + count`` on :attr:`units`. Shape: ``(count, len(units))``, dtype, device."""
        u = torch.empty(count, len(self.units), dtype=self.dtype, device=self.device)
        self._fill(u, start, self.rows_u, 0)
        return u.mul_(self.hi - self.lo).add_(self.lo).clamp_(self.lo, self.hi)

    def full(self, start: int, cols: torch.Tensor) -> torch.Tensor:
        """Full inputs ``(B, c_in, d)`` of samples ``start ..``: ``cols`` on :attr:`units`, stream 1 elsewhere."""
        c_in, d = self.net.c_in, self.net.d
        x = torch.empty(cols.shape[0], c_in * d, dtype=self.dtype, device=self.device)
        self._fill(x, start, self.rows_f, 1)
        x.mul_(self.dhi - self.dlo).add_(self.dlo).clamp_(self.dlo, self.dhi)  # in place: no second copy
        x[:, self.full_index] = cols
        return x.view(-1, c_in, d)

    def evaluate(self, start: int, cols: torch.Tensor, path: str | None = None) -> torch.Tensor:
        """Outputs ``(B, n_outputs)`` of the samples (columns ``cols``) through ``path``."""
        path = path or self.path
        if path == "structured":
            return self.structured.from_live(cols[:, self.live_idx])
        x = self.full(start, cols)
        return self.dense(x, check_finite=False) if path == "dense" else self.module(x)

    def batches(
        self,
        samples: int,
        progress: Progress = None,
        *,
        max_seconds: float | None = None,
        what: str = "evaluate_at_scale",
    ) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
        """``(start, cols, outputs)`` per batch, ``samples`` rows in all; ``progress`` as in
        :mod:`numerics.scale._meters` (a tqdm bar on stderr, by default when stderr is a terminal, or a callable
        receiving ``{"samples_done", "samples", "seconds"}`` after each batch).

        With ``max_seconds``, the first batch is a warm-up of ``WARMUP_ROWS`` rows and the second, full-size one is
        timed with the caller's work on it; when ``samples`` at that rate would take more than ``max_seconds``,
        the run stops there. The samples are the same whatever the batches.

        Raises:
            NumericsError: the measured rate puts the run above ``max_seconds`` (:func:`theory.cli.guard_time`),
                or a ``progress`` outside its vocabulary.
        """
        meter = ProgressMeter(progress, samples, f"{self.path} {self.device.type}")
        probes = [WARMUP_ROWS, self.batch_size] if max_seconds is not None else []
        start, t0 = 0, 0.0
        try:
            while start < samples:
                count = min(probes[0] if probes else self.batch_size, self.batch_size, samples - start)
                timed = len(probes) == 1
                if timed and self.device.type == "cuda":
                    torch.cuda.synchronize(self.device)
                t0 = time.perf_counter() if timed else t0
                cols = self.columns(start, count)
                with torch.no_grad():
                    y = self.evaluate(start, cols)
                yield start, cols, y
                meter.update(count)
                start += count
                if probes:
                    probes.pop(0)
                if timed and start < samples:
                    if self.device.type == "cuda":
                        torch.cuda.synchronize(self.device)
                    rate = count / max(time.perf_counter() - t0, 1e-9)
                    assert max_seconds is not None  # a batch is timed only when max_seconds set the probes
                    guard_time(
                        what,
                        samples,
                        samples / rate,
                        max_seconds,
                        f"measured {rate:.3g} samples/s on {count} samples",
                        error=NumericsError,
                    )
        finally:
            meter.close()
