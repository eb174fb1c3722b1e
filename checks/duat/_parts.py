"""Shared helpers of the DUAT claim checks: seeded inputs and models, float64 comparisons, part records.

A "part" is a dict with ``ok`` (bool) and the measured numbers; :func:`_result` turns named parts into a
:class:`Result` (pass iff every part is ok). Float comparisons use ``TOLERANCES['float64_affine']`` through
``numerics.duat.references`` (atol = rtol = 1e-12: float64 re-association of at most a few thousand O(1)
products stays near 1e-14; a wrong index or factor gives O(1) errors).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, TypeVar

import numpy as np
import torch
from torch import nn

from numerics import duat, torch_threads
from numerics.duat import references as ref

from .._errors import bad
from ..claims import Context, Result

TOL = "float64_affine"
Part = dict[str, Any]
M = TypeVar("M", bound=nn.Module)


def _gen(ctx: Context, name: str) -> torch.Generator:
    """A torch Generator for stream ``name`` of the claim (seeded from ``ctx.np_rng``)."""
    return torch.Generator().manual_seed(int(ctx.np_rng(name).integers(2**62)))


def _randn(shape, g: torch.Generator) -> torch.Tensor:
    return torch.randn(shape, generator=g, dtype=torch.float64)


def _model(m: M, g: torch.Generator) -> M:
    """``m`` in float64 eval mode with weights from ``g`` (via :func:`numerics.duat.init_`), in place: returns ``m``
    itself, with its type (``Module.double``/``eval`` and ``init_`` all work in place and return their argument)."""
    m = m.double()
    duat.init_(m, int(torch.randint(2**62, (1,), generator=g)))
    return m.eval()


def _uat_layers(model: nn.Sequential) -> tuple[nn.Linear, nn.Module, nn.Linear]:
    """The ``(Linear, activation, Linear)`` layers of a two-layer UAT-form net ``W2 s(W1 x + b1) + b2``."""
    l1, act, l2 = model
    if not isinstance(l1, nn.Linear) or not isinstance(l2, nn.Linear):
        raise bad("model", model, "a two-layer net nn.Sequential(nn.Linear, activation, nn.Linear)")
    return l1, act, l2


def _out(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model(x[None])[0].reshape(-1).numpy()


def _flat(x: torch.Tensor) -> np.ndarray:
    return x.detach().reshape(-1).double().numpy()


def _result(parts: Mapping[str, Part], expected: Any, note: str = "", tolerance: str | None = TOL) -> Result:
    """Pass iff every part has ``ok``; observed = the parts' numbers; failing parts listed in the evidence."""
    failed = [k for k, p in parts.items() if not p["ok"]]
    return Result(
        "fail" if failed else "pass",
        observed={k: {a: b for a, b in p.items() if a != "ok"} for k, p in parts.items()},
        expected=expected,
        tolerance=tolerance,
        evidence={"failed_parts": failed},
        note=note,
    )


def affine_part(W, b, x: torch.Tensor, y: np.ndarray) -> Part:
    """``W x + b == y`` within float64_affine (y from an independent computation)."""
    got = ref.dense(W) @ _flat(x) + ref.dense(b)
    return {"ok": ref.close(got, y), "max_err": ref.max_err(got, y)}


def matrix_part(W, W_ref) -> Part:
    """``W == W_ref`` within float64_affine (``W_ref`` independent)."""
    return {"ok": ref.close(W, W_ref), "max_err": ref.max_err(W, W_ref)}


def one_thread(check: Callable[[Context], Result]) -> Callable[[Context], Result]:
    """Run ``check`` with one torch thread: the exact-form checks are loops of tiny float64 ops, where threads only
    add overhead (measured: E12 5.9 s with 2 threads on a loaded 2-core machine, 0.7 s with 1)."""

    def run(ctx: Context) -> Result:
        with torch_threads(1):
            return check(ctx)

    run.__doc__ = check.__doc__
    run.__name__ = getattr(check, "__name__", "check")
    return run
