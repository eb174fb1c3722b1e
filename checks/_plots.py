"""PNG plots for reports (matplotlib Agg canvas; no pyplot, no global backend state)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

Series = tuple[str, Sequence[float], Sequence[float]]
"""``(label, xs, ys)``."""


def line_plot(path: Path, *, points: Sequence[Series] = (), lines: Sequence[Series] = (), title: str,
              xlabel: str, ylabel: str, logx: bool = True, logy: bool = True,
              window: tuple[float, float] | None = None) -> Path:
    """Write a PNG with measured ``points`` (markers) and formula ``lines`` (dashed), atomically.

    Args:
        path: target file (``.png``); written to a temporary sibling, then renamed.
        points, lines: ``(label, xs, ys)`` series.
        title, xlabel, ylabel: text. logx, logy: log-scale axes (base 2 for x, 10 for y).
        window: optional ``(lo, hi)`` x range to shade (the declared fit window).
    Returns:
        ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # imported here: the CLI starts faster
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for i, (label, xs, ys) in enumerate(lines):
        ax.plot(list(xs), list(ys), "--", color=colours[i % len(colours)], linewidth=1.2, label=label)
    for i, (label, xs, ys) in enumerate(points):
        ax.plot(list(xs), list(ys), "o", color=colours[i % len(colours)], markersize=4, label=label)
    if logx:
        ax.set_xscale("log", base=2)
    if logy:
        ax.set_yscale("log")
    if window is not None:
        ax.axvspan(window[0], window[1], color="0.9", zorder=0, label="fit window")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", linewidth=0.4)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png")
    os.replace(tmp, path)
    return path
