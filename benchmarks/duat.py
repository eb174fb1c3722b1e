"""numerics.duat benchmark: time, nonzeros, peak memory and reconstruction error of ``decompose``, against the
dense autograd Jacobian of the same model measured in the same run; one table row per model.

Models (float64, eval mode): the reference models of ``numerics.duat.reference_model`` (seed 0) at their default
inputs (``resnet-basic-block`` 3 -> 16 planes at 3x32x32, ``vit-block`` 16 tokens of width 64, ``resnet-2-blocks``,
``patch-vit``, ...), and ``resnet18``: torchvision's ``resnet18(num_classes=1000)`` (random init, seed 0, eval) when
torchvision imports, else the hand-written resnet18 of tests/numerics/duat/resnets.py (the table says which), at
``--resnet18-input`` (default 3x64x64, the size of the published resnet18 measurement in docs/duat.md).

Each model runs in a child process, so that its peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, the
process's resident high-water mark) belongs to it alone: the table reports the RSS after the model and ``x`` are
built (``base``) and the growth of the peak during ``decompose`` (``+peak``, measured before the Jacobian runs),
next to ``max(nnz(W) * 12 bytes, dense W bytes)`` (the target's yardstick). Time: the best of ``--reps`` wall-clock
runs of ``decompose`` and of one dense Jacobian (resnet18: two of each, alternated, so that both see the same
machine load): reverse mode ``torch.func.jacrev`` (chunks of
256 output rows) when ``n_out <= n_in``, else forward mode with 256 input directions per pass (a batch of copies
carrying one tangent each). ``max|J - W|`` for piecewise-linear models. Targets: resnet18 at 3x64x64 no slower
than the Jacobian; the ResNet basic block >= 50x faster than it. Figures on a shared machine vary with its load
(printed). Usage: ``python benchmarks/duat.py [--models resnet18 resnet-basic-block ...] [--reps 3]
[--no-jacobian]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.autograd.forward_ad as fwAD

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from numerics import duat  # noqa: E402
from numerics.duat import _accumulate  # noqa: E402

PIECEWISE_LINEAR = {"resnet-basic-block", "resnet-preact-block", "resnet-2-blocks", "vgg-small", "resnet18"}
DEFAULT = ["resnet18", "resnet-basic-block", "vit-block", "resnet-2-blocks", "patch-vit"]


def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def dense_jacobian(model, x: torch.Tensor, n_out: int, chunk: int = 256) -> torch.Tensor:
    """The dense autograd Jacobian ``(n_out, n_in)``: ``torch.func.jacrev`` (one forward, ``chunk`` adjoints per
    backward) when ``n_out <= n_in``, else forward mode, ``chunk`` tangents per pass through a batch of copies of
    the sample (eval-mode samples are independent; forward AD has no per-sample vmap rule for every layer)."""
    n_in = x.numel()
    if n_out <= n_in:
        return torch.func.jacrev(lambda v: model(v[None])[0].reshape(-1), chunk_size=chunk)(x).reshape(n_out, -1)
    parts = []
    for start in range(0, n_in, chunk):
        idx = torch.arange(start, min(start + chunk, n_in))
        xb = x.expand(len(idx), *x.shape).clone()
        tangent = torch.zeros(len(idx), n_in, dtype=x.dtype)
        tangent[torch.arange(len(idx)), idx] = 1.0
        with fwAD.dual_level():
            out = model(fwAD.make_dual(xb, tangent.reshape(xb.shape)))
            parts.append(fwAD.unpack_dual(out).tangent.reshape(len(idx), -1).T)
    return torch.cat(parts, dim=1).detach()


def build(name: str, resnet18_input: tuple) -> tuple:
    if name != "resnet18":
        model, shape = duat.reference_model(name, seed=0)
        return model, shape, name
    try:
        sys.path.insert(0, str(ROOT))
        from tests.numerics.duat.zoo import torchvision

        tv = torchvision()
        torch.manual_seed(0)
        model, which = tv.models.resnet18(num_classes=1000), "torchvision resnet18"
    except BaseException:  # noqa: BLE001 - pytest's skip, ImportError, ...
        from tests.numerics.duat.resnets import ResNet18

        torch.manual_seed(0)
        model, which = ResNet18(num_classes=1000), "hand-written resnet18"
    for m in model.modules():  # BatchNorm statistics that matter, from seed 0
        if isinstance(m, torch.nn.BatchNorm2d):
            g = torch.Generator().manual_seed(m.num_features)
            m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=g))
            m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=g))
    return model.double().eval(), resnet18_input, which


def one(name: str, reps: int, jacobian: bool, resnet18_input: tuple) -> dict:
    """Measure one model (in this process); returns the row."""
    model, shape, which = build(name, resnet18_input)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    duat.decompose(torch.nn.ReLU(), torch.zeros(3, dtype=torch.float64))  # first-call imports of fx
    base = _rss()
    best, W, b = float("inf"), None, None
    for _ in range(1 if name == "resnet18" else reps):
        W = b = None
        t0 = time.perf_counter()
        W, b = duat.decompose(model, x)
        best = min(best, time.perf_counter() - t0)
    grow = _rss() - base
    with torch.no_grad():
        y = model(x[None])[0].reshape(-1)
    err = float((torch.sparse.mm(W, x.reshape(-1, 1)).reshape(-1) + b - y).abs().max())
    n_out, n_in = W.shape
    row = dict(
        model=which,
        input="x".join(map(str, shape)),
        order=duat.estimate_memory(model, shape).order,
        decompose_s=best,
        nnz=W._nnz(),
        yardstick=max(12 * W._nnz(), 8 * n_out * n_in),
        base=base,
        grow=grow,
        dense_peak=_accumulate.STATS["dense_peak"],
        err=err,
        jacobian_s=None,
        jw=None,
    )
    if jacobian:
        jbest = float("inf")
        for k in range(2 if name == "resnet18" else 1):  # resnet18: alternate with a second decompose, so
            if k:  # that both see the same machine load
                t0 = time.perf_counter()
                duat.decompose(model, x)
                row["decompose_s"] = min(row["decompose_s"], time.perf_counter() - t0)
            t0 = time.perf_counter()
            jac = dense_jacobian(model, x, n_out)
            jbest = min(jbest, time.perf_counter() - t0)
        row["jacobian_s"] = jbest
        if name in PIECEWISE_LINEAR:
            row["jw"] = float((jac - W.to_dense()).abs().max())
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=DEFAULT, choices=list(duat.MODEL_NAMES) + ["resnet18"])
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--no-jacobian", action="store_true")
    p.add_argument("--resnet18-input", default="3x64x64")
    p.add_argument("--one", help=argparse.SUPPRESS)  # child process: measure one model, print JSON
    args = p.parse_args()
    shape = tuple(int(v) for v in args.resnet18_input.split("x"))
    if args.one:
        print(json.dumps(one(args.one, args.reps, not args.no_jacobian, shape)))
        return 0
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    mib = 2.0**-20
    print(
        f"{'model':<22} {'input':<9} {'order':<8} {'decompose':>10} {'Jacobian':>10} {'speedup':>8} {'nnz(W)':>10} "
        f"{'yardstick':>10} {'base RSS':>9} {'+peak':>8} {'x yard':>7} {'dense blk':>9} {'|f-Wx-b|':>9} {'|J-W|':>9}"
    )
    for name in args.models:
        cmd = [
            sys.executable,
            __file__,
            "--one",
            name,
            "--reps",
            str(args.reps),
            "--resnet18-input",
            args.resnet18_input,
        ] + (["--no-jacobian"] if args.no_jacobian else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode:
            print(f"{name}: failed\n{out.stderr[-2000:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        jac = f"{r['jacobian_s']:9.2f}s" if r["jacobian_s"] else f"{'-':>10}"
        speed = f"{r['jacobian_s'] / r['decompose_s']:7.1f}x" if r["jacobian_s"] else f"{'-':>8}"
        jw = f"{r['jw']:9.1e}" if r["jw"] is not None else f"{'-':>9}"
        print(
            f"{r['model']:<22} {r['input']:<9} {r['order']:<8} {r['decompose_s']:9.3f}s {jac} {speed} "
            f"{r['nnz']:>10} {r['yardstick'] * mib:8.1f}Mi {r['base'] * mib:7.0f}Mi {r['grow'] * mib:6.0f}Mi "
            f"{r['grow'] / r['yardstick']:6.1f}x {r['dense_peak'] * mib:7.0f}Mi {r['err']:9.1e} {jw}"
        )
    print(
        "yardstick = max(nnz(W) * 12 B, dense W bytes); +peak = growth of the peak RSS during decompose; x yard = "
        "+peak / yardstick; dense blk = the high-water mark of the dense blocks held at once"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
