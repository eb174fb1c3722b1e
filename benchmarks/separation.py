"""Vectorised ensemble vs one model at a time: the speed-up of training seeds x learning rates together.

Both sides run the same members (same initialisations, data, learning rates and optimizer) in the same process; the
sequential side trains each member as an ensemble of one. The members' results agree to float rounding
(tests/numerics/learning/test_training.py checks this in float64). Two tables, one row per (arch, d, n):

* ``fixed``: ``--steps`` steps, no early stopping: the gain of batching alone;
* ``sweep``: the quick profile's training (validation set, early stopping with its patience and step limit), as the
  separation sweep runs it: members stop at different steps, and the ensemble drops a stopped member from the batch.
  ``member-steps`` are the member gradient steps each side computed (together / one by one); they differ a little
  only where float32 rounding moves a member's stopping step.

    python benchmarks/separation.py [--steps 100] [--members 6] [--device cpu|cuda] [--threads N] [--only fixed|sweep]
"""

from __future__ import annotations

import argparse
import time

import torch

from numerics.learning import Task, TrainSettings, TreeArch, separation_config, train_ensemble

POINTS = [
    ("cnn", 8, 32),
    ("cnn", 16, 128),
    ("cnn", 32, 512),
    ("lcn", 8, 64),
    ("lcn", 16, 256),
    ("lcn", 32, 1024),
    ("fcn", 8, 128),
    ("fcn", 16, 512),
    ("fcn", 32, 2048),
]
"""(arch, d, n) spread like the quick profile's search points: every d, small to large n."""


def _time(fn, device: torch.device) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t, out


def _table(mode: str, settings: TrainSettings, E: int, dev: torch.device, n_val: int) -> None:
    dt = torch.float32
    print(
        f"\n{mode}: {E} members, {settings.max_steps} steps at most, patience {settings.patience}, {dev}, {dt}, "
        f"{torch.get_num_threads()} thread(s)"
    )
    print(
        f"{'arch':5s} {'d':>4s} {'n':>6s} {'params':>8s} {'member-steps':>13s}  {'together s':>10s}  "
        f"{'one-by-one s':>12s}  speed-up"
    )
    total = [0.0, 0.0]
    for arch, d, n in POINTS:
        shape = TreeArch(arch, d, 2, 8, 16, 1)
        task, g = Task("patch-quadratic", d), torch.Generator().manual_seed(0)
        x, y, _ = task.sample((E, n), g, dtype=dt, device=dev)
        xv, yv, _ = task.sample((n_val,), g, dtype=dt, device=dev)
        val = dict(x_val=xv, y_val=yv) if settings.patience is not None else {}
        lrs = torch.linspace(0.03, 0.1, E, dtype=dt)
        gens = lambda: [torch.Generator().manual_seed(e) for e in range(E)]  # noqa: E731

        def together() -> int:
            out = train_ensemble(shape, shape.init(gens(), dtype=dt, device=dev), x, y, lrs, settings, **val)
            return int(out["trained_steps"].sum())

        def one_by_one() -> int:
            steps = 0
            for e, p in enumerate(zip(*[t.detach() for t in shape.init(gens(), dtype=dt, device=dev)])):
                params = [t[None].clone().requires_grad_(True) for t in p]
                out = train_ensemble(shape, params, x[e : e + 1], y[e : e + 1], lrs[e : e + 1], settings, **val)
                steps += int(out["trained_steps"].sum())
            return steps

        (t_all, s_all), (t_seq, s_seq) = _time(together, dev), _time(one_by_one, dev)
        total[0] += t_all
        total[1] += t_seq
        steps = f"{s_all}/{s_seq}"
        print(
            f"{arch:5s} {d:4d} {n:6d} {shape.param_count():8d} {steps:>13s}  {t_all:10.2f}  {t_seq:12.2f}  "
            f"{t_seq / t_all:7.1f}x"
        )
    print(
        f"{'all':5s} {'':4s} {'':6s} {'':8s} {'':13s}  {total[0]:10.2f}  {total[1]:12.2f}  "
        f"{total[1] / total[0]:7.1f}x   (the mix of the quick profile's points)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100, help="steps of the fixed-steps table")
    ap.add_argument("--members", type=int, default=6, help="seeds x learning rates (quick profile: 3 x 2 = 6)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (the sweep's workers use 1)")
    ap.add_argument("--only", choices=("fixed", "sweep"), help="run one table only")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    quick = separation_config("patch-quadratic", "quick").train
    if args.only != "sweep":
        _table("fixed", TrainSettings(max_steps=args.steps, patience=None), args.members, dev, 0)
    if args.only != "fixed":
        _table("sweep", TrainSettings.from_config(quick), args.members, dev, quick["n_val"])


if __name__ == "__main__":
    main()
