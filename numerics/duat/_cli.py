"""``python -m numerics duat --model resnet-basic-block --input 3x32x32``: a decomposition summary.

Prints per layer its type, whether its weight/bias are static or input-dependent, shapes and nonzeros; then
``W``'s shape and nonzeros, the reconstruction error ``max|f(x) - (W x + b)|``, the time, and for piecewise-linear
models (ReLU/max-pool/conv/BN/linear) the check ``W == autograd Jacobian`` (full Jacobian when it has at most
``_FULL_JACOBIAN`` entries, otherwise Jacobian-vector products along seeded random directions). Exit codes (the
project's table, :data:`theory.cli.EXIT_CODES`): 0 ok; 1 the Jacobian check mismatched; 2 bad input (one
``error: ...`` line on stderr), including a decomposition whose estimated memory exceeds ``--memory-budget``
(default 4GiB; refused before anything large is built). The Jacobian check runs in the budget the decomposition
leaves: the full Jacobian only when it fits, else Jacobian-vector products, else it is skipped and says so.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from typing import Sequence

import torch

import theory
from theory.cli import MEMORY_BUDGET, format_bytes, format_count, guard_memory, parse_size

from .._errors import NumericsError, bad
from .._tolerances import TOLERANCES
from ._decompose import Decomposition, decompose_layers
from ._estimate import MemoryEstimate, estimate_memory
from .models import MODEL_NAMES, reference_model

_FULL_JACOBIAN = 4_000_000
"""Entries of the dense autograd Jacobian the CLI builds in full (32 MB in float64); above it, JVP probes."""
_PROBES = 4
_SMOOTH = {"GELU", "SiLU", "Sigmoid", "Tanh", "LayerNorm", "MultiheadAttention"}


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``duat`` sub-command to an ``argparse`` sub-parser collection; returns it."""
    p = subparsers.add_parser("duat", help="matrix-vector decomposition f(x) = W(x) x + b(x) of a reference model")
    p.add_argument("--model", default="resnet-basic-block", choices=MODEL_NAMES)
    p.add_argument("--input", help="one sample's shape, e.g. 3x32x32 or 16x64 (default: the model's)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and of the input sample (default 0)")
    p.add_argument(
        "--dtype",
        default="float64",
        choices=["float64", "float32"],
        help="model dtype; the decomposition itself is float64 (default float64)",
    )
    p.add_argument(
        "--memory-budget",
        default=f"{MEMORY_BUDGET >> 30}GiB",
        help=f"bytes the decomposition and its check may allocate, e.g. 512MiB, 16GiB (default "
        f"{MEMORY_BUDGET >> 30}GiB)",
    )
    return p


def parse_shape(text: str) -> tuple[int, ...]:
    """``'3x32x32'`` -> ``(3, 32, 32)``."""
    allowed = "positive sizes joined by 'x', e.g. 3x32x32 or 16x64, at most 2**40 values in all"
    if not isinstance(text, str) or not re.fullmatch(r"\s*[1-9][0-9]{0,12}(\s*x\s*[1-9][0-9]{0,12})*\s*", text):
        raise bad("input", text[:60] if isinstance(text, str) else text, allowed)
    shape = tuple(int(v) for v in text.split("x"))
    if math.prod(shape) > 2**40:  # the memory estimate that follows refuses far less; this keeps sizes in int64
        raise bad("input", text, allowed)
    return shape


def jacobian_bytes(est: MemoryEstimate, full: bool) -> int:
    """Estimated bytes of the Jacobian check: in full (a vectorised backward over every output: ``n_out`` copies
    of the activations, the dense ``J``, ``W`` densified and their difference) or by Jacobian-vector products
    (double backward: a few copies of the activations)."""
    n_out, n_in = math.prod(est.output_shape), math.prod(est.input_shape)
    if full:
        return 8 * n_out * (n_out + est.activations + 3 * n_in)
    return 8 * (6 * est.activations + 3 * (n_out + n_in))


