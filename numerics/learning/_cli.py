"""``python -m numerics separation``: run or resume a CNN / LCN / FCN sample-complexity sweep.

Prints a table (arch, d, n*, interpolated n*, median test / train error at n*), the fitted slopes with their
bootstrap intervals, and the n* ratios between architectures per d with the slope of their log-log fit. Exit codes
(the project's table, :data:`theory.cli.EXIT_CODES`, docs/cli.md): 0 when every search finished (whatever the
slopes); 1 when a point failed (its search stops; reported in the table and in summary.json; the next run of the
same command retries it); 2 on a usage error, bad input, ``--device cuda`` without CUDA (unless ``--scheduler``
names a cluster, whose workers may have it), or an ``--out`` that cannot be written or is not a store (all
checked before any point is computed; one ``error: ...`` line), or when the file system refuses a write.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import theory

from .._errors import NumericsError, bad, theory_errors
from ..convert import resolve_device
from ._config import PROFILES, separation_config
from ._executors import EXECUTORS
from ._optim import OPTIMIZERS
from ._sweep import run_separation
from ._tasks import TASKS
from ._tree import ARCHS, READOUT_INITS


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``separation`` subcommand to an ``argparse`` subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "separation",
        help="sample complexity n*(d) of CNN / LCN / FCN, fitted rates",
        description="Measure n*(d), the smallest training-set size reaching median test "
        "error <= tau Var(y), per architecture and d; fit log-log slopes with "
        "seed-bootstrap intervals. Resumable: rerun with the same --out.",
    )
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--profile", default="quick", choices=PROFILES)
    p.add_argument("--out", required=True, help="results directory (created; an existing one is resumed)")
    p.add_argument("--device", default="cpu", help="auto (CUDA when present), cpu, cuda, cuda:N (default cpu)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument(
        "--executor", default="local", choices=EXECUTORS, help="local process pool (default), serial (in-process), dask"
    )
    p.add_argument("--scheduler", help="dask scheduler address, e.g. tcp://HOST:8786 (default: a LocalCluster)")
    p.add_argument("--workers", type=int, help="worker processes (default: the usable cores)")
    p.add_argument("--seeds", type=int, help="number of seeds (labels 0 .. N-1; default: the profile's)")
    p.add_argument("--ds", help="input sizes, comma-separated powers of the kernel s (default 2), e.g. 8,16,32")
    p.add_argument("--archs", help=f"architectures, comma-separated from {','.join(ARCHS)}")
    p.add_argument("--tau", type=float, help="pass threshold on the median relative test error (default 0.1)")
    p.add_argument("--lrs", help="learning-rate grid, comma-separated, e.g. 0.03,0.1 (validation picks one per seed)")
    g = p.add_argument_group("training protocol (default: the profile's; recorded in config.json)")
    g.add_argument("--s", type=int, help="kernel = stride of the trees: 2, 3 or 4 (--ds must be powers of it)")
    g.add_argument("--width", type=int, help="channels of every tree layer")
    g.add_argument("--head-width", type=int, help="units of each head layer; 0: no head layer")
    g.add_argument("--head-layers", type=int, help="head ReLU layers before the readout")
    g.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        help="adam-tensor (the profiles'; O(d)-equivariant), adam "
        "(per-coordinate, not equivariant), sgd, gd (full batch)",
    )
    g.add_argument("--momentum", type=float, help="heavy-ball momentum (gd, sgd) or Adam's beta1, in [0, 1)")
    g.add_argument("--weight-decay", type=float, help="L2 (gd, sgd) or decoupled (adam, adam-tensor); default 0")
    g.add_argument(
        "--batch-size",
        type=int_or_full,
        default=argparse.SUPPRESS,
        help="minibatch size, or 'full' (the profiles' default)",
    )
    g.add_argument("--init-scale", type=float, help="multiplier of the N(0, 2/fan_in) initialisation (default 1)")
    g.add_argument("--readout-init", choices=READOUT_INITS, help="zero (default) or gaussian N(0, 1/fan_in)")
    p.add_argument(
        "--evaluator",
        help="'module:function' evaluating one point (default numerics.learning:train_point; the tests plug in a fake)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="discard results in --out made with another configuration "
        "(only in a store this tool created: its .cnnverify marker)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


_TRAIN_FLAGS = (
    "s",
    "width",
    "head_width",
    "head_layers",
    "optimizer",
    "momentum",
    "weight_decay",
    "init_scale",
    "readout_init",
)
"""Flags that override one key of the profile's ``train`` dict (same name); ``--batch-size`` is handled apart."""


