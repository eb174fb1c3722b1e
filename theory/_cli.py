"""Command line: ``python -m theory build ...`` writes an exact spec; ``python -m theory show`` describes one."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from ._errors import TheoryError, bad
from ._io import load, save
from ._network import thaw
from ._routing import ARCHITECTURES, gather, select


def _int_list(text: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise bad("--support", text, "comma-separated ints such as 0,700,1023") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m theory", description="Build and inspect exact CNN constructions "
                                "(reconstructions of Wang & Wu 2023, section 4).")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build a construction and save its exact spec (DIR/spec.json)")
    bsub = b.add_subparsers(dest="construction", required=True)
    for name, help_ in (("select", "route x[support] to the root (2k channels)"), ("gather", "route all d inputs to the root")):
        c = bsub.add_parser(name, help=help_)
        c.add_argument("--d", type=int, required=True, help="input length, a power of s")
        c.add_argument("--s", type=int, default=2, help="kernel = stride (default 2)")
        if name == "select":
            c.add_argument("--support", required=True, help="comma-separated indices, e.g. 0,700,1023")
            c.add_argument("--architecture", default="cnn", choices=ARCHITECTURES)
        c.add_argument("--out", required=True, help="output directory (must not exist unless --force)")
        c.add_argument("--force", action="store_true", help="replace an existing output directory")
    s = sub.add_parser("show", help="describe a saved spec")
    s.add_argument("path", help="spec directory or spec.json")
    s.add_argument("--json", action="store_true", help="print machine-readable facts instead of a table")
    return p


def _facts(net) -> dict:
    fields = {
        "content_hash": net.content_hash, "meta": thaw(net.meta), "d": net.d, "c_in": net.c_in, "depth": net.depth,
        "kinds": list(net.kinds), "positions": list(net.positions), "channels": list(net.channels),
        "param_count": net.param_count(), "param_count_no_bias": net.param_count(biases=False),
        "nonzeros": net.nonzeros, "receptive_span": [list(s) for s in net.receptive_span()],
    }
    if net.n_outputs <= 64:
        fields["receptive_field"] = [f.tolist() if f.size <= 16 else f"{f.size} inputs" for f in net.receptive_field()]
    return fields


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 usage or input error)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "build":
            if args.construction == "select":
                net = select(args.d, _int_list(args.support), args.s, args.architecture)
            else:
                net = gather(args.d, args.s)
            out = save(net, args.out, force=args.force)
            print(f"wrote {out}/spec.json  ({net!r}, hash {net.content_hash[:16]})")
        else:
            net = load(args.path)
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
        return 2
    return 0
