"""PNG plots for reports (matplotlib Agg canvas; no pyplot, no global backend state)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

COLOURS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]

Series = tuple[str, Sequence[float], Sequence[float]]
"""``(label, xs, ys)``."""


def line_plot(
    path: Path,
    *,
    points: Sequence[Series] = (),
    lines: Sequence[Series] = (),
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool = True,
    logy: bool = True,
    window: tuple[float, float] | None = None,
) -> Path:
    """Write a PNG with measured ``points`` (markers) and formula ``lines`` (dashed), atomically.

    Args:
        path: target file (``.png``); written to a temporary sibling, then renamed.
        points, lines: ``(label, xs, ys)`` series.
        title, xlabel, ylabel: text. logx, logy: log-scale axes (base 2 for x, 10 for y).
        window: optional ``(lo, hi)`` x range to shade (the declared fit window).
    Returns:
        ``path``.
    """
    fig, ax = _axes((7.0, 4.6))
    for i, (label, xs, ys) in enumerate(lines):
        ax.plot(list(xs), list(ys), "--", color=COLOURS[i % len(COLOURS)], linewidth=1.2, label=label)
    for i, (label, xs, ys) in enumerate(points):
        ax.plot(list(xs), list(ys), "o", color=COLOURS[i % len(COLOURS)], markersize=4, label=label)
    if logx:
        ax.set_xscale("log", base=2)
    if logy:
        ax.set_yscale("log")
    if window is not None:
        ax.axvspan(window[0], window[1], color="0.9", zorder=0, label="fit window")
    return _finish(fig, ax, Path(path), title, xlabel, ylabel, legend_size=8)


def _axes(size: tuple[float, float]) -> tuple[Any, Any]:
    """A figure on an Agg canvas and its single axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # imported here: the CLI starts faster
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=110)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _finish(fig: Any, ax: Any, path: Path, title: str, xlabel: str, ylabel: str, legend_size: int) -> Path:
    """Labels, grid and legend, then write the PNG atomically (temporary sibling, then rename)."""
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", linewidth=0.4)
    ax.legend(fontsize=legend_size)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png")
    os.replace(tmp, path)
    return path


def errorbar_plot(
    path: Path,
    *,
    series: Sequence[tuple[str, Sequence[float], Sequence[Sequence[float]]]],
    refs: Mapping[str, Sequence[float]] = {},
    title: str,
    xlabel: str,
    ylabel: str,
    xticks: Mapping[float, str] | None = None,
    logx: bool = False,
) -> str:
    """Write a PNG of per-seed values: mean with sd error bars and min/max ticks per x, plus horizontal reference
    bands (mean +- sd) for ``refs``, atomically (temp file + rename). Returns the file name."""
    fig, ax = _axes((6.4, 4.2))
    for i, (label, xs, per_x) in enumerate(series):
        c = COLOURS[i % len(COLOURS)]
        mean = [float(np.mean(v)) for v in per_x]
        sd = [float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for v in per_x]
        ax.errorbar(list(xs), mean, yerr=sd, fmt="o-", color=c, capsize=4, label=f"{label} (mean +- sd)")
        ax.plot(list(xs), [min(v) for v in per_x], "v", color=c, markersize=3)
        ax.plot(list(xs), [max(v) for v in per_x], "^", color=c, markersize=3)
    for j, (label, values) in enumerate(refs.items()):
        c = COLOURS[(len(series) + j) % len(COLOURS)]
        m, s = float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        ax.axhline(m, color=c, linestyle="--", linewidth=1.2, label=label)
        ax.axhspan(m - s, m + s, color=c, alpha=0.12)
    if logx:
        ax.set_xscale("log", base=2)
    if xticks:
        ax.set_xticks(list(xticks), list(xticks.values()))
    ax.axhline(0.5, color="0.5", linewidth=0.8, linestyle=":", label="chance")
    return _finish(fig, ax, Path(path), title, xlabel, ylabel, legend_size=7).name
