"""n* estimates: bisection to a tight bracket vs an early stop plus the local log-log fit, on curves with known n*.

Each synthetic (arch, d) point has the median test error ``E(n) = 1 / (1 + (n / n0)^a)`` (a plateau at 1 for small
n, a power law ``(n0 / n)^a`` after), so ``n*_true = n0 (1 / tau - 1)^(1 / a)``; seed j's error is
``E(n) exp(sigma (rho u_j + sqrt(1 - rho^2) v_jn))`` with standard normal ``u_j`` (the seed's run, shared across n)
and ``v_jn``, drawn from ``--seed``. The median of the noise is 1, so n*_true is where the population median curve
crosses tau. Each rule runs :class:`ThresholdSearch` on the noisy curve exactly as the sweep does (pass: median over
seeds <= tau) and estimates n* with :func:`numerics.learning._nstar.fit_n_star`. Columns: the mean number of
evaluations (each evaluation trains every seed once), the median and 90th percentile of ``|log(n* / n*_true)|``
for the bracket's upper end (today's ``n_star``) and the fitted n*, and the fraction of intervals holding n*_true.

``--real`` adds the quick profile's sweep of the sparse task at d = 8 (cnn only) run to a tight bracket; its stored
evaluations are then replayed under the early stop, with the tight run's fitted n* as the reference. Prints tables
and asserts nothing. Usage: ``python benchmarks/n_star.py [--reps 200] [--seeds 5] [--real]``.
"""

from __future__ import annotations

import argparse
import math
import tempfile

import numpy as np

from numerics.learning import ThresholdSearch, fit_n_star

RULES = {
    "tight (1.1)": (0.1, 2.0),
    "tight, 2-point": (0.1, 1.0),
    "ratio 1.5": (0.5, 2.0),
    "ratio 2 (early)": (1.0, 2.0),
    "ratio 2, 2-point": (1.0, 1.0),
    "ratio 2, window 4": (1.0, 4.0),
}
"""name -> (ThresholdSearch resolution, fit window): the stop at hi / lo <= 1 + resolution; window 1 is the
two-point interpolation the sweep used before."""


def _search(curve, n_min: int, n_max: int, resolution: float, tau: float) -> tuple[list[int], np.ndarray, int]:
    s = ThresholdSearch(n_min, n_max, resolution)
    while (n := s.next_n()) is not None:
        s.record(n, float(np.median(curve(n))) <= tau)
    ns = [n for n, _ in s.history]
    return ns, np.array([curve(n) for n in ns]), s.result


def synthetic(reps: int, seeds: int, seed: int, sigma: float, rho: float, tau: float, boot: int) -> None:
    rng = np.random.default_rng(seed)
    rows = {name: {"evals": [], "err_b": [], "err_f": [], "cover": [], "width": []} for name in RULES}
    for _ in range(reps):
        a, n0 = rng.uniform(0.6, 1.5), math.exp(rng.uniform(math.log(20), math.log(2000)))
        truth = n0 * (1 / tau - 1) ** (1 / a)
        u = rng.standard_normal(seeds)
        v_seed = int(rng.integers(2**32))

        def curve(n: int) -> np.ndarray:  # the same noise for the same n under every rule
            v = np.random.default_rng([v_seed, n]).standard_normal(seeds)
            return np.exp(sigma * (rho * u + math.sqrt(1 - rho**2) * v)) / (1 + (n / n0) ** a)

        for name, (res, window) in RULES.items():
            ns, errs, grid = _search(curve, 32, 2**17, res, tau)
            est = fit_n_star(ns, errs, tau, reps=boot, seed=seed, window=window)
            r = rows[name]
            r["evals"].append(len(ns))
            if est.point is None:
                continue
            r["err_b"].append(abs(math.log(grid / truth)))
            r["err_f"].append(abs(math.log(est.point / truth)))
            r["cover"].append(est.interval[0] <= truth <= est.interval[1])
            r["width"].append(math.log(est.interval[1] / est.interval[0]))
    print(
        f"synthetic: {reps} curves, {seeds} seeds, sigma {sigma}, rho {rho}, tau {tau}, {boot} bootstrap reps, "
        f"seed {seed}"
    )
    print(
        f"{'rule':18} {'evals':>6} {'saved':>6} {'|log err| bracket':>19} {'|log err| fit':>15} "
        f"{'coverage':>9} {'ci ratio':>9}"
    )
    base = np.mean(rows["tight (1.1)"]["evals"])
    for name, r in rows.items():
        b, f = np.array(r["err_b"]), np.array(r["err_f"])
        print(
            f"{name:18} {np.mean(r['evals']):6.2f} {1 - np.mean(r['evals']) / base:6.0%} "
            f"{np.median(b):8.3f} / {np.percentile(b, 90):.3f}  {np.median(f):6.3f} / {np.percentile(f, 90):.3f} "
            f"{np.mean(r['cover']):9.2f} {math.exp(np.median(r['width'])):9.2f}"
        )
    print("(|log err|: median / 90th percentile; ci ratio: median hi / lo of the 95% interval)")


def real(boot: int) -> None:
    from numerics.learning import run_separation, separation_config

    config = separation_config("sparse", "quick", archs=("cnn",), ds=(8,), resolution=0.1, stop_ratio=None)
    with tempfile.TemporaryDirectory() as out:
        summary = run_separation(config, out, executor="serial", progress=False, plots=False)
    table = summary["archs"]["cnn"]["per_d"][0]["points"]
    stored = {t["n"]: t["test_rel"] for t in table}
    ref = fit_n_star(list(stored), np.array(list(stored.values())), config.tau, reps=boot, seed=0)
    print(
        f"real: sparse task, quick profile, cnn d=8, tau {config.tau}; tight run: {len(stored)} evaluations, "
        f"fitted n* {ref.point}, interval {ref.interval}"
    )
    for name, (res, window) in RULES.items():
        s = ThresholdSearch(config.n_min, config.n_max, res)
        while (n := s.next_n()) is not None and n in stored:
            s.record(
                n, float(np.median(np.nan_to_num(np.asarray(stored[n], float), nan=np.inf))) <= config.tau
            )  # diverged: inf
        if n is not None:
            print(f"{name:18} needs n = {n}, not in the tight run")
            continue
        ns = [n for n, _ in s.history]
        est = fit_n_star(ns, np.array([stored[n] for n in ns]), config.tau, reps=boot, seed=0, window=window)
        print(
            f"{name:18} {len(ns):3d} evaluations, bracket {est.bracket}, fitted n* {est.point}, "
            f"interval {tuple(round(v, 1) for v in est.interval)}"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=200, help="synthetic curves (default 200)")
    p.add_argument("--seeds", type=int, default=5, help="seeds per evaluation (default 5, the full profile's)")
    p.add_argument("--sigma", type=float, default=0.25, help="lognormal seed noise (default 0.25)")
    p.add_argument("--rho", type=float, default=0.7, help="correlation of a seed's noise across n (default 0.7)")
    p.add_argument("--tau", type=float, default=0.1)
    p.add_argument("--boot", type=int, default=300, help="bootstrap replicates per interval (default 300)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--real", action="store_true", help="also the quick real profile (sparse task, cnn, d = 8)")
    args = p.parse_args()
    synthetic(args.reps, args.seeds, args.seed, args.sigma, args.rho, args.tau, args.boot)
    if args.real:
        real(args.boot)


if __name__ == "__main__":
    main()
