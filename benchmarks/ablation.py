"""One-factor-at-a-time ablation of the training protocol around three CNN points (settings A, B, C).

* ``A``: the paper's Fig. 2 setting: d = 4096, n = 400, kernel = stride 4, width 4, no head, per-coordinate Adam
  at lr 1e-3, at most 2000 steps, early stopping every 25 steps with patience 8 on 100 validation samples, 2000
  test samples (the protocol of the ``ww.fig2.cnn_learns_sparse`` check); short-range support (0, 1) and
  long-range support (0, d-1), each with every cell;
* ``B``: the sparse product at long range under the full profile's protocol: d = 256, n = 1024 (kernel = stride 2,
  width 8, a 16-unit head, ``adam-tensor``, lrs 0.01 / 0.03 / 0.1 picked on validation);
* ``C``: the full profile's CNN point that overfits: the ``patch-quadratic`` task (the sweep behind the
  sample-complexity claims) at d = 256, n = 1024, the same protocol as B.

Around each baseline ONE factor changes at a time: init scale, optimizer (each with its own learning rates),
learning rate, early stopping / step limit, width, readout init, weight decay. Every cell is one
``numerics.learning.train_point`` call (seeds 0 .. S-1, float32; B: the full profile's 2000 steps, patience 10
every 20 steps, 1024 validation and 4096 test samples);
setting B's learning-rate cells are the baseline's own members at that lr (the same training: members stop
independently), so they have no training error. Per cell: median and min / max over seeds of the relative test
error (test MSE / Var(f*); 1 is the zero predictor), the median training error, the median stopping step.
A cell is marked ``*`` when its [min, max] over seeds does not overlap the baseline's and its median is at least
0.02 away from the baseline's.

The results go to a JSON file (``--out``, written after every cell, so an interrupted run keeps what it did) and a
plot next to it (same name, ``.png``): one panel per setting, cells grouped by factor, median with min-max bars.

    python benchmarks/ablation.py [--setting A|B|C|both|all] [--seeds 3] [--quick] [--out docs/img/ablation.json]
    python benchmarks/ablation.py --replot --out docs/img/ablation.json   # table and plot of a stored run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from numerics.learning import separation_config, train_point

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "img" / "ablation.json"
MAX_STEPS, EVAL_EVERY, PATIENCE = 2000, 20, 10  # the full profile's
MOVED_MIN = 0.02
"""A cell moves the error when its seeds' [min, max] does not overlap the baseline's AND the medians differ by at
least this much (relative error): a narrow seed spread alone does not make a difference of 0.003 count."""

# Per setting: the baseline (d, n, supports, train overrides of the full profile, lrs) and the factor cells
# (factor, value label, train overrides, lrs or None for the baseline's, derived-from-baseline lr or None).
SETTINGS: dict[str, dict[str, Any]] = {
    "A": {
        "title": "A: Fig. 2 setting (d = 4096, n = 400, s = 4, width 4, no head, adam 1e-3)",
        "d": 4096,
        "n": 400,
        "supports": {"short (0, 1)": "short", "long (0, d-1)": "long"},
        "train": dict(
            s=4,
            width=4,
            head_width=0,
            head_layers=0,
            optimizer="adam",
            eval_every=25,
            patience=8,
            n_val=100,
            n_test=2000,
        ),
        "lrs": [1e-3],
        "base_label": {
            "init_scale": "1",
            "optimizer": "adam",
            "lr": "1e-3",
            "stopping": "p8",
            "width": "4",
            "readout": "zero",
            "weight_decay": "0",
        },
        "cells": [
            ("init_scale", "0.1", dict(init_scale=0.1), None, None),
            ("init_scale", "3", dict(init_scale=3.0), None, None),
            ("optimizer", "adam-tensor", dict(optimizer="adam-tensor"), [0.01, 0.03], None),
            ("optimizer", "sgd", dict(optimizer="sgd"), [0.003, 0.03], None),
            ("lr", "3e-4", {}, [3e-4], None),
            ("lr", "3e-3", {}, [3e-3], None),
            ("stopping", "none", dict(patience=None), None, None),
            ("stopping", "500 steps", dict(patience=None, max_steps=500), None, None),
            ("width", "2", dict(width=2), None, None),
            ("width", "8", dict(width=8), None, None),
            ("readout", "gaussian", dict(readout_init="gaussian"), None, None),
            ("weight_decay", "0.1", dict(weight_decay=0.1), None, None),
            ("weight_decay", "1", dict(weight_decay=1.0), None, None),
        ],
    },
    "B": {
        "title": "B: full-profile protocol, long-range product (d = 256, n = 1024, s = 2, width 8, head 16, adam-tensor)",
        "d": 256,
        "n": 1024,
        "supports": {"long (0, d-1)": "long"},
        "train": {},
        "lrs": [0.01, 0.03, 0.1],
        "base_label": {
            "init_scale": "1",
            "optimizer": "adam-t",
            "lr": "picked",
            "stopping": "p10",
            "width": "8",
            "readout": "zero",
            "weight_decay": "0",
        },
        "cells": [
            ("init_scale", "0.1", dict(init_scale=0.1), None, None),
            ("init_scale", "3", dict(init_scale=3.0), None, None),
            ("optimizer", "adam", dict(optimizer="adam"), [1e-3, 3e-3], None),
            ("optimizer", "sgd", dict(optimizer="sgd"), [0.003, 0.03], None),
            ("lr", "0.01", {}, None, 0.01),
            ("lr", "0.03", {}, None, 0.03),
            ("lr", "0.1", {}, None, 0.1),
            ("stopping", "none", dict(patience=None), None, None),
            ("width", "4", dict(width=4), None, None),
            ("width", "16", dict(width=16), None, None),
            ("readout", "gaussian", dict(readout_init="gaussian"), None, None),
            ("weight_decay", "1e-3", dict(weight_decay=1e-3), None, None),
            ("weight_decay", "1e-2", dict(weight_decay=1e-2), None, None),
        ],
    },
    "C": {
        "title": "C: full profile, patch-quadratic, overfitting point (d = 256, n = 1024, s = 2, width 8, head 16)",
        "d": 256,
        "n": 1024,
        "supports": {"patch-quadratic": "patch"},
        "train": {},
        "lrs": [0.01, 0.03, 0.1],
        "base_label": {
            "init_scale": "1",
            "optimizer": "adam-t",
            "lr": "picked",
            "stopping": "p10",
            "width": "8",
            "readout": "zero",
            "weight_decay": "0",
        },
        "cells": [
            ("init_scale", "0.1", dict(init_scale=0.1), None, None),
            ("init_scale", "0.03", dict(init_scale=0.03), None, None),
            ("init_scale", "0.01", dict(init_scale=0.01), None, None),
            ("init_scale", "3", dict(init_scale=3.0), None, None),
            ("optimizer", "sgd", dict(optimizer="sgd"), [0.003, 0.03], None),
            ("lr", "0.01", {}, None, 0.01),
            ("lr", "0.03", {}, None, 0.03),
            ("lr", "0.1", {}, None, 0.1),
            ("stopping", "none", dict(patience=None), None, None),
            ("width", "16", dict(width=16), None, None),
            ("readout", "gaussian", dict(readout_init="gaussian"), None, None),
            ("weight_decay", "1e-3", dict(weight_decay=1e-3), None, None),
            ("weight_decay", "1e-2", dict(weight_decay=1e-2), None, None),
        ],
    },
}
QUICK = dict(d=64, n=64, train=dict(max_steps=40, eval_every=10, patience=2, n_val=64, n_test=256))
"""--quick: every cell at d = 64 (a power of 2 and of 4), n = 64, 40 steps: the script's smoke run."""


