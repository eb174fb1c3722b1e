"""``python -m numerics separation``: run or resume a CNN / LCN / FCN sample-complexity sweep.

Prints a table (arch, d, n*, interpolated n*, median test / train error at n*) and the fitted slopes with
their bootstrap intervals. Exit codes: 0 when the sweep completed (whatever the slopes; failed points are
reported in the table and in summary.json), 2 on a usage error or bad input (one ``error: ...`` line), 1 when the
file system refuses a read or write.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .._errors import NumericsError, bad
from ._executors import EXECUTORS
from ._sweep import ARCHS, PROFILES, run_separation, separation_config
from ._tasks import TASKS


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``separation`` subcommand to an ``argparse`` subparsers object; returns its parser."""
    p = subparsers.add_parser("separation", help="sample complexity n*(d) of CNN / LCN / FCN, fitted rates",
                              description="Measure n*(d), the smallest training-set size reaching median test "
                                          "error <= tau Var(y), per architecture and d; fit log-log slopes with "
                                          "seed-bootstrap intervals. Resumable: rerun with the same --out.")
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--profile", default="quick", choices=PROFILES)
    p.add_argument("--out", required=True, help="results directory (created; an existing one is resumed)")
    p.add_argument("--device", default="cpu", help="auto (CUDA when present), cpu, cuda, cuda:N (default cpu)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--executor", default="local", choices=EXECUTORS,
                   help="local process pool (default), serial (in-process), dask")
    p.add_argument("--scheduler", help="dask scheduler address, e.g. tcp://HOST:8786 (default: a LocalCluster)")
    p.add_argument("--workers", type=int, help="worker processes (default: the usable cores)")
    p.add_argument("--seeds", type=int, help="number of seeds (labels 0 .. N-1; default: the profile's)")
    p.add_argument("--ds", help="input sizes, comma-separated powers of 2, e.g. 8,16,32")
    p.add_argument("--archs", help=f"architectures, comma-separated from {','.join(ARCHS)}")
    p.add_argument("--tau", type=float, help="pass threshold on the median relative test error (default 0.1)")
    p.add_argument("--evaluator", help="'module:function' evaluating one point (default "
                                       "numerics.learning:train_point; the tests plug in a fake)")
    p.add_argument("--force", action="store_true", help="discard results in --out made with another configuration")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _ints(text: str, arg: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise bad(arg, text, "comma-separated integers, e.g. 8,16,32") from None


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _ci(fit: dict) -> str:
    excluded = "".join(f"; d={d} left out: {why}" for d, why in fit.get("excluded_ds", []))
    if "error" in fit:
        return f"no fit: {fit['error']}{excluded}"
    ci = fit.get("ci")
    band = f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "(no interval)"
    return f"{fit['slope']:.2f}  {int(fit['level'] * 100)}% CI {band}  on d = {fit['ds']}{excluded}"


def report(summary: dict) -> str:
    """The text table of a sweep summary."""
    lines = [f"{'arch':5} {'d':>6} {'n*':>8} {'interp n*':>10} {'test@n*':>9} {'train@n*':>9}  note"]
    for arch, res in summary["archs"].items():
        for e in res["per_d"]:
            note = e["error"] if e["status"] == "error" else (f"censored {e['censored']}" if e["censored"] else "")
            lines.append(f"{arch:5} {e['d']:>6} {_fmt(e['n_star'], 'd'):>8} {_fmt(e['n_star_interp'], '.1f'):>10} "
                         f"{_fmt(e['median_test_at_n_star'], '.4f'):>9} {_fmt(e['median_train_at_n_star'], '.4f'):>9}"
                         f"  {note}")
    lines.append("log-log slope of n* against d:")
    lines += [f"  {arch}: {_ci(res['fit'])}" for arch, res in summary["archs"].items()]
    if "cnn_log2" in summary:
        law = summary["cnn_log2"]
        lines.append("  cnn n* = a + b log^2 d: " + (law["error"] if "error" in law else
                     f"b = {law['b']:.3g}, R^2 = {law['r2']:.3f}; slope of log n* vs log log d = "
                     f"{law['loglog_slope']:.2f} (2 for an exact log^2 law)"))
    for name, fit in summary.get("ratios", {}).items():
        lines.append(f"  ratio {name}: {_ci(fit)}")
    t = summary["timings"]
    lines.append(f"{t['evaluated']} points evaluated, {t['reused']} reused from the store, "
                 f"{len(summary['errors'])} failed; {t['wall_s']:.1f} s wall")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the ``separation`` subcommand; returns the exit code (0 done, 1 file system, 2 usage)."""
    try:
        overrides: dict[str, Any] = {}
        if args.seeds is not None:
            if args.seeds < 1:
                raise bad("seeds", args.seeds, "an int >= 1")
            overrides["seeds"] = tuple(range(args.seeds))
        if args.ds is not None:
            overrides["ds"] = _ints(args.ds, "ds")
        if args.archs is not None:
            overrides["archs"] = tuple(args.archs.split(","))
        for name in ("tau", "evaluator"):
            if getattr(args, name) is not None:
                overrides[name] = getattr(args, name)
        config = separation_config(args.task, args.profile, **overrides)
        summary = run_separation(config, args.out, executor=args.executor, workers=args.workers,
                                 scheduler=args.scheduler, device=args.device, dtype=args.dtype,
                                 progress=not args.no_progress, force=args.force)
    except NumericsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(report(summary))
    print(f"wrote {args.out}/summary.json, points.jsonl, " + ", ".join(summary["plots"]))
    return 0
