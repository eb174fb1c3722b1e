"""Marabou vs ``theory.prove_routing`` on the routing claim of ``theory.select``: wall time and spurious answers.

Usage::

    nice -n 10 python benchmarks/peers.py                        # k = 2, 3; d = 64 .. 1024; stop a k past 120 s
    python benchmarks/peers.py --d 64 128 --k 2 --timeout 60 --json peers.json
    python benchmarks/peers.py --tol 0.00000095367431640625      # margin 2^-20: Marabou's spurious sat points

Each row is one :func:`numerics.crosscheck` (s = 2; support: k indices spread over [0, d-1], both ends included):
ours is :func:`theory.prove_routing` (exact, for all x in R^d); Marabou gets the 2k cases of the negated claim on the
box [-1, 1]^d with the margin ``--tol``, one query each, ``--timeout`` seconds each (a case that overruns is killed
and counted, never a proof). Columns: ``ours s`` (prove_routing), ``marabou s`` (Marabou's own solver time, summed
over the cases), ``wall s`` (its processes, summed: start-up, loading the query, solving), the peer's outcome and the
verdict, ``spurious`` (cases whose sat point satisfies the claim exactly), ``timeouts``. For a k, larger d are not
tried once Marabou's wall time passes ``--max-seconds``. This script prints measured figures; it never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def spread_support(d: int, k: int) -> list[int]:
    """k distinct indices spread evenly over [0, d-1], both ends included."""
    return [0] if k == 1 else sorted({round(j * (d - 1) / (k - 1)) for j in range(k)})


def row(d: int, k: int, timeout: float, tol: str | None) -> dict:
    import theory
    from numerics import crosscheck

    net = theory.select(d, spread_support(d, k), 2)
    t = time.perf_counter()
    r = crosscheck(net, "marabou", timeout=timeout, tol=tol, all_cases=True)
    statuses = [c.answer.status for c in r.cases]
    return {
        "k": k,
        "d": d,
        "ours_seconds": r.ours.seconds,
        "ours": r.ours.status,
        "marabou_seconds": r.peer_seconds,
        "marabou_wall_seconds": r.peer_wall_seconds,
        "marabou": r.peer_outcome,
        "verdict": r.verdict,
        "cases": len(r.cases),
        "spurious": r.spurious_points,
        "timeouts": statuses.count("timeout"),
        "errors": statuses.count("error"),
        "tol": str(r.prop.tol),
        "total_seconds": time.perf_counter() - t,
    }


def table(rows: list[dict]) -> str:
    out = [
        "| k | d | ours s | marabou s | wall s | ours | marabou | verdict | spurious | timeouts |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['k']} | {r['d']} | {r['ours_seconds']:.3f} | {r['marabou_seconds']:.2f} | "
            f"{r['marabou_wall_seconds']:.1f} | {r['ours']} | {r['marabou']} | {r['verdict']} | "
            f"{r['spurious']}/{r['cases']} | {r['timeouts']} |"
        )
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--k", type=int, nargs="+", default=[2, 3])
    p.add_argument("--d", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per Marabou query (default 120)")
    p.add_argument(
        "--max-seconds",
        type=float,
        default=120.0,
        help="stop increasing d for a k once Marabou's wall time passes this (default 120)",
    )
    p.add_argument("--tol", help="margin of the query (default: numerics' vnnlib_margin, 2^-10)")
    p.add_argument("--json", help="also write the rows as JSON (rewritten after every row)")
    args = p.parse_args()
    from numerics.peers import marabou_available

    if not marabou_available():
        print("maraboupy is not installed (pip install 'cnnverify[peers]')", file=sys.stderr)
        return 2
    rows: list[dict] = []
    for k in args.k:
        for d in sorted(args.d):
            rows.append(row(d, k, args.timeout, args.tol))
            print(
                f"k={k} d={d}: ours {rows[-1]['ours_seconds']:.3f} s, marabou {rows[-1]['marabou_seconds']:.2f} s "
                f"(wall {rows[-1]['marabou_wall_seconds']:.1f} s), {rows[-1]['verdict']}",
                file=sys.stderr,
                flush=True,
            )
            if args.json:
                meta = {
                    "machine": platform.platform(),
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    "args": vars(args),
                }
                with open(args.json + ".tmp", "w") as fh:
                    json.dump({"meta": meta, "rows": rows}, fh, indent=1)
                os.replace(args.json + ".tmp", args.json)
            if rows[-1]["marabou_wall_seconds"] > args.max_seconds:
                break
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