def _task(kind: str, d: int) -> tuple[str, dict[str, Any]]:
    """The task and its options: the sparse product on the short- or long-range support, or patch-quadratic."""
    if kind == "patch":
        return "patch-quadratic", {}
    return "sparse", {"g": "product", "support": [0, 1] if kind == "short" else [0, d - 1]}


def _config(setting: dict, kind: str, seeds: int, quick: bool, train: dict, lrs: list[float]) -> dict:
    d = QUICK["d"] if quick else setting["d"]
    tr = {"max_steps": MAX_STEPS, "eval_every": EVAL_EVERY, "patience": PATIENCE, **setting["train"], **train}
    if quick:
        tr = {**tr, **QUICK["train"]}
        if "max_steps" in train:  # keep the shortened-training cell shorter than the baseline
            tr["max_steps"] = QUICK["train"]["max_steps"] // 4
        if "patience" in train:
            tr["patience"] = train["patience"]
    task, options = _task(kind, d)
    return separation_config(
        task, "full", ds=(d,), seeds=tuple(range(seeds)), lrs=tuple(lrs), train=tr, task_options=options
    ).to_dict()


def _summary(
    test: list[float], train: list[float] | None, steps: list[int] | None, lrs: list[float] | None, seconds: float
) -> dict[str, Any]:
    finite = [v if math.isfinite(v) else math.inf for v in test]
    return {
        "test_rel": test,
        "train_rel": train,
        "steps": steps,
        "lr": lrs,
        "seconds": seconds,
        "median": statistics.median(finite),
        "min": min(finite),
        "max": max(finite),
        "train_median": None if train is None else statistics.median(train),
        "steps_median": None if steps is None else statistics.median(steps),
    }