def int_or_full(text: str) -> int | None:
    """``--batch-size``: ``'full'`` -> None (full batch), else an int (validated with the config)."""
    return None if text.strip() == "full" else int(text)


def _floats(text: str, arg: str) -> tuple[float, ...]:
    """``'0.03,0.1'`` -> ``(0.03, 0.1)``; an empty or non-numeric item is an error."""
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise bad(arg, text, "comma-separated numbers without empty items, e.g. 0.03,0.1") from None


def _ints(text: str, arg: str) -> tuple[int, ...]:
    """``'8,16,32'`` -> ``(8, 16, 32)``, strictly (an empty item such as ``'8,,16'`` is an error)."""
    with theory_errors():
        return tuple(theory.cli.parse_int_list(text, arg, "8,16,32"))


def _names(text: str, arg: str) -> tuple[str, ...]:
    """``'cnn,lcn'`` -> ``('cnn', 'lcn')``; an empty item is an error."""
    items = tuple(v.strip() for v in text.split(","))
    if not all(items):
        raise bad(arg, text, "comma-separated names without empty items, e.g. cnn,lcn")
    return items


def _check_up_front(args: argparse.Namespace) -> None:
    """The device and the output directory, before any point is computed (NumericsError: a usage error)."""
    if args.scheduler is None:  # a remote cluster's workers may have the CUDA this machine lacks
        try:
            resolve_device(args.device)
        except NumericsError as e:
            raise NumericsError(str(e).replace("argument 'device'", "argument '--device'", 1)) from None
    with theory_errors():
        theory.io.check_writable(args.out, "directory", flag="--out", existing="append")


def _ratios(summary: dict) -> list[str]:
    """One line per architecture pair: n*_num / n*_den at each d where both have an interpolated n* (marked when
    either is censored: then the ratio is only a bound)."""
    lines = []
    archs = summary["archs"]
    for name in summary.get("ratios", {}):
        num, den = name.split("/")
        a = {e["d"]: e for e in archs[num]["per_d"]}
        b = {e["d"]: e for e in archs[den]["per_d"]}
        cells = [
            f"d={d}: {a[d]['n_star_interp'] / b[d]['n_star_interp']:.2f}"
            + (" (censored)" if a[d]["censored"] or b[d]["censored"] else "")
            for d in sorted(set(a) & set(b))
            if a[d]["n_star_interp"] and b[d]["n_star_interp"]
        ]
        lines.append(f"  n*_{num} / n*_{den} (interpolated n*): " + (", ".join(cells) if cells else "none"))
    return lines


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _ci(fit: dict) -> str:
    excluded = "".join(f"; d={d} left out: {why}" for d, why in fit.get("excluded_ds", []))
    if "error" in fit:
        return f"no fit: {fit['error']}{excluded}"
    ci = fit.get("ci")
    band = f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "(no interval)"
    return f"{fit['slope']:.2f}  {int(fit['level'] * 100)}% CI {band}  on d = {fit['ds']}{excluded}"


def _bracket(b: list | None) -> str:
    """The search's final bracket ``(last failing n, first passing n]``; ``-`` for an end it has not got."""
    return "-" if not b else f"({_fmt(b[0], 'd')}, {_fmt(b[1], 'd')}]"


def _fitted(e: dict) -> str:
    """The fitted n* and its seed-bootstrap interval (``inf``: open above)."""
    ci = e.get("n_star_ci")
    band = "" if not ci else f" [{_fmt(ci[0], '.1f')}, {'inf' if ci[1] is None else format(ci[1], '.1f')}]"
    return _fmt(e.get("n_star_fit"), ".1f") + band


def _stored_before_stop_ratio(out: str) -> bool:
    """Whether ``out`` holds a store whose config.json predates the ``stop_ratio`` setting (unreadable: False,
    the store itself then reports it)."""
    try:
        stored = theory.io.read_json(Path(out) / "config.json", "sweep configuration")
    except (OSError, ValueError):  # TheoryError is a ValueError
        return False
    return isinstance(stored, dict) and "stop_ratio" not in stored


