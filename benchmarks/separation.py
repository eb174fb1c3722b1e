"""Vectorised ensemble vs one model at a time: the speed-up of training seeds x learning rates together.

Both sides run the same members (same initialisations, data, learning rates, optimizer and a fixed number of steps,
no early stopping) in the same process; the sequential side trains each member as an ensemble of one. The members'
results agree to float rounding (tests/test_learning.py checks this in float64). Prints one row per (arch, d, n).

    python benchmarks/separation.py [--steps 200] [--members 6] [--device cpu|cuda] [--threads N]
"""

from __future__ import annotations

import argparse
import time

import torch

from numerics._ensemble import TreeArch
from numerics._tasks import Task
from numerics._train import TrainSettings, train_ensemble


POINTS = [("cnn", 8, 32), ("cnn", 16, 128), ("cnn", 32, 512), ("lcn", 8, 64), ("lcn", 16, 256),
          ("lcn", 32, 1024), ("fcn", 8, 128), ("fcn", 16, 512), ("fcn", 32, 2048)]
"""(arch, d, n) spread like the quick profile's search points: every d, small to large n."""


def _time(fn, device: torch.device, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--members", type=int, default=6, help="seeds x learning rates (quick profile: 3 x 2 = 6)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (the sweep's workers use 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev, dt = torch.device(args.device), torch.float32
    settings = TrainSettings(max_steps=args.steps, patience=None)
    E = args.members
    print(f"{'arch':5s} {'d':>4s} {'n':>6s} {'params':>8s}  {'together s':>10s}  {'one-by-one s':>12s}  speed-up"
          f"   ({E} members, {args.steps} steps, {dev}, {dt}, {torch.get_num_threads()} thread(s))")
    total = [0.0, 0.0]
    for arch, d, n in POINTS:
        shape = TreeArch(arch, d, 2, 8, 16, 1)
        x, y, _ = Task("patch-quadratic", d).sample((E, n), torch.Generator().manual_seed(0), dtype=dt, device=dev)
        lrs = torch.linspace(0.03, 0.1, E, dtype=dt)
        gens = lambda: [torch.Generator().manual_seed(e) for e in range(E)]  # noqa: E731

        def together() -> None:
            train_ensemble(shape, shape.init(gens(), dtype=dt, device=dev), x, y, lrs, settings)

        def one_by_one() -> None:
            for e, p in enumerate(zip(*[t.detach() for t in shape.init(gens(), dtype=dt, device=dev)])):
                params = [t[None].clone().requires_grad_(True) for t in p]
                train_ensemble(shape, params, x[e:e + 1], y[e:e + 1], lrs[e:e + 1], settings)

        t_all, t_seq = _time(together, dev), _time(one_by_one, dev)
        total[0] += t_all
        total[1] += t_seq
        print(f"{arch:5s} {d:4d} {n:6d} {shape.param_count():8d}  {t_all:10.2f}  {t_seq:12.2f}  {t_seq / t_all:7.1f}x")
    print(f"{'all':5s} {'':4s} {'':6s} {'':8s}  {total[0]:10.2f}  {total[1]:12.2f}  {total[1] / total[0]:7.1f}x"
          "   (the mix of the quick profile's points)")


if __name__ == "__main__":
    main()