def _run_cell(setting: dict, kind: str, seeds: int, quick: bool, train: dict, lrs: list[float]) -> dict:
    cfg = _config(setting, kind, seeds, quick, train, lrs)
    r = train_point(cfg, "cnn", cfg["ds"][0], QUICK["n"] if quick else setting["n"], device="cpu", dtype="float32")
    out = _summary(r["test_rel"], r["train_rel"], r["steps"], r["lr"], r["seconds"])
    out["all_test_rel"], out["lrs"], out["diverged"] = r["all_test_rel"], lrs, r["diverged"]
    return out


def run(names: list[str], seeds: int, quick: bool, out: Path, results: dict) -> dict:
    for name in names:
        setting = SETTINGS[name]
        for support, kind in setting["supports"].items():
            key = f"{name} {support}"
            cells = results["cells"].setdefault(key, {})
            todo = [("baseline", "", {}, None, None)] + setting["cells"]
            for factor, label, train, lrs, derive in todo:
                cid = f"{factor}={label}"
                if cid in cells:
                    continue
                if derive is not None:  # a member of the baseline's ensemble: its lr column, test error only
                    base = cells["baseline="]
                    col = base["lrs"].index(derive)
                    cells[cid] = _summary([row[col] for row in base["all_test_rel"]], None, None, None, 0.0)
                else:
                    cells[cid] = _run_cell(setting, kind, seeds, quick, train, lrs or setting["lrs"])
                c = cells[cid]
                print(
                    f"  {key:20s} {cid:28s} test {c['median']:.3f} [{c['min']:.3f}, {c['max']:.3f}]  "
                    f"{c['seconds']:6.1f} s",
                    flush=True,
                )
                results["wall_s"] = time.perf_counter() - results["_t0"] + results.get("_prior_s", 0.0)
                _save(results, out)
    return results


