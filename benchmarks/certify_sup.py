"""Certified sup-norm error of sparse approximants: method, time, upper, lower and upper/lower per case.

Prints a Markdown table (one row per case) for theory.certify_sup_error. Toolkit heads get the piecewise
certificate (method kuhn-pieces: the network proved equal to its piecewise-linear object on the construction's
own grid, then a bound per simplex); networks without a grid (the k = 3 polynomial tree, a trained CNN) get the
general interval branch and bound. Each case has its target ratio upper/lower and time; the last column says
whether both were met. The last column re-checks each certificate with the independent checker
(theory.check_certificate) in the same run: its verdict, time and ratio to the search's time. Figures are
measured, never asserted.

Usage: python benchmarks/certify_sup.py [--time-limit 30] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import platform
import time
from fractions import Fraction

import theory

CASES = [
    # name, k, d, support, g, box, eps (head size), method, rel_gap, target ratio, target seconds
    ("square m=6", 1, 1024, [7], "x0**2", (0, 1), Fraction(1, 10**4), "auto", 1e-2, 1.01, 30),
    ("square m=9", 1, 1024, [7], "x0**2", (0, 1), Fraction(1, 10**6), "auto", 1e-2, 1.01, 30),
    ("product m=4", 2, 1024, [3, 700], "x0*x1", (-1, 1), Fraction(1, 10**3), "auto", 1e-2, 1.01, 10),
    ("product m=6", 2, 1024, [3, 700], "x0*x1", (-1, 1), Fraction(1, 10**4), "auto", 1e-2, 1.01, 10),
    ("pl sin(3x0)x1 eps=1e-2", 2, 4096, [5, 4000], "sin(3*x0)*x1", (-1, 1), Fraction(1, 100), "auto", 1e-3, 1.001, 10),
    (
        "pl sin(3x0)x1 eps=1e-3 (README)",
        2,
        4096,
        [5, 4000],
        "sin(3*x0)*x1",
        (-1, 1),
        Fraction(1, 1000),
        "auto",
        1e-3,
        1.001,
        10,
    ),
    (
        "same, general branch and bound",
        2,
        4096,
        [5, 4000],
        "sin(3*x0)*x1",
        (-1, 1),
        Fraction(1, 1000),
        "branch-and-bound",
        1e-3,
        1.001,
        10,
    ),
    ("product3 m=3", 3, 1024, [1, 500, 1000], "x0*x1*x2", (-1, 1), Fraction(1, 100), "auto", 1e-2, 1.01, 60),
    (
        "pl exp(x0)sin(x1)+x2^2",
        3,
        1024,
        [1, 500, 1000],
        "exp(x0)*sin(x1) + x2**2",
        (-1, 1),
        Fraction(1, 20),
        "auto",
        1e-2,
        1.01,
        60,
    ),
]


def trained_cnn(seed: int = 0):
    """A small tree CNN (d = 4, kernel = stride 2) trained on g = x0 x3 by numerics.learning, imported exactly."""
    import torch

    import numerics
    from numerics.learning import TrainSettings, TreeArch, train_ensemble

    arch = TreeArch("cnn", 4, 2, width=4, head_width=8)
    params = arch.init([torch.Generator().manual_seed(seed)], dtype=torch.float64, device="cpu")
    x = 2 * torch.rand(1, 256, 4, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64) - 1
    train_ensemble(
        arch,
        params,
        x,
        x[..., 0] * x[..., 3],
        torch.tensor([0.03], dtype=torch.float64),
        TrainSettings(max_steps=300, patience=None),
    )
    return numerics.from_torch(arch.module(params, 0), (1, 4))


def run(case, time_limit: float) -> dict:
    name, k, d, support, g, box, eps, method, gap, want_ratio, want_s = case
    t0 = time.perf_counter()
    if name.startswith("trained"):
        net, target = trained_cnn(), "x0*x3"
        head, a_priori = "trained tree CNN (from_torch)", None
    else:
        net, target = theory.approximate_sparse(d, support, g, box, eps), None
        params = dict(net.meta["head"]["params"])
        head = f"{net.meta['head']['name']} " + (f"m={params['m']}" if "m" in params else f"n={params.get('n')}")
        a_priori = float(Fraction(net.meta["a_priori_bound"]))
    build = time.perf_counter() - t0
    cert = theory.certify_sup_error(net, target, box, time_limit_s=time_limit or want_s, rel_gap=gap, method=method)
    report = theory.check_certificate(cert, net)  # the independent checker, on the certificate just made
    up = None if cert.upper is None else float(cert.upper)
    lo = None if cert.lower is None else float(cert.lower)
    ratio = (up / lo) if (up and lo) else None
    met = ratio is not None and ratio <= want_ratio and cert.seconds <= want_s
    return {
        "case": name,
        "k": k,
        "head": head,
        "nonzeros": net.nonzeros,
        "build_s": build,
        "method": cert.method,
        "status": cert.status,
        "seconds": cert.seconds,
        "upper": up,
        "lower": lo,
        "ratio": ratio,
        "a_priori": a_priori,
        "boxes": cert.details["boxes"],
        "check": f"{report.verdict} {report.seconds:.2f} s ({report.seconds / max(cert.seconds, 1e-9):.2f}x)",
        "target": f"<= {want_ratio} in <= {want_s} s: {'met' if met else 'missed'}",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--time-limit",
        type=float,
        default=0.0,
        help="budget of every case in seconds (default: the case's target time)",
    )
    ap.add_argument("--only", nargs="*", help="case names (substrings) to run")
    args = ap.parse_args()
    cases = CASES + [("trained tree CNN x0*x3", 2, 4, [0, 3], "x0*x3", (-1, 1), None, "auto", 1e-2, 1.01, 30)]
    print(f"python {platform.python_version()}, {platform.machine()}\n")
    print(
        "| case | k | head | method | status | time s | upper | lower | upper/lower | a-priori | boxes | target "
        "| check (s, x search) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
    for case in cases:
        if args.only and not any(s in case[0] for s in args.only):
            continue
        r = run(case, args.time_limit)
        print(
            f"| {r['case']} | {r['k']} | {r['head']} | {r['method']} | {r['status']} | {r['seconds']:.1f} | "
            f"{fmt(r['upper'], '.6g')} | {fmt(r['lower'], '.6g')} | {fmt(r['ratio'], '.4f')} | "
            f"{fmt(r['a_priori'], '.6g')} | {r['boxes']} | {r['target']} | {r['check']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
