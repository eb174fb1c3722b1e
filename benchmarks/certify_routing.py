"""Time to prove the routing claim of ``theory.select``: induction over levels vs monolithic z3, d = 2^4 ... 2^20.

Usage::

    python benchmarks/certify_routing.py                 # k = 3, s = 2, d = 2^4 .. 2^20, cap 60 s per case
    python benchmarks/certify_routing.py --max-log2 14 --cap-seconds 20
    python benchmarks/certify_routing.py --json rows.json

Three provers of the same claim (``output j == x[support[j]]`` for every x in R^d), each case in a fresh
subprocess (z3 and the imports warm, the clock around the prover call only; best of ``--repeat``):

* ``induction``: :func:`theory.prove_routing`, one position-free lemma per level + the index identities;
* ``mono-cone``: :func:`theory.prove_equivalent_monolithic` (one query over the outputs' cone, which for
  ``select`` is only 2k units per level: it does not grow with d beyond the depth);
* ``mono-whole``: the same query with ``cone=False``: every unit of every level becomes a z3 variable with its
  defining equation (the naive whole-network encoding). It grows with d and stops once a case exceeds
  ``--cap-seconds`` (killed subprocess); larger d are not tried.

Support: k indices spread over [0, d-1], both ends included. The project's target: routing certificate by
induction at d = 2^20 in under 5 s. This script prints measured figures; it never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_SECONDS = 5.0
METHODS = ("induction", "mono-cone", "mono-whole")


def spread_support(d: int, k: int) -> list[int]:
    """k distinct indices spread evenly over [0, d-1], both ends included."""
    if k == 1:
        return [0]
    return sorted({round(j * (d - 1) / (k - 1)) for j in range(k)})


def one_case(method: str, log2d: int, k: int, s: int, repeat: int) -> dict:
    """Run one prover (in this process) and return its row."""
    sys.path.insert(0, ROOT)
    import theory

    d = s**log2d
    support = spread_support(d, k)
    t = time.perf_counter()
    net = theory.select(d, support, s)
    build = time.perf_counter() - t
    best, cert = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        if method == "induction":
            cert = theory.prove_routing(net, timeout_s=600)
        else:
            cert = theory.prove_equivalent_monolithic(net, support, cone=(method == "mono-cone"), timeout_s=600)
        best = min(best, time.perf_counter() - t)
    return {"method": method, "d": d, "build_s": build, "seconds": best, "status": cert.status}


def run_case(method: str, log2d: int, args) -> dict:
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--one",
        method,
        "--log2",
        str(log2d),
        "--k",
        str(args.k),
        "--s",
        str(args.s),
        "--repeat",
        str(args.repeat),
    ]
    t = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.cap_seconds + 30)
    except subprocess.TimeoutExpired:
        return {
            "method": method,
            "d": args.s**log2d,
            "seconds": None,
            "status": f"killed after {time.perf_counter() - t:.0f} s",
        }
    if proc.returncode != 0:
        return {
            "method": method,
            "d": args.s**log2d,
            "seconds": None,
            "status": f"failed: {proc.stderr.strip()[-200:]}",
        }
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    if row["seconds"] > args.cap_seconds:
        row["status"] += f" (over the {args.cap_seconds:.0f} s cap)"
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--min-log2", type=int, default=4)
    ap.add_argument("--max-log2", type=int, default=20)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--s", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many prover calls per case (mono-whole: 1)")
    ap.add_argument("--cap-seconds", type=float, default=60.0)
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--one", choices=METHODS, help=argparse.SUPPRESS)
    ap.add_argument("--log2", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_case(args.one, args.log2, args.k, args.s, args.repeat)))
        return

    import z3

    print(
        f"routing proofs of select(d, k={args.k} spread indices, s={args.s}); python {platform.python_version()}, "
        f"z3 {z3.get_version_string()}, {platform.machine()}, cap {args.cap_seconds:.0f} s per case"
    )
    print(f"{'d':>9} {'build s':>8} {'induction s':>12} {'mono-cone s':>12} {'mono-whole s':>13}  status")
    rows, whole_stopped = [], None
    for log2d in range(args.min_log2, args.max_log2 + 1):
        d = args.s**log2d
        case = {}
        for method in METHODS:
            if method == "mono-whole" and whole_stopped is not None:
                case[method] = {
                    "method": method,
                    "d": d,
                    "seconds": None,
                    "status": f"not run (stopped at d = {whole_stopped})",
                }
                continue
            sub = argparse.Namespace(**{**vars(args), "repeat": 1 if method == "mono-whole" else args.repeat})
            case[method] = run_case(method, log2d, sub)
            if method == "mono-whole" and (
                case[method]["seconds"] is None or case[method]["seconds"] > args.cap_seconds
            ):
                whole_stopped = d
        rows.extend(case.values())
        fmt = lambda r: f"{r['seconds']:.3f}" if r["seconds"] is not None else "-"  # noqa: E731
        statuses = "/".join(r["status"] for r in case.values())
        build = case["induction"].get("build_s")
        print(
            f"{d:>9} {build if build is None else f'{build:.3f}':>8} {fmt(case['induction']):>12} "
            f"{fmt(case['mono-cone']):>12} {fmt(case['mono-whole']):>13}  {statuses}",
            flush=True,
        )
    top = [r for r in rows if r["method"] == "induction" and r["d"] == args.s**args.max_log2]
    if top and top[0]["seconds"] is not None:
        ok = top[0]["seconds"] < TARGET_SECONDS and top[0]["status"] == "proved"
        print(
            f"target: induction proof at d = {top[0]['d']} in under {TARGET_SECONDS:.0f} s: "
            f"{top[0]['seconds']:.3f} s, {top[0]['status']} -> {'met' if ok else 'NOT met'}"
        )
    print(
        "mono-whole: "
        + (
            f"stopped at d = {whole_stopped} (over the cap or killed)"
            if whole_stopped
            else "finished every d within the cap"
        )
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