def _jacobian_check(
    model: torch.nn.Module, x: torch.Tensor, d: Decomposition, seed: int, est: MemoryEstimate, spare: int
) -> tuple[str, bool]:
    """``W == J(x)`` in full or along random directions, for piecewise-linear models, within ``spare`` bytes: the
    line to print and whether it passed (True when not applicable or skipped for memory)."""
    kinds = {r.kind for r in d.layers}
    if kinds & _SMOOTH:
        return (
            f"Jacobian check: not applicable ({', '.join(sorted(kinds & _SMOOTH))}: W(x) is the gating "
            f"decomposition, not the Jacobian)"
        ), True
    if jacobian_bytes(est, full=False) > spare:
        return (
            f"Jacobian check: skipped (it needs about {format_bytes(jacobian_bytes(est, full=False))}; "
            f"{format_bytes(max(spare, 0))} of --memory-budget is left)"
        ), True
    f = lambda v: model(v[None])[0].reshape(-1)
    tol = TOLERANCES["float64_affine"]
    if d.W.shape[0] * d.W.shape[1] <= _FULL_JACOBIAN and jacobian_bytes(est, full=True) <= spare:
        jac = torch.autograd.functional.jacobian(f, x, vectorize=True).reshape(d.W.shape)
        err = float((jac - d.W.to_dense()).abs().max())
        how = "full autograd Jacobian"
    else:
        g = torch.Generator().manual_seed(seed + 1)
        err = 0.0
        for _ in range(_PROBES):
            v = torch.randn(x.shape, generator=g, dtype=torch.float64)
            _, jv = torch.autograd.functional.jvp(f, x, v)
            wv = torch.sparse.mm(d.W, v.reshape(-1, 1)).reshape(-1)
            err = max(err, float((jv - wv).abs().max()))
        how = f"{_PROBES} Jacobian-vector products (full Jacobian would have {d.W.shape[0] * d.W.shape[1]:.3g} entries)"
    ok = err <= tol.atol + tol.rtol * float(d.W.values().abs().max())
    return f"Jacobian check ({how}): max|J - W| = {err:.3g}  {'ok' if ok else 'MISMATCH'}", ok


def run(args: argparse.Namespace) -> int:
    """Run ``duat``; returns the exit code (0 ok, 1 Jacobian mismatch, 2 bad input)."""
    try:
        model, default = reference_model(args.model, seed=args.seed, dtype=getattr(torch, args.dtype))
        shape = parse_shape(args.input) if args.input else default
        budget = parse_size(args.memory_budget, error=NumericsError)
        est = estimate_memory(model, shape, records=True)  # before x exists: the input alone may not fit
        guard_memory(
            "decompose_layers",
            est.peak_bytes + 8 * math.prod(shape),
            budget,
            f"W (nnz ~ {format_count(est.nnz)}) and its intermediates, with x",
            "use a smaller input x (--input on the command line)",
            error=NumericsError,
        )
        x = torch.randn(shape, generator=torch.Generator().manual_seed(args.seed), dtype=torch.float64)
        t0 = time.perf_counter()
        d = decompose_layers(model, x, memory_budget=budget)
        seconds = time.perf_counter() - t0
    except NumericsError as e:
        print(f"error: {e}", file=sys.stderr)
        return theory.cli.EXIT_USAGE
    print(
        f"duat decomposition of {args.model} (seed {args.seed}, model {args.dtype}, W in float64) at x of shape "
        f"{'x'.join(map(str, shape))}"
    )
    print(f"  {'step':>4}  {'path':<22} {'layer':<20} {'weight':<8} {'bias':<8} {'in -> out':<28} {'nnz':>9}")
    for r in d.layers:
        io = f"{'x'.join(map(str, r.in_shape))} -> {'x'.join(map(str, r.out_shape))}"
        nnz = r.matrix._nnz() if r.matrix is not None else 0
        kind = "residual add" if r.kind == "Add" else r.kind
        w = "-" if r.kind == "Add" else ("dynamic" if r.weight_dynamic else "static")
        b = "-" if r.kind == "Add" else ("dynamic" if r.bias_dynamic else "static")
        print(f"  {r.step:>4}  {r.path:<22} {kind:<20} {w:<8} {b:<8} {io:<28} {nnz:>9}")
    n_out, n_in = d.W.shape
    print(f"W: {n_out} x {n_in}, nnz {d.nnz} (density {d.nnz / (n_out * n_in):.3g}); b: {n_out}")
    print(f"reconstruction: max|f(x) - (W x + b)| = {d.error:.3g}   (max|f(x)| = {float(d.output.abs().max()):.3g})")
    print(f"time: {seconds:.2f} s (decompose_layers, with per-layer records)")
    work = model.to(torch.float64) if args.dtype != "float64" else model
    line, ok = _jacobian_check(work, x, d, args.seed, est, budget - est.kept_bytes)
    print(line)
    return theory.cli.EXIT_OK if ok else theory.cli.EXIT_FAIL


def main(argv: Sequence[str] | None = None) -> int:
    """The ``duat`` subcommand on its own (``main(["duat", ...])``); ``python -m numerics`` wires the same
    :func:`add_parser` and :func:`run`."""
    p = argparse.ArgumentParser(prog="python -m numerics")
    add_parser(p.add_subparsers(dest="command", required=True))
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
