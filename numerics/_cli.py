"""Command line: ``python -m numerics export PATH`` writes float weights; ``python -m numerics info PATH``.

``export`` adds ``weights.safetensors`` to a spec directory (as written by ``python -m theory build``);
``info`` prints the spec's summary and verifies the weights file (dtype, size, content hash, bit-identical
to the exact spec). Exit codes: 0 ok; 2 usage error or bad input (one ``error: ...`` line on stderr, no
traceback); 1 when the file system refuses a read or write.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

import theory

from ._convert import DTYPES
from ._errors import NumericsError
from ._io import WEIGHTS_FILE, export, load, weights_info


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m numerics",
                                description="Float weights (safetensors) for exact cnnverify specs.")
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help=f"add {WEIGHTS_FILE} to a spec directory (written by python -m theory build)")
    e.add_argument("path", help="spec directory holding spec.json")
    e.add_argument("--dtype", default="float64", choices=sorted(DTYPES),
                   help="float dtype of the weights, each correctly rounded from the exact value (default float64)")
    e.add_argument("--force", action="store_true", help=f"replace an existing {WEIGHTS_FILE}")
    i = sub.add_parser("info", help="describe a spec directory and verify its weights file")
    i.add_argument("path", help="spec directory")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 file system error, 2 usage or input error)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "export":
            out = export(args.path, args.dtype, force=args.force)
            net, _ = load(out)
            print(f"wrote {out / WEIGHTS_FILE}  ({args.dtype}, {(out / WEIGHTS_FILE).stat().st_size} bytes, "
                  f"spec hash {net.content_hash[:16]}, verified bit-identical to the exact spec)")
        else:
            info = weights_info(args.path)
            net = info["net"]
            print(net.summary())
            if info["file"] is None:
                print(f"  weights: none (write them with: python -m numerics export {args.path})")
            else:
                print(f"  weights: {info['file']}  dtype {info['dtype']}, {info['bytes']} bytes")
                print(f"  weights check: content hash {net.content_hash[:16]}... matches spec.json; values "
                      f"bit-identical to to_module(spec, {info['dtype']})")
    except (NumericsError, theory.TheoryError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0
