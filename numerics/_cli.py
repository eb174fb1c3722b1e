"""Command line: ``python -m numerics export PATH`` writes float weights; ``python -m numerics info PATH``;
``python -m numerics evaluate PATH --target "x0*x700" --samples 1e7 --device auto --dtype float32``;
``python -m numerics separation --task patch-quadratic --profile quick --out runs/sep`` (CNN / LCN / FCN sample
complexity, :mod:`numerics.learning._cli`); ``python -m numerics duat --model resnet-basic-block --input 3x32x32`` (the
matrix-vector decomposition, :mod:`numerics.duat._cli`); ``python -m numerics crosscheck SPEC --with marabou`` (the
routing claim against a peer verifier, :mod:`numerics.peers._cli`).

``export`` adds ``weights.safetensors`` to a spec directory (as written by ``python -m theory build``);
``info`` prints the spec's summary and verifies the weights file (dtype, size, content hash, bit-identical
to the exact spec); ``evaluate`` runs :func:`numerics.check_at_scale` and prints its report. Exit codes (the
project's table, :data:`theory.cli.EXIT_CODES`, docs/cli.md): 0 ok; 1 a check failed (``duat``: Jacobian mismatch;
``separation``: a point failed); 2 usage error, bad input, ``--device cuda`` without CUDA, or an output path that
cannot be written (all checked before any computation; one ``error: ...`` line on stderr, no traceback); 3 when
``evaluate`` finds an unsound bound (an exactly re-evaluated error above a certified or a-priori upper bound).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import theory
from theory.cli import MAX_SECONDS, SCALE_MEMORY_BUDGET, format_bytes, parse_size

from ._errors import NumericsError, bad
from .convert import DTYPES, WEIGHTS_FILE, export, load_module, resolve_device, weights_info
from .duat import _cli as duat_cli
from .learning import _cli as separation
from .peers import _cli as peers_cli


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m numerics", description="Float weights (safetensors) for exact cnnverify specs."
    )
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help=f"add {WEIGHTS_FILE} to a spec directory (written by python -m theory build)")
    e.add_argument("path", help="spec directory holding spec.json")
    e.add_argument(
        "--dtype",
        default="float64",
        choices=sorted(DTYPES),
        help="float dtype of the weights, each correctly rounded from the exact value (default float64)",
    )
    e.add_argument("--force", action="store_true", help=f"replace an existing {WEIGHTS_FILE}")
    i = sub.add_parser("info", help="describe a spec directory and verify its weights file")
    i.add_argument("path", help="spec directory")
    v = sub.add_parser("evaluate", help="sup-norm error against a target at scale: sampling, search, exact witness")
    v.add_argument("path", help="spec directory holding spec.json")
    v.add_argument("--target", help="one formula per output, comma-separated (default: the spec's meta target)")
    v.add_argument("--box", nargs=2, metavar=("LO", "HI"), help="interval of every coordinate (default: meta box)")
    v.add_argument("--samples", default="1e6", help="random samples, e.g. 1e7 (default 1e6)")
    v.add_argument(
        "--max-seconds",
        type=float,
        default=MAX_SECONDS,
        help=f"refuse a sampling run estimated to take longer (default {MAX_SECONDS:g})",
    )
    v.add_argument("--force-samples", action="store_true", help="sample whatever the time estimate")
    v.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    v.add_argument("--dtype", default="float32", choices=sorted(DTYPES))
    v.add_argument("--seed", type=int, default=0)
    v.add_argument(
        "--memory-budget",
        default=str(SCALE_MEMORY_BUDGET),
        help=f"bytes the run's batches may fill, e.g. 512MiB, 2GB (default {format_bytes(SCALE_MEMORY_BUDGET)})",
    )
    v.add_argument("--path", dest="eval_path", default="auto", choices=["auto", "structured", "dense", "module"])
    v.add_argument("--search-steps", type=int, default=200)
    v.add_argument("--certify", action="store_true", help="also run theory.certify_sup_error and compare")
    v.add_argument("--time-limit", type=float, default=30.0, help="seconds for --certify (default 30)")
    v.add_argument("--certificate", help="a certificate JSON file (theory.Certificate.save) to compare with")
    v.add_argument("--json", help="write the report as JSON to this file (checked before computing)")
    v.add_argument("--force", action="store_true", help="replace an existing --json file")
    v.add_argument("--no-progress", action="store_true", help="no progress bar")
    separation.add_parser(sub)
    duat_cli.add_parser(sub)
    peers_cli.add_parser(sub)
    return p


def parse_samples(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise bad("samples", text, "a count such as 1e7 or 10000000") from None
    if not value.is_integer() or value < 1:
        raise bad("samples", text, "an integer count >= 1")
    return int(value)


def check_device(device: str, flag: str = "--device") -> None:
    """A usage error (NumericsError naming ``flag``) for a device this machine lacks, checked before computing."""
    try:
        resolve_device(device)
    except NumericsError as e:
        raise NumericsError(str(e).replace("argument 'device'", f"argument {flag!r}", 1)) from None


def _warning_line(message: str) -> None:
    """A warning that does not stop the command (a spec file whose meta no hash covers), on stderr."""
    print(f"warning: {message}", file=sys.stderr)


def _evaluate(args: argparse.Namespace) -> int:
    from .scale import check_at_scale

    check_device(args.device)
    if args.json:
        theory.io.check_writable(args.json, "file", force=args.force, flag="--json")
    net = theory.load(args.path, note=_warning_line)
    if not net.meta_covered:
        if args.target is None or args.box is None:
            raise theory.spec.uncovered_meta_error(args.path)
        if "a_priori_bound" in net.meta:
            _warning_line(f"{args.path}: its a_priori_bound is ignored (the meta is not covered by a hash)")
    cert = theory.Certificate.load(args.certificate) if args.certificate else None
    report = check_at_scale(
        net,
        args.target,
        tuple(args.box) if args.box else None,
        samples=parse_samples(args.samples),
        device=args.device,
        dtype=args.dtype,
        seed=args.seed,
        memory_budget=parse_size(args.memory_budget, error=NumericsError),
        path=args.eval_path,
        certificate=cert,
        certify=args.certify,
        time_limit_s=args.time_limit,
        search_steps=args.search_steps,
        progress=False if args.no_progress else None,
        max_seconds=args.max_seconds,
        force=args.force_samples,
    )
    print(report.summary())
    if args.json:
        theory.io.atomic_write_file(args.json, json.dumps(report.to_json(), indent=2).encode(), force=args.force)
        print(f"wrote {args.json}")
    if report.unsound:
        print("error: UNSOUND BOUND: an exactly re-evaluated error exceeds a claimed upper bound", file=sys.stderr)
        return theory.cli.EXIT_UNSOUND
    return theory.cli.EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (:data:`theory.cli.EXIT_CODES`: 0 ok, 1 a check failed, 2 usage, input,
    device or output-path error, 3 unsound bound). Usage errors of the argument parser exit 2 by ``SystemExit``."""
    parser = _parser()
    args = parser.parse_args(theory.cli.join_option_values(parser, sys.argv[1:] if argv is None else argv))
    if args.command == "separation":  # these subcommands report their own errors and exit codes
        return separation.run(args)
    if args.command == "duat":
        return duat_cli.run(args)
    if args.command == "crosscheck":
        return peers_cli.run(args)
    try:
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "export":
            spec_dir = Path(args.path).parent if Path(args.path).is_file() else Path(args.path)  # DIR/spec.json
            theory.io.check_writable(spec_dir, "directory", flag="path", existing="rewrite")
            out = export(args.path, args.dtype, force=args.force, note=_warning_line)
            net, _ = load_module(out, note=lambda message: None)  # the warning was printed once, by export
            print(
                f"wrote {out / WEIGHTS_FILE}  ({args.dtype}, {(out / WEIGHTS_FILE).stat().st_size} bytes, "
                f"spec hash {net.content_hash[:16]}, verified bit-identical to the exact spec)"
            )
        else:
            info = weights_info(args.path, note=_warning_line)
            net = info["net"]
            print(net.summary())
            if info["file"] is None:
                print(f"  weights: none (write them with: python -m numerics export {args.path})")
            else:
                print(f"  weights: {info['file']}  dtype {info['dtype']}, {info['bytes']} bytes")
                print(
                    f"  weights check: content hash {net.content_hash[:16]}... matches spec.json; values "
                    f"bit-identical to to_module(spec, {info['dtype']})"
                )
    except (NumericsError, theory.TheoryError) as e:
        print(f"error: {e}", file=sys.stderr)
        return theory.cli.EXIT_USAGE
    except BrokenPipeError:  # the reader of standard output went away: theory.cli.run_cli ends quietly
        raise
    except OSError as e:  # the file system refused a read or write that the checks could not foresee
        print(f"error: {e}", file=sys.stderr)
        return theory.cli.EXIT_USAGE
    return theory.cli.EXIT_OK
