"""Certification benchmarks in one run: routing proofs (induction vs monolithic z3) and sup-norm certificates.

Usage::

    python benchmarks/certify.py                  # both parts, default sizes (several minutes)
    python benchmarks/certify.py --routing-only --max-log2 16
    python benchmarks/certify.py --sup-only --time-limit 10

The two parts are ``benchmarks/certify_routing.py`` (d = 2^4 ... 2^20; the monolithic encoding until it passes
a time cap) and ``benchmarks/certify_sup.py`` (upper, lower and upper/lower for a few (k, g)); each can also
be run alone with its own options. Prints measured figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    part = ap.add_mutually_exclusive_group()
    part.add_argument("--routing-only", action="store_true")
    part.add_argument("--sup-only", action="store_true")
    ap.add_argument("--max-log2", type=int, default=20, help="largest d = 2^this for the routing part")
    ap.add_argument(
        "--time-limit",
        type=float,
        default=0.0,
        help="budget per sup-norm certificate (default: each case's target time)",
    )
    args = ap.parse_args()
    rc = 0
    if not args.sup_only:
        print("== routing proofs: induction over levels vs monolithic z3 ==", flush=True)
        rc |= subprocess.call([sys.executable, str(HERE / "certify_routing.py"), "--max-log2", str(args.max_log2)])
    if not args.routing_only:
        print("\n== sup-norm certificates: piecewise (toolkit heads) and interval branch and bound ==", flush=True)
        rc |= subprocess.call([sys.executable, str(HERE / "certify_sup.py"), "--time-limit", str(args.time_limit)])
    return rc


if __name__ == "__main__":
    sys.exit(main())
