"""Forward-pass throughput at scale: read time, the three evaluation paths, and the dense path's FLOP rate.

For ``select`` (k = 1, 2, 4, 8) and a full sparse approximant (``theory.approximate_sparse``: select to two
coordinates + a Yarotsky product head) at d = 2^16 ... 2^20 (``--d-exps 16 18 20 22`` for more), batch 64,
kernel = stride = 2, it prints in one run:

* ``read``: time to read the input once (``x.sum()``), the reference of every ratio;
* ``struct``: :class:`numerics.StructuredPath` (the output's cone only; reads k columns);
* ``dense``: :class:`numerics.DensePath` (all weights, fused matrix products per level) and its GFLOP/s as a
  fraction of a large-GEMM peak measured in the same run (2048^3 float32 matmul, best of several);
* ``plain``: the plain ``Conv1d`` chain of :func:`numerics.to_module` (skipped above ``--plain-max-d``).

Every time is the best of ``--reps`` runs after one warm-up (at least 10 for the read and the structured path). Targets: structure-aware path <= 1x
the read time; dense path >= 30% of the GEMM peak (CPU). On a GPU (``--device cuda``) the script also
reports the fraction of memory bandwidth (input bytes / time against a device-to-device copy measured in
the same run) and of the GEMM peak. Figures on a shared machine vary with its load: the script prints the
load average next to the peak. Usage: ``python benchmarks/scale.py [--d-exps 16 18 20] [--ks 1 2 4 8]
[--batch 64] [--device cpu|cuda|auto] [--reps 3] [--plain-max-d 262144] [--no-plain]``.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numerics  # noqa: E402
import theory  # noqa: E402

CPU_TIME: dict[int, float] = {}  # id(fn) -> best process CPU time of its last timing


def timer(fn, reps: int, device: torch.device) -> float:
    """Best wall time of ``reps`` calls after one warm-up (CUDA synchronised); the best process CPU time
    (all threads) goes to ``CPU_TIME[id(fn)]``: on a shared machine it does not count time spent descheduled."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    fn()
    sync()
    best, cpu = float("inf"), float("inf")
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        sync()
        best, cpu = min(best, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    CPU_TIME[id(fn)] = cpu
    return best


def gemm_peak(device: torch.device, dtype: torch.dtype, reps: int = 5) -> tuple[float, float]:
    """(GFLOP/s by wall time, GFLOP per CPU-second) of a large square matmul."""
    n = 4096 if device.type == "cuda" else 2048
    a = torch.rand(n, n, device=device, dtype=dtype)
    b = torch.rand(n, n, device=device, dtype=dtype)
    fn = lambda: a @ b  # noqa: E731
    wall = timer(fn, reps, device)
    return 2 * n**3 / wall / 1e9, 2 * n**3 / CPU_TIME[id(fn)] / 1e9


def copy_bandwidth(device: torch.device) -> float:
    x = torch.empty(1 << 28, dtype=torch.uint8, device=device)
    return 2 * x.numel() / timer(lambda: x.clone(), 3, device) / 1e9


def nets(d: int, ks: list[int], rng: random.Random):
    for k in ks:
        support = sorted(rng.sample(range(d), k - 2)) + [0, d - 1] if k > 2 else ([0, d - 1] if k == 2 else [d - 1])
        yield f"select k={k}", theory.select(d, support, 2)
    support = [5, d - 7]
    yield "sparse approx k=2", theory.approximate_sparse(d, support, "x0*x1", (-1, 1), 1e-3)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--d-exps", type=int, nargs="+", default=[16, 18, 20])
    p.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--reps", type=int, default=3)
    p.add_argument(
        "--plain-max-d",
        type=int,
        default=2**18,
        help="skip the plain Conv1d chain above this d, except for k = 8 at d <= 2^20 (default 2^18)",
    )
    p.add_argument("--no-plain", action="store_true", help="skip the plain Conv1d chain everywhere")
    args = p.parse_args(argv)
    dev, dt = numerics.resolve_device(args.device), numerics.resolve_dtype(args.dtype)
    peak, peak_cpu = gemm_peak(dev, dt)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"device {dev}, {dt}, torch threads {torch.get_num_threads()}, batch {args.batch}, load average {load:.2f}")
    print(
        f"large-GEMM peak (same run): {peak:.1f} GFLOP/s wall, {peak_cpu:.1f} GFLOP per CPU-second "
        f"(%peak cpu below compares per CPU-second rates: robust to other processes on the machine)"
    )
    if dev.type == "cuda":
        bw = copy_bandwidth(dev)
        print(f"device copy bandwidth (same run): {bw:.0f} GB/s")
    head = (
        f"{'net':<18} {'d':>8} {'read ms':>8} {'struct ms':>9} {'x read':>7} {'dense ms':>9} {'x read':>7} "
        f"{'GFLOP/s':>8} {'%peak':>6} {'%pk cpu':>7} {'plain ms':>9} {'x read':>7} {'%peak':>6}  agree"
    )
    if dev.type == "cuda":
        head += "  dense %bw"
    print(head)
    rng = random.Random(0)
    for e in args.d_exps:
        d = 2**e
        for name, net in nets(d, args.ks, rng):
            mod = numerics.to_module(net, dt, dev)
            sp, dp = numerics.StructuredPath(net, mod), numerics.DensePath(net, mod)
            x = torch.rand(args.batch, d, device=dev, dtype=dt) * 2 - 1
            cheap = max(10, 3 * args.reps)  # short runs: more repeats, the best one is the machine's, not the load's
            read = timer(lambda: x.sum(), cheap, dev)
            t_s = timer(lambda: sp(x), cheap, dev)
            flops = dp.flops_per_row * args.batch
            dense_fn = lambda: dp(x, check_finite=False)  # noqa: E731
            t_d = timer(dense_fn, max(1, args.reps - 1), dev)
            eff_cpu = flops / CPU_TIME[id(dense_fn)] / 1e9 / peak_cpu * 100
            ys, yd = sp(x), dp(x)
            k8 = name == "select k=8" and d <= 2**20
            if not args.no_plain and (d <= args.plain_max_d or k8):
                with torch.no_grad():
                    t_p = timer(lambda: mod(x), 1, dev)
                    yp = mod(x)
                plain = f"{t_p * 1e3:>9.1f} {t_p / read:>7.0f} {flops / t_p / 1e9 / peak * 100:>5.1f}%"
            else:
                yp, plain = yd, f"{'-':>9} {'-':>7} {'-':>6}"
            exact = torch.equal(ys, yd) and torch.equal(yd, yp)
            agree = "bitwise" if exact else f"{float((ys - yd).abs().max()):.1e}"
            row = (
                f"{name:<18} {'2^' + str(e):>8} {read * 1e3:>8.2f} {t_s * 1e3:>9.2f} {t_s / read:>7.2f} "
                f"{t_d * 1e3:>9.1f} {t_d / read:>7.1f} {flops / t_d / 1e9:>8.1f} {flops / t_d / 1e9 / peak * 100:>5.1f}% "
                f"{eff_cpu:>6.1f}% "
                f"{plain}  {agree}"
            )
            if dev.type == "cuda":
                row += f"  {x.numel() * x.element_size() / t_d / 1e9 / bw * 100:>6.1f}%"
            print(row, flush=True)
            x = mod = sp = dp = ys = yd = yp = None  # free this size's tensors before the next one
    end, end_cpu = gemm_peak(dev, dt)
    print(
        f"large-GEMM peak at the end: {end:.1f} GFLOP/s wall, {end_cpu:.1f} per CPU-second; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