def _save(results: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(
        json.dumps({k: v for k, v in results.items() if not k.startswith("_")}, indent=1, default=lambda v: None)
    )
    os.replace(tmp, out)


def _fmt(v: float | None) -> str:
    if v is None:
        return "—"
    return "inf" if not math.isfinite(v) else f"{v:.3f}"


def _rows(results: dict) -> list[tuple]:
    """(setting key, factor, value label, cell, base cell, moved) in table order."""
    rows = []
    for key, cells in results["cells"].items():
        setting = SETTINGS[key.split()[0]]
        base = cells.get("baseline=")
        if base is None:
            continue
        rows.append((key, "baseline", "", base, base, False))
        for factor, label, *_ in setting["cells"]:
            c = cells.get(f"{factor}={label}")
            if c is not None:
                moved = (c["min"] > base["max"] or c["max"] < base["min"]) and abs(
                    c["median"] - base["median"]
                ) >= MOVED_MIN
                rows.append((key, factor, label, c, base, moved))
    return rows


def table(results: dict) -> str:
    lines = [
        "| setting, support | factor | value | test median | test min–max | train median | steps | moved |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, factor, label, c, _, moved in _rows(results):
        steps = "—" if c["steps_median"] is None else f"{c['steps_median']:.0f}"
        lines.append(
            f"| {key} | {factor} | {label} | {_fmt(c['median'])} | {_fmt(c['min'])}–{_fmt(c['max'])} | "
            f"{_fmt(c['train_median'])} | {steps} | {'*' if moved else ''} |"
        )
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    names = [n for n in SETTINGS if any(k.split()[0] == n for k in results["cells"])]
    fig = Figure(figsize=(9, 1.0 + 2.6 * len(names)), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    colours = ["tab:blue", "tab:orange"]
    for ax, name in zip(axes, names):
        setting = SETTINGS[name]
        factors = list(dict.fromkeys(f for f, *_ in setting["cells"]))
        ticks, labels, groups, x = [], [], [], 0.0
        for factor in factors:
            start = x
            for label in [setting["base_label"][factor] + "*"] + [c[1] for c in setting["cells"] if c[0] == factor]:
                ticks.append(x)
                labels.append(label)
                x += 1
            groups.append(((start + x - 1) / 2, factor))
            x += 0.8
        keys = [k for k in results["cells"] if k.split()[0] == name]
        vals = [
            v
            for k in keys
            for c in results["cells"][k].values()
            for v in (c["min"], c["max"])
            if math.isfinite(v) and v > 0
        ] + [1.0]
        lo, hi = min(vals), max(vals)
        for j, key in enumerate(keys):
            cells, off = results["cells"][key], (j - (len(keys) - 1) / 2) * 0.22
            i = 0
            for factor in factors:
                cids = ["baseline="] + [f"{factor}={c[1]}" for c in setting["cells"] if c[0] == factor]
                for cid in cids:
                    c = cells.get(cid)
                    if c is not None and math.isfinite(c["median"]):
                        top = c["max"] if math.isfinite(c["max"]) else c["median"]
                        ax.errorbar(
                            ticks[i] + off,
                            c["median"],
                            yerr=[[c["median"] - c["min"]], [top - c["median"]]],
                            fmt="o",
                            ms=4,
                            color=colours[j % 2],
                            capsize=2,
                            lw=1,
                            label=key.split(" ", 1)[1] if i == 0 else None,
                        )
                    i += 1
        ax.axhline(1.0, ls="--", color="grey", lw=1)
        if lo < 0.5 or hi > 3:  # errors over decades: log axis; near 1 (every cell failing): linear
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(ScalarFormatter())
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_yticks([v for v in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10) if lo / 1.5 <= v <= hi * 1.5])
        ax.set_xticks(ticks)
        ax.set_xticklabels(labels, fontsize=6.5, rotation=30, ha="right")
        for gx, factor in groups:
            ax.text(gx, -0.3, factor, transform=ax.get_xaxis_transform(), ha="center", va="top", fontsize=7.5)
        ax.set_ylabel("rel. test error", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(setting["title"] + "  (* = baseline)", fontsize=8.5)
        ax.legend(fontsize=7, loc="best", framealpha=0.6)
    fig.tight_layout(h_pad=0.8)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--setting", choices=("A", "B", "C", "both", "all"), default="both", help="both: A and B; all: A, B and C"
    )
    ap.add_argument("--seeds", type=int, default=3, help="seeds per cell (0 .. N-1)")
    ap.add_argument("--quick", action="store_true", help="smoke run: d = 64, n = 64, 40 steps (seconds)")
    ap.add_argument(
        "--out",
        type=Path,
        help="results JSON (the plot goes next to it, .png); default "
        "docs/img/ablation.json, or a temporary file with --quick",
    )
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--replot", action="store_true", help="print the table and redraw the plot of --out, no training")
    ap.add_argument("--resume", action="store_true", help="keep the cells already in --out, run the rest")
    args = ap.parse_args()
    if args.seeds < 1:
        ap.error("--seeds must be >= 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    out = args.out or (Path(tempfile.gettempdir()) / "ablation-quick.json" if args.quick else DEFAULT_OUT)
    names = {"both": ["A", "B"], "all": ["A", "B", "C"]}.get(args.setting, [args.setting])
    if args.replot or args.resume:
        results = json.loads(out.read_text())
    else:
        results = {"seeds": args.seeds, "quick": args.quick, "cells": {}}
    if not args.replot:
        if results.get("seeds") != args.seeds or results.get("quick") != args.quick:
            ap.error(f"{out} holds a run with other --seeds / --quick")
        results["_t0"], results["_prior_s"] = time.perf_counter(), results.get("wall_s", 0.0)
        results["threads"] = torch.get_num_threads()
        print(
            f"ablation: settings {names}, {args.seeds} seeds, {'quick' if args.quick else 'full'}, "
            f"{torch.get_num_threads()} thread(s); results -> {out}",
            flush=True,
        )
        run(names, args.seeds, args.quick, out, results)
    png = out.with_suffix(".png")
    plot(results, png)
    print(
        f"\n{table(results)}\n\nwall time {results.get('wall_s', 0.0):.0f} s; seeds {results['seeds']}; "
        f"JSON {out}; plot {png}"
    )


if __name__ == "__main__":
    main()
