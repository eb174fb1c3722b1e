"""Command line: ``python -m theory build ...`` writes an exact spec; ``python -m theory show`` describes one;
``python -m theory certify SPEC --target ... --box ...`` certifies its sup-norm error against a target;
``python -m theory check CERT.json SPEC`` re-checks a certificate with the independent checker.

Exit codes (the project's table, :data:`theory.cli.EXIT_CODES`, docs/cli.md): 0 built / shown / proved (within
``--rel-gap``, or ``upper <= --eps``); 1 refuted, unknown, or a bound whose search stopped before ``--rel-gap``
(the bound itself is still proved), or (check) unproven or unsupported; 3 (check) the certificate is rejected;
2 usage error, bad input, or an output path that cannot be written (checked
before any computation). ``--force`` replaces only a directory cnnverify wrote (its ``.cnnverify`` marker).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ._errors import TheoryError, bad
from .certify import SEARCH_METHODS, certify_sup_error
from .certify._semantics import SEMANTICS
from .check import _cli as check_cli
from .check import check_certificate
from .cli import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_UNSOUND,
    EXIT_USAGE,
    MEMORY_BUDGET,
    ProgressLine,
    format_bytes,
    join_option_values,
    parse_int_list,
    parse_size,
)
from .constructions import ARCHITECTURES, approximate_sparse, gather, select
from .io import check_writable
from .spec import as_rational, load, save, uncovered_meta_error
from .spec._network import thaw


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m theory",
        description="Build and inspect exact CNN constructions (reconstructions of Wang & Wu 2023, arXiv 2305.08404).",
    )
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build a construction and save its exact spec (DIR/spec.json)")
    bsub = b.add_subparsers(dest="construction", required=True)
    for name, help_ in (
        ("select", "route x[support] to the root (2k channels)"),
        ("gather", "route all d inputs to the root"),
        ("approx", "select + the smallest head with a-priori sup error <= eps for g(x[support])"),
    ):
        c = bsub.add_parser(name, help=help_)
        c.add_argument("--d", type=int, required=True, help="input length, a power of s")
        c.add_argument("--s", type=int, default=2, help="kernel = stride (default 2)")
        if name in ("select", "approx"):
            c.add_argument("--support", required=True, help="comma-separated indices, e.g. 0,700,1023")
        if name == "select":
            c.add_argument("--architecture", default="cnn", choices=ARCHITECTURES)
        if name in ("select", "gather"):
            c.add_argument(
                "--memory-budget",
                default=str(MEMORY_BUDGET),
                help="bytes the build may allocate (gather and the lcn / fcn counterparts grow with d), "
                f"e.g. 512MiB, 16GiB (default {format_bytes(MEMORY_BUDGET)})",
            )
        if name == "approx":
            c.add_argument("--g", required=True, help="target in the routed coordinates x0..x{k-1}, e.g. 'x0*x1'")
            c.add_argument("--box", default="-1,1", help="'lo,hi' for every coordinate (default -1,1)")
            c.add_argument("--eps", required=True, help="a-priori sup-norm bound to reach, e.g. 1e-3 or 1/1000")
        c.add_argument("--out", required=True, help="output directory (must not exist unless --force)")
        c.add_argument(
            "--force",
            action="store_true",
            help="replace an existing output directory that cnnverify wrote (it has a .cnnverify marker)",
        )
    s = sub.add_parser("show", help="describe a saved spec")
    s.add_argument("path", help="spec directory or spec.json")
    s.add_argument("--json", action="store_true", help="print machine-readable facts instead of a table")
    c = sub.add_parser(
        "certify",
        help="certify sup_box |net - target| by interval branch and bound (exit 0 proved "
        "within --rel-gap or <= --eps; 1 refuted, unknown, or stopped before --rel-gap; 2 error)",
    )
    c.add_argument("path", help="spec directory or spec.json (a single-output network)")
    c.add_argument("--target", help="target in the global input names, e.g. 'x0*x700' (default: the spec's meta)")
    c.add_argument("--box", help="'lo,hi' for every variable, or 'x3=lo,hi;x700=lo,hi' (default: the spec's meta)")
    c.add_argument(
        "--eps",
        help="tolerance to decide (e.g. 1e-3 or 1/1000): proved if upper <= eps, refuted if a witness exceeds it",
    )
    c.add_argument(
        "--time-limit",
        type=float,
        default=30.0,
        help="seconds (default 30); the bound is sound at any "
        "time, but a search stopped by the limit before --rel-gap exits 1",
    )
    c.add_argument(
        "--max-work",
        type=int,
        metavar="N",
        help="also stop after N boxes taken to be refined (default: no limit); a deterministic budget: a certificate "
        "stopped by it is the same on any machine and under any load",
    )
    c.add_argument("--rel-gap", type=float, default=0.01, help="stop when upper <= (1 + gap) lower (default 0.01)")
    c.add_argument(
        "--semantics",
        choices=SEMANTICS,
        default="exact",
        help="what the claim covers: the exact "
        "network (default) or its float32 / float64 module (numerics.to_module): upper + rounding bound",
    )
    c.add_argument(
        "--method",
        choices=SEARCH_METHODS,
        default="auto",
        help="auto (default): the piecewise certificate "
        "when the construction names its grid (Kuhn interpolation, Yarotsky product heads), else the general "
        "branch and bound; pieces: piecewise only (unknown where it does not apply); branch-and-bound: general only",
    )
    c.add_argument("--out", help="write the certificate JSON here (atomically; checked before computing)")
    c.add_argument("--force", action="store_true", help="replace an existing --out file")
    c.add_argument("--no-progress", action="store_true", help="no status line (boxes, upper, lower, elapsed)")
    c.add_argument(
        "--check",
        action="store_true",
        help="re-check the certificate with the independent checker (exit 3 if rejected)",
    )
    check_cli.add_parser(sub)
    return p


def _box_arg(text: str, per_name: bool = True):
    """``'lo,hi'`` -> ``(lo, hi)``; ``'x3=lo,hi;x7=lo,hi'`` -> ``{name: (lo, hi)}`` (exact strings kept).

    Raises:
        TheoryError: a part that is not ``lo,hi`` (an empty item such as ``'x3=-1,1;;'`` included), or a named
            form where ``per_name`` is False.
    """
    allowed = "'lo,hi' or 'x3=lo,hi;x700=lo,hi' (e.g. -1,1)" if per_name else "'lo,hi' (e.g. -1,1)"

    def pair(t: str):
        parts = [v.strip() for v in t.split(",")]
        if len(parts) != 2 or not all(parts):
            raise bad("--box", text, allowed)
        return tuple(parts)

    text = text.strip()
    if "=" not in text:
        return pair(text)
    if not per_name:
        raise bad("--box", text, allowed)
    out = {}
    for item in text.rstrip(";").split(";"):
        name, eq, rest = item.partition("=")
        if not eq or not name.strip() or name.strip() in out:
            raise bad("--box", text, allowed + ", each name once")
        out[name.strip()] = pair(rest)
    return out


def _warning_line(message: str) -> None:
    """A warning that does not stop the command (a spec file whose meta no hash covers), on stderr."""
    print(f"warning: {message}", file=sys.stderr)


def _progress_text(state: dict, limit: float) -> str:
    lower = "-" if state["lower"] is None else f"{state['lower']:.6g}"
    return (
        f"certify: {state['boxes']} boxes ({state['open_boxes']} open), upper {state['upper']:.6g}, "
        f"lower {lower}, {state['elapsed_s']:.1f} s of {limit:g} s"
    )


def _certify(args) -> int:
    """Certify; the output file is checked first, so a long search never ends in an unwritable path."""
    if args.out is not None:
        check_writable(args.out, "file", force=args.force, flag="--out")
    box = _box_arg(args.box) if args.box is not None else None
    eps = None if args.eps is None else as_rational(args.eps, "--eps")
    if args.max_work is not None and args.max_work < 1:
        raise bad("--max-work", args.max_work, "an int >= 1 (boxes taken to be refined)")
    net = load(args.path, note=_warning_line)
    if not net.meta_covered and (args.target is None or args.box is None):
        raise uncovered_meta_error(args.path)
    line = None if args.no_progress else ProgressLine(sys.stderr)
    progress = None if line is None else (lambda state: line.update(_progress_text(state, args.time_limit)))
    try:
        cert = certify_sup_error(
            net,
            args.target,
            box,
            eps=eps,
            time_limit_s=args.time_limit,
            rel_gap=args.rel_gap,
            progress=progress,
            semantics=args.semantics,
            method=args.method,
            max_work=args.max_work,
        )
    finally:
        if line is not None:
            line.close()
    print(cert.summary())
    if args.out is not None:
        path = cert.save(args.out, force=args.force)
        print(f"wrote {path}")
    if args.check:
        report = check_certificate(cert, net)
        print(check_cli.report_line(report))
        if report.verdict == "rejected":
            return EXIT_UNSOUND
    if cert.status == "proved" and cert.incomplete is None:
        return EXIT_OK
    if cert.status == "proved":
        flag = "--max-work" if cert.incomplete == "work budget exhausted" else "--time-limit"
        print(
            f"exit {EXIT_FAIL}: the search stopped before --rel-gap {args.rel_gap:g} ({cert.incomplete}); "
            f"a larger {flag} tightens the bound",
            file=sys.stderr,
        )
    return EXIT_FAIL


def _facts(net) -> dict:
    fields = {
        "content_hash": net.content_hash,
        "meta": thaw(net.meta),
        "d": net.d,
        "c_in": net.c_in,
        "depth": net.depth,
        "kinds": list(net.kinds),
        "positions": list(net.positions),
        "channels": list(net.channels),
        "param_count": net.param_count(),
        "param_count_no_bias": net.param_count(biases=False),
        "nonzeros": net.nonzeros,
        "receptive_span": [list(s) for s in net.receptive_span()],
    }
    if net.n_outputs <= 64:
        fields["receptive_field"] = [f.tolist() if f.size <= 16 else f"{f.size} inputs" for f in net.receptive_field()]
    return fields


def _build(args) -> None:
    """Build a construction and save it; the output directory is checked before the construction is built."""
    support = parse_int_list(args.support, "--support") if args.construction in ("select", "approx") else []
    box = _box_arg(args.box, per_name=False) if args.construction == "approx" else None
    budget = parse_size(args.memory_budget, "--memory-budget") if args.construction != "approx" else MEMORY_BUDGET
    check_writable(args.out, "directory", force=args.force, flag="--out")
    if args.construction == "select":
        net = select(args.d, support, args.s, args.architecture, memory_budget=budget)
    elif args.construction == "approx":
        net = approximate_sparse(args.d, support, args.g, box, args.eps, args.s)
    else:
        net = gather(args.d, args.s, memory_budget=budget)
    out = save(net, args.out, force=args.force)
    print(f"wrote {out}/spec.json  ({net!r}, hash {net.content_hash[:16]})")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (:data:`theory.cli.EXIT_CODES`: 0 ok or proved within the gap, 1 refuted,
    unknown or stopped before the gap (certify), 2 usage, input or output-path error). Usage errors of the
    argument parser itself exit 2 through ``SystemExit``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(join_option_values(parser, argv))
    try:
        if args.command == "certify":
            return _certify(args)
        if args.command == "check":
            return check_cli.run(args, note=_warning_line)
        if args.command == "build":
            _build(args)
        else:
            net = load(args.path, note=_warning_line)
            facts = _facts(net)
            if args.json:
                print(json.dumps(facts, indent=2))
            else:
                print(net.summary())
                print(f"  meta: {json.dumps(facts['meta'])}")
                if "receptive_field" in facts:
                    print(f"  receptive field of each output: {facts['receptive_field']}")
    except TheoryError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader of standard output went away: theory.cli.run_cli ends quietly
        raise
    except OSError as e:  # the file system refused a read or write that the checks could not foresee
        print(f"error: {e.filename}: {e.strerror}" if e.filename else f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK
