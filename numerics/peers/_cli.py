"""``python -m numerics crosscheck SPEC_DIR --with marabou [--timeout S] [--box LO HI]``: the routing claim of a spec
checked by :func:`theory.prove_routing` and by a peer verifier, every counterexample replayed exactly.

The command lives in ``numerics``, not in ``theory``'s command line, because the peer is fed the spec's float
weights (:func:`numerics.to_module`) and theory never imports torch or onnx. Exit codes (:data:`theory.cli.EXIT_CODES`,
docs/cli.md): 0 agree, both proved; 1 agree on a refutation, spurious, or unknown; 2 usage error or bad input
(missing spec, unknown peer, maraboupy not installed, an unwritable ``--json``: all checked before computing; one
``error: ...`` line); 3 disagree (one tool proves what the other refutes with an exact counterexample).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import theory

from .._errors import NumericsError, bad
from ._crosscheck import PEERS, Crosscheck, crosscheck
from ._marabou import marabou_available


def add_parser(sub: Any) -> None:
    """Add the ``crosscheck`` subcommand to the ``python -m numerics`` parser."""
    c = sub.add_parser(
        "crosscheck",
        help="the routing claim: theory.prove_routing vs a peer verifier (Marabou), counterexamples replayed exactly",
    )
    c.add_argument("path", help="spec directory holding spec.json (python -m theory build)")
    c.add_argument("--with", dest="peer", required=True, choices=PEERS, help="the peer verifier")
    c.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds for ours and for each of the peer's 2k queries (default 60); a timeout is unknown",
    )
    c.add_argument("--box", nargs=2, metavar=("LO", "HI"), help="interval of every input (default -1 1)")
    c.add_argument("--support", help="routed indices, e.g. 0,700 (default: the spec's meta)")
    c.add_argument("--tol", help="margin of the VNN-LIB query, e.g. 2**-10 written 0.0009765625 (default 2^-10)")
    c.add_argument(
        "--keep", help="new directory to keep the peer's files in (network, VNN-LIB cases, answers; as --out)"
    )
    c.add_argument("--all-cases", action="store_true", help="run every case even after a counterexample")
    c.add_argument("--json", help="write the result as JSON to this file (checked before computing)")
    c.add_argument(
        "--force", action="store_true", help="replace an existing --json file or a --keep directory cnnverify wrote"
    )


def _json(r: Crosscheck) -> dict[str, Any]:
    def rep(x: Any) -> Any:
        return (
            None
            if x is None
            else {
                "point_nonzero": {str(i): str(v) for i, v in enumerate(x.point) if v},
                "clipped": x.clipped,
                "max_clip": str(x.max_clip),
                "errors": [str(e) for e in x.errors],
                "violates": x.violates,
            }
        )

    return {
        "verdict": r.verdict,
        "reason": r.reason,
        "claim": r.prop.statement(),
        "tol": str(r.prop.tol),
        "spec_hash": r.prop.spec_hash,
        "ours": r.ours.to_json(),
        "ours_outcome": r.ours_outcome,
        "ours_replay": rep(r.ours_replay),
        "peer": r.peer,
        "peer_outcome": r.peer_outcome,
        "cases": [
            {
                "case": c.case,
                "status": c.answer.status,
                "seconds": c.answer.seconds,
                "wall_seconds": c.answer.wall_seconds,
                "message": c.answer.message,
                "point": None if c.answer.point is None else [v.hex() for v in c.answer.point],
                "replay": rep(c.replay),
            }
            for c in r.cases
        ],
        "ours_seconds": r.ours_seconds,
        "peer_seconds": r.peer_seconds,
        "peer_wall_seconds": r.peer_wall_seconds,
        "exit_code": r.exit_code,
    }


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; returns the exit code (module docstring)."""
    try:
        if args.peer == "marabou" and not marabou_available():
            raise NumericsError(
                "argument '--with': marabou needs maraboupy; allowed: install it with pip install 'cnnverify[peers]'"
            )
        if not 0 < args.timeout < 1e6:
            raise bad("--timeout", args.timeout, "seconds, a number in (0, 1e6)")
        if args.json:
            theory.io.check_writable(args.json, "file", force=args.force, flag="--json")
        if args.keep:
            theory.io.check_writable(args.keep, "directory", force=args.force, flag="--keep")
        net = theory.load(args.path, note=lambda m: print(f"warning: {m}", file=sys.stderr))
        support = theory.cli.parse_int_list(args.support, "--support") if args.support else None
        r = crosscheck(
            net,
            args.peer,
            timeout=args.timeout,
            box=tuple(args.box) if args.box else None,
            support=support,
            tol=args.tol,
            workdir=args.keep,
            force=args.force,
            all_cases=args.all_cases,
        )
    except (NumericsError, theory.TheoryError) as e:
        print(f"error: {e}", file=sys.stderr)
        return theory.cli.EXIT_USAGE
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return theory.cli.EXIT_USAGE
    print(r.summary())
    if args.json:
        theory.io.atomic_write_file(args.json, json.dumps(_json(r), indent=2).encode(), force=args.force)
        print(f"wrote {args.json}")
    if r.verdict == "disagree":
        print(f"error: DISAGREE: {r.reason}", file=sys.stderr)
    return r.exit_code
