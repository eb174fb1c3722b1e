"""PNG plots of a separation sweep summary (matplotlib Agg canvas, no pyplot), written atomically.

- ``n_star.png``: n*(d) on log-log axes, one colour per architecture: interpolated n* (markers) with the
  seed-bootstrap 95% interval of each n* (error bars), the fitted line ``n* = e^intercept d^slope`` and its
  bootstrap 95% band; censored searches as open triangles at the bound they hit.
- ``cnn_log2.png``: the CNN's n* against ``log^2 d`` with the fitted line ``a + b log^2 d``.
- ``error_curves.png``: per architecture, the median relative test error against n for every d (per-seed
  errors as small dots), with the pass threshold tau.

Source: the learning experiments' figures (Wang & Wu 2023; reconstruction, docs/separation.md).
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from ._store import PLOT_FILES, write_atomic

COLOURS = {"cnn": "tab:blue", "lcn": "tab:orange", "fcn": "tab:green"}


def _figure(cols: int = 1) -> tuple[Any, list]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # imported here: the CLI starts faster
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0 * cols if cols > 1 else 7.0, 4.6), dpi=110)
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(1, cols, i + 1) for i in range(cols)]


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    write_atomic(path, buf.getvalue())
    return path


def _n_star_plot(summary: dict, path: Path) -> Path:
    fig, (ax,) = _figure()
    cfg = summary["config"]
    for arch, res in summary["archs"].items():
        colour, fit = COLOURS.get(arch, "black"), res["fit"]
        if "error" not in fit:
            err = [
                [
                    max(0.0, n - ci[0]) if ci and ci[0] is not None else 0.0
                    for n, ci in zip(fit["n_stars"], fit["n_star_ci"])
                ],
                [
                    max(0.0, ci[1] - n) if ci and ci[1] is not None else 0.0  # None: open above
                    for n, ci in zip(fit["n_stars"], fit["n_star_ci"])
                ],
            ]
            ci = fit["ci"]
            label = f"{arch}: slope {fit['slope']:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")
            ax.errorbar(
                fit["ds"], fit["n_stars"], yerr=err, fmt="o", color=colour, markersize=4, capsize=3, label=label
            )
            ax.plot(
                fit["ds"],
                [math.exp(fit["intercept"]) * d ** fit["slope"] for d in fit["ds"]],
                "-",
                color=colour,
                linewidth=1.2,
            )
            band = [(d, b) for d, b in zip(fit["ds"], fit["band"]) if b]
            if band:
                ax.fill_between(
                    [d for d, _ in band],
                    [b[0] for _, b in band],
                    [b[1] for _, b in band],
                    color=colour,
                    alpha=0.15,
                    linewidth=0,
                )
        for e in res["per_d"]:
            if e["censored"] == "above":
                ax.plot([e["d"]], [cfg["n_max"]], "^", mfc="none", color=colour, markersize=7)
            elif e["censored"] == "below":
                ax.plot([e["d"]], [cfg["n_min"]], "v", mfc="none", color=colour, markersize=7)
            elif "error" in fit and e["n_star_interp"] is not None:
                ax.plot([e["d"]], [e["n_star_interp"]], "o", color=colour, markersize=4)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_title(f"n*(d), task {cfg['task']}, tau {cfg['tau']} (bands: bootstrap 95%; triangles: censored)", fontsize=9)
    ax.set_xlabel("d")
    ax.set_ylabel("n* (interpolated)")
    ax.grid(True, which="major", linewidth=0.4)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return _save(fig, path)


def _log2_plot(summary: dict, path: Path) -> Path | None:
    fit, law = summary["archs"].get("cnn", {}).get("fit", {}), summary.get("cnn_log2", {})
    if "error" in fit or not fit or "error" in law or not law:
        return None
    fig, (ax,) = _figure()
    xs = [math.log(d) ** 2 for d in fit["ds"]]
    ax.plot(xs, fit["n_stars"], "o", color=COLOURS["cnn"], label="cnn n* (interpolated)")
    ax.plot(
        xs,
        [law["a"] + law["b"] * x for x in xs],
        "--",
        color=COLOURS["cnn"],
        label=f"n* = {law['a']:.3g} + {law['b']:.3g} log^2 d (R^2 {law['r2']:.2f})",
    )
    ax.set_xlabel("log^2 d (natural log)")
    ax.set_ylabel("n*")
    ax.set_title(
        f"CNN n* against log^2 d (slope of log n* vs log log d: {law['loglog_slope']:.2f}; 2 for an exact log^2 law)",
        fontsize=9,
    )
    ax.grid(True, linewidth=0.4)
    ax.legend(fontsize=8)
    return _save(fig, path)


def _curves_plot(summary: dict, path: Path) -> Path:
    from matplotlib import colormaps

    archs = summary["archs"]
    fig, axes = _figure(len(archs))
    cmap = colormaps["viridis"]
    tau = summary["config"]["tau"]
    for ax, (arch, res) in zip(axes, archs.items()):
        rows = [e for e in res["per_d"] if e["points"]]
        for i, e in enumerate(rows):
            colour = cmap(i / max(1, len(rows) - 1))
            pts = e["points"]
            ax.plot(
                [p["n"] for p in pts],
                [p["median_test"] for p in pts],
                "o-",
                color=colour,
                markersize=3,
                linewidth=1,
                label=f"d={e['d']}",
            )
            train = [(p["n"], p["median_train"]) for p in pts if (p["median_train"] or 0) > 0]
            ax.plot([t[0] for t in train], [t[1] for t in train], "--", color=colour, linewidth=0.8)
            seeds = [(p["n"], v) for p in pts for v in p["test_rel"] if v is not None and v > 0]
            ax.plot([s[0] for s in seeds], [s[1] for s in seeds], ".", color=colour, markersize=2, alpha=0.5)
        ax.axhline(tau, color="red", linestyle="--", linewidth=1, label=f"tau = {tau}")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(f"{arch}: median error / Var(y), test (solid), training (dashed)", fontsize=9)
        ax.set_xlabel("n")
        ax.grid(True, which="major", linewidth=0.4)
        ax.legend(fontsize=7)
    return _save(fig, path)


def write_plots(summary: dict, out: str | Path) -> list[str]:
    """Write the sweep's PNGs into the directory ``out``; returns the file names written."""
    out = Path(out)
    n_star, log2, curves = PLOT_FILES
    paths = [_n_star_plot(summary, out / n_star), _log2_plot(summary, out / log2), _curves_plot(summary, out / curves)]
    return [p.name for p in paths if p is not None]
