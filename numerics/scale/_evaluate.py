"""Evaluation of a spec at scale: :func:`evaluate_at_scale` runs the batched engine over random samples of a box
and reports output statistics, throughput and memory (:class:`ScaleRun`).

The samples, their batches and the memory budget are the engine's (:mod:`numerics.scale._engine`); the progress
vocabulary and the memory meter come from :mod:`numerics.scale._meters`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

import theory
from theory.cli import MAX_SECONDS, plan_samples

from .._errors import NumericsError, bad
from ._engine import DEFAULT_BUDGET, Engine
from ._meters import PeakMemory, Progress, check_progress
from ._paths import cone
from ._target import make_box


@dataclass(frozen=True)
class ScaleRun:
    """Outcome of :func:`evaluate_at_scale`: output statistics, throughput and memory."""

    samples: int
    batch_size: int
    path: str
    device: str
    dtype: str
    seconds: float
    samples_per_s: float
    memory_budget: int
    planned_peak_bytes: int
    measured_peak_bytes: int
    measured_peak_kind: str
    output_min: tuple[float, ...]
    output_max: tuple[float, ...]
    output_mean: tuple[float, ...]
    nonfinite: int


def evaluate_at_scale(
    net: theory.Network,
    samples: int,
    *,
    box: Any = (-1, 1),
    path: str = "auto",
    device: Any = "auto",
    dtype: Any = torch.float32,
    seed: int = 0,
    memory_budget: int = DEFAULT_BUDGET,
    progress: Progress = None,
    reduce: Callable[[int, torch.Tensor, torch.Tensor], None] | None = None,
    max_seconds: float = MAX_SECONDS,
    force: bool = False,
) -> ScaleRun:
    """Evaluate ``net`` on ``samples`` uniform random inputs from ``box``, batch by batch, within ``memory_budget``.

    Args:
        net: any :class:`theory.Network` (converted once by :func:`numerics.to_module`).
        samples: number of random inputs (>= 1).
        box: ``(lo, hi)`` for every coordinate or ``{symbol: (lo, hi)}`` covering the cone's inputs.
        path: ``"structured"`` (cone only; draws only the coordinates the output depends on),
            ``"dense"`` (fused matrix products on full inputs), ``"module"`` (the plain ``Conv1d`` module on
            full inputs) or ``"auto"`` (structured when the cone is much cheaper than the dense network).
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``; dtype: the float dtype.
        seed: the samples are a function of ``seed`` alone. memory_budget: bytes the run may allocate.
        progress: None (default: a tqdm bar on stderr when stderr is a terminal), True / False (the bar always /
            never), or a callable called after every batch with ``{"samples_done", "samples", "seconds"}`` (no
            bar is drawn; :mod:`numerics.scale._meters`).
        reduce: optional ``reduce(start, cols, outputs)`` per batch (``cols (B, n_live)`` on the cone's inputs).
        max_seconds: refuse a run estimated to take longer (default 600): first ``samples / 1e9`` before anything
            is built, then from the rate measured on the first batches. force: run whatever the estimate.
    Returns:
        :class:`ScaleRun` (min/max/mean of each output, throughput, planned and measured peak memory).
    Raises:
        NumericsError: ``samples`` not an int in ``[1, 2**63)``, a budget too small for one row, bad
            box/path/device/dtype/seed/progress, or a run estimated above ``max_seconds`` (unless ``force``).
    Shape: a sample is a full input ``(c_in, d)``; outputs ``(n_D C_D,)`` per sample.
    """
    samples, limit = plan_samples("evaluate_at_scale", samples, max_seconds, force, error=NumericsError)
    if not isinstance(net, theory.Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    check_progress(progress)
    units = cone(net)[0][0]
    per, default = make_box(net, box, units)
    eng = Engine(
        net, units, per, default, path=path, device=device, dtype=dtype, seed=seed, memory_budget=memory_budget
    )
    n_out = net.n_outputs
    lo = torch.full((n_out,), float("inf"), dtype=torch.float64, device=eng.device)
    hi, total = -lo.clone(), torch.zeros(n_out, dtype=torch.float64, device=eng.device)
    bad_count = torch.zeros((), dtype=torch.int64, device=eng.device)
    with PeakMemory(eng.device) as peak:
        for start, cols, y in eng.batches(samples, progress, max_seconds=limit):
            y64 = y.double()
            bad_count += (~torch.isfinite(y64)).sum()
            lo, hi = torch.minimum(lo, y64.amin(0)), torch.maximum(hi, y64.amax(0))
            total += y64.sum(0)
            if reduce is not None:
                reduce(start, cols, y)
    return ScaleRun(
        samples,
        eng.batch_size,
        eng.path,
        str(eng.device),
        str(eng.dtype).replace("torch.", ""),
        peak.seconds,
        samples / max(peak.seconds, 1e-12),
        eng.memory_budget,
        eng.planned_bytes(min(eng.batch_size, samples)),
        int(peak.bytes),
        peak.kind,
        tuple(lo.tolist()),
        tuple(hi.tolist()),
        tuple((total / samples).tolist()),
        int(bad_count),
    )