def report(summary: dict) -> str:
    """The text table of a sweep summary."""
    lines = [
        f"{'arch':5} {'d':>6} {'n*':>8} {'interp n*':>10} {'test@n*':>9} {'train@n*':>9} {'bracket':>15} "
        f"{'fitted n* [95% interval]':>28}  note"
    ]
    for arch, res in summary["archs"].items():
        for e in res["per_d"]:
            note = e["error"] if e["status"] == "error" else (f"censored {e['censored']}" if e["censored"] else "")
            lines.append(
                f"{arch:5} {e['d']:>6} {_fmt(e['n_star'], 'd'):>8} {_fmt(e['n_star_interp'], '.1f'):>10} "
                f"{_fmt(e['median_test_at_n_star'], '.4f'):>9} {_fmt(e['median_train_at_n_star'], '.4f'):>9}"
                f" {_bracket(e.get('bracket')):>15} {_fitted(e):>28}  {note}"
            )
    lines.append("log-log slope of n* against d:")
    lines += [f"  {arch}: {_ci(res['fit'])}" for arch, res in summary["archs"].items()]
    if "cnn_log2" in summary:
        law = summary["cnn_log2"]
        lines.append(
            "  cnn n* = a + b log^2 d: "
            + (
                law["error"]
                if "error" in law
                else f"b = {law['b']:.3g}, R^2 = {law['r2']:.3f}; slope of log n* vs log log d = "
                f"{law['loglog_slope']:.2f} (2 for an exact log^2 law)"
            )
        )
    if summary.get("ratios"):
        lines.append("n* ratios between architectures:")
        lines += _ratios(summary)
    for name, fit in summary.get("ratios", {}).items():
        num, den = name.split("/")
        lines.append(f"  log-log slope of n*_{num} / n*_{den} against d: {_ci(fit)}")
    if summary.get("protocol"):
        lines.append(f"training protocol: {summary['protocol']}")
    t = summary["timings"]
    lines.append(
        f"{t['evaluated']} points evaluated, {t['reused']} reused from the store, "
        f"{len(summary['errors'])} failed; {t['wall_s']:.1f} s wall"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the ``separation`` subcommand; returns the exit code (0 done, 1 a point failed, 2 usage, input, device,
    output path or file system)."""
    try:
        overrides: dict[str, Any] = {}
        if args.seeds is not None:
            if args.seeds < 1:
                raise bad("seeds", args.seeds, "an int >= 1")
            overrides["seeds"] = tuple(range(args.seeds))
        if args.ds is not None:
            overrides["ds"] = _ints(args.ds, "ds")
        if args.archs is not None:
            overrides["archs"] = _names(args.archs, "archs")
        for name in ("tau", "evaluator"):
            if getattr(args, name) is not None:
                overrides[name] = getattr(args, name)
        if args.lrs is not None:
            overrides["lrs"] = _floats(args.lrs, "lrs")
        train = {k: getattr(args, k) for k in _TRAIN_FLAGS if getattr(args, k) is not None}
        if "batch_size" in args:  # given (default: absent, so the profile's)
            train["batch_size"] = args.batch_size
        if train:
            overrides["train"] = train
        if _stored_before_stop_ratio(args.out):  # resume it with its own stop: hi / lo <= 1 + resolution
            overrides["stop_ratio"] = None
        config = separation_config(args.task, args.profile, **overrides)
        _check_up_front(args)
        summary = run_separation(
            config,
            args.out,
            executor=args.executor,
            workers=args.workers,
            scheduler=args.scheduler,
            device=args.device,
            dtype=args.dtype,
            progress=not args.no_progress,
            force=args.force,
        )
    except NumericsError as e:
        print(f"error: {e}", file=sys.stderr)
        return theory.cli.EXIT_USAGE
    except BrokenPipeError:  # the reader of standard output went away: theory.cli.run_cli ends quietly
        raise
    except OSError as e:  # the file system refused a write
        print(f"error: {e}", file=sys.stderr)
        return theory.cli.EXIT_USAGE
    print(report(summary))
    print(f"wrote {args.out}/summary.json, points.jsonl, " + ", ".join(summary["plots"]))
    failed = [f"{a} d={e['d']}" for a, res in summary["archs"].items() for e in res["per_d"] if e["status"] == "error"]
    if failed:
        print(
            f"error: {len(failed)} of {sum(len(r['per_d']) for r in summary['archs'].values())} searches stopped at "
            f"a failed point ({', '.join(failed)}); rerun the same command to retry them",
            file=sys.stderr,
        )
        return theory.cli.EXIT_FAIL
    return theory.cli.EXIT_OK
