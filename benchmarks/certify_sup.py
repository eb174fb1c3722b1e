"""Certified sup-norm error of sparse approximants: time, upper, lower and upper/lower per case.

Prints a Markdown table (one row per case) for theory.certify_sup_error on approximate_sparse networks:
k = 1 (Yarotsky square), k = 2 (Yarotsky product; Kuhn piecewise-linear heads for sin(3 x0) x1), k = 3 (a
Yarotsky triple product and a Kuhn head for a smooth transcendental g). Target from DESIGN.md: for k <= 2 and
smooth g, upper / lower <= 1.01 within 30 s. Figures are measured, never asserted.

Usage: python benchmarks/certify_sup.py [--time-limit 30] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import platform
import time
from fractions import Fraction

import theory

CASES = [
    # name, k, d, support, g, box, eps (head size), decide-at-eps
    ("square m=6", 1, 1024, [7], "x0**2", (0, 1), Fraction(1, 10**4), False),
    ("square m=9", 1, 1024, [7], "x0**2", (0, 1), Fraction(1, 10**6), False),
    ("product m=4", 2, 1024, [3, 700], "x0*x1", (-1, 1), Fraction(1, 10**3), False),
    ("product m=6", 2, 1024, [3, 700], "x0*x1", (-1, 1), Fraction(1, 10**4), False),
    ("pl sin(3x0)x1 eps=1e-2", 2, 4096, [5, 4000], "sin(3*x0)*x1", (-1, 1), Fraction(1, 100), False),
    ("pl sin(3x0)x1 eps=1e-3", 2, 4096, [5, 4000], "sin(3*x0)*x1", (-1, 1), Fraction(1, 1000), False),
    ("pl sin(3x0)x1 eps=1e-3 @eps", 2, 4096, [5, 4000], "sin(3*x0)*x1", (-1, 1), Fraction(1, 1000), True),
    ("product3 m=3", 3, 1024, [1, 500, 1000], "x0*x1*x2", (-1, 1), Fraction(1, 100), False),
    ("pl exp(x0)sin(x1)+x2^2/2", 3, 1024, [1, 500, 1000], "exp(x0)*sin(x1) + x2**2/2", (-1, 1), Fraction(1, 20), False),
]


def run(case, time_limit: float) -> dict:
    name, k, d, support, g, box, eps, at_eps = case
    t0 = time.perf_counter()
    net = theory.approximate_sparse(d, support, g, box, eps)
    build = time.perf_counter() - t0
    cert = theory.certify_sup_error(net, eps=eps if at_eps else None, time_limit_s=time_limit)
    up = None if cert.upper is None else float(cert.upper)
    lo = None if cert.lower is None else float(cert.lower)
    head = net.meta["head"]
    params = dict(head["params"])
    size = f"m={params['m']}" if "m" in params else f"n={params.get('n')}"
    return {"case": name, "k": k, "head": f"{head['name']} {size}", "nonzeros": net.nonzeros, "build_s": build,
            "status": cert.status, "seconds": cert.seconds, "upper": up, "lower": lo,
            "ratio": (up / lo) if (up and lo) else None, "a_priori": float(Fraction(net.meta["a_priori_bound"])),
            "boxes": cert.details["boxes"], "gap": cert.details["gap_reached"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--only", nargs="*", help="case names (substrings) to run")
    args = ap.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}, time limit {args.time_limit} s per case\n")
    print("| case | k | head | nonzeros | status | time s | upper | lower | upper/lower | a-priori | boxes |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
    for case in CASES:
        if args.only and not any(s in case[0] for s in args.only):
            continue
        r = run(case, args.time_limit)
        print(f"| {r['case']} | {r['k']} | {r['head']} | {r['nonzeros']} | {r['status']} | {r['seconds']:.1f} | "
              f"{fmt(r['upper'], '.6g')} | {fmt(r['lower'], '.6g')} | {fmt(r['ratio'], '.4f')} | "
              f"{r['a_priori']:.6g} | {r['boxes']} |", flush=True)


if __name__ == "__main__":
    main()
