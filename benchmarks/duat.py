"""numerics.duat benchmark: time, nonzeros, peak memory and reconstruction error of ``decompose``, against the
dense autograd Jacobian measured in the same run.

Models (``numerics.duat.reference_model``, seed 0, float64, eval mode): ``resnet-basic-block`` (3 -> 16 planes,
1x1-conv+BN projection, input 3x32x32), ``vit-block`` (pre-LN, 16 tokens, width 64, 4 heads, MLP 4x),
``resnet-2-blocks`` (the block then a 16 -> 16 identity-skip block), ``patch-vit`` (8x8 patch embedding of 3x32x32,
then the ViT block). For each it prints the best of ``--reps`` wall-clock times of ``decompose`` (and process CPU
time), ``W``'s nonzeros and bytes, the tracemalloc peak of one ``decompose`` call (numpy/scipy allocations; torch
tensors are not traced) and the process's peak RSS, ``max|f(x) - (W x + b)|``, and the time of the dense Jacobian
(forward or reverse mode, whichever needs fewer passes, 256
columns or rows per pass) with its size in bytes; for piecewise-linear models also
``max|J - W|``. Targets: ResNet basic block on 3x32x32 < 2 s; ViT block < 2 s (CPU). Figures on a shared
machine vary with its load: the load average is printed. Usage: ``python benchmarks/duat.py [--models ...]
[--reps 3] [--no-jacobian]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import torch
import torch.autograd.forward_ad as fwAD

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from numerics import duat  # noqa: E402

PIECEWISE_LINEAR = {"resnet-basic-block", "resnet-preact-block", "resnet-2-blocks", "vgg-small"}


def _best(fn, reps: int):
    wall, cpu, out = [], [], None
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu), out


def dense_jacobian(model, x: torch.Tensor, n_out: int, chunk: int = 256) -> torch.Tensor:
    """The dense autograd Jacobian ``(n_out, n_in)``, ``chunk`` rows or columns per pass by copying the sample into
    a batch (eval-mode samples are independent): forward mode (copy ``b`` carries tangent ``e_{start+b}``) when
    there are fewer inputs than outputs (conv nets), else reverse mode (forward AD lacks CPU flash attention) (copy ``b`` back-propagates output ``start + b``).
    Memory: one batch of activations plus the result (``torch.func.jacrev`` with vmap ran out of 23 GB here)."""
    n_in = x.numel()
    n = min(n_in, n_out)
    parts = []
    for start in range(0, n, chunk):
        idx = torch.arange(start, min(start + chunk, n))
        xb = x.expand(len(idx), *x.shape).clone()
        if n_in < n_out:
            tangent = torch.zeros(len(idx), n_in, dtype=x.dtype)
            tangent[torch.arange(len(idx)), idx] = 1.0
            with fwAD.dual_level():
                out = model(fwAD.make_dual(xb, tangent.reshape(xb.shape)))
                parts.append(fwAD.unpack_dual(out).tangent.reshape(len(idx), -1).T)
        else:
            xb.requires_grad_(True)
            model(xb).reshape(len(idx), -1).gather(1, idx[:, None]).sum().backward()
            parts.append(xb.grad.reshape(len(idx), -1))
    return torch.cat(parts, dim=1 if n_in < n_out else 0).detach()


def bench(name: str, reps: int, jacobian: bool) -> None:
    model, shape = duat.reference_model(name, seed=0)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    duat.decompose(model, x)                                         # warm-up
    wall, cpu, (W, b) = _best(lambda: duat.decompose(model, x), reps)
    tracemalloc.start()
    duat.decompose(model, x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    with torch.no_grad():
        y = model(x[None])[0].reshape(-1)
    err = float((torch.sparse.mm(W, x.reshape(-1, 1)).reshape(-1) + b - y).abs().max())
    nnz = W._nnz()
    print(f"{name:<20} {'x'.join(map(str, shape)):<9} decompose {wall:6.3f} s (cpu {cpu:6.3f} s)  "
          f"W {W.shape[0]}x{W.shape[1]} nnz {nnz:>9} ({nnz * 16 / 2**20:6.1f} MiB as COO)  "
          f"tracemalloc peak {peak / 2**20:7.1f} MiB  max|f - (Wx+b)| {err:.2e}")
    if jacobian:
        jw, _, jac = _best(lambda: dense_jacobian(model, x, W.shape[0]), 1)
        line = (f"{'':<20} dense autograd Jacobian (autograd, 256 per pass) {jw:6.3f} s, {jac.numel() * 8 / 2**20:7.1f} MiB; "
                f"decompose is {jw / wall:5.1f}x faster")
        if name in PIECEWISE_LINEAR:
            line += f"; max|J - W| {float((jac - W.to_dense()).abs().max()):.2e}"
        else:
            line += "; (W is the gating decomposition here, not J)"
        print(line)
        del jac


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["resnet-basic-block", "vit-block", "resnet-2-blocks", "patch-vit"],
                   choices=duat.MODEL_NAMES)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--no-jacobian", action="store_true")
    args = p.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for name in args.models:
        bench(name, args.reps, not args.no_jacobian)
    print(f"peak RSS of the process (the dense Jacobian baselines dominate it): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
