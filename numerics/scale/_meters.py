"""What a sampling run shows while it runs and what it measures: its progress and its peak memory and time.

``progress`` has one vocabulary across the project (as :func:`theory.certify_sup_error`, plus a bool for the bar):

* ``None`` (the default): a tqdm bar on stderr when stderr is a terminal, nothing otherwise;
* ``True`` / ``False``: the bar always / never;
* a callable: called after every batch with ``{"samples_done": int, "samples": int, "seconds": float}``
  (samples evaluated so far, the run's total, seconds since the first batch started); no bar is drawn. It
  observes only: the run's samples and results do not depend on it.

:class:`ProgressMeter` implements it for :meth:`numerics.scale._engine.Engine.batches`; :class:`PeakMemory`
measures a block's peak memory and wall time (CUDA allocator peak, or growth of the process's peak RSS).
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from typing import Any, Union

import numpy as np
import torch

from .._errors import bad

Progress = Union[bool, Callable[[dict], None], None]
"""The ``progress`` argument of :func:`numerics.check_at_scale` and :func:`numerics.evaluate_at_scale`."""


def check_progress(progress: Any) -> Progress:
    """``progress`` itself when it is None, a bool or a callable (see the module docstring).

    Raises:
        NumericsError: anything else.
    """
    if progress is None or isinstance(progress, (bool, np.bool_)) or callable(progress):
        return progress
    raise bad("progress", progress, "None, True, False or a callable taking one dict")


class ProgressMeter:
    """A run's progress over ``total`` samples: a tqdm bar (``desc`` its label) or calls of ``progress(dict)``.

    Raises:
        NumericsError: a ``progress`` outside the vocabulary (:func:`check_progress`).
    """

    def __init__(self, progress: Progress, total: int, desc: str) -> None:
        check_progress(progress)
        self.total, self.done = total, 0
        self.callback = progress if callable(progress) else None
        self.bar = None
        if self.callback is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                unit="sample",
                unit_scale=True,
                file=sys.stderr,
                leave=False,
                disable=None if progress is None else not progress,
                desc=desc,
            )
        self.t0 = time.perf_counter()

    def update(self, count: int) -> None:
        """``count`` more samples are done: advance the bar, or call the callback with the new state."""
        self.done += count
        if self.callback is not None:
            self.callback({"samples_done": self.done, "samples": self.total, "seconds": time.perf_counter() - self.t0})
        elif self.bar is not None:
            self.bar.update(count)

    def close(self) -> None:
        """Remove the bar (the callback gets no further call)."""
        if self.bar is not None:
            self.bar.close()


class PeakMemory:
    """Measured peak of a block: CUDA allocator peak above the start, or the growth of the process's peak RSS.

    After the block: ``bytes`` (the peak), ``kind`` (how it was measured) and ``seconds`` (wall time).
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
        else:
            self.base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.bytes = torch.cuda.max_memory_allocated(self.device) - self.base
            self.kind = "cuda max_memory_allocated above the start"
        else:
            self.bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self.base
            self.kind = "growth of the process's peak RSS (0 when below an earlier peak)"
        self.seconds = time.perf_counter() - self.t0
