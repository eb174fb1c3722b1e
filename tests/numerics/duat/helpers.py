"""Helpers shared by the DUAT tests (numerics.duat and the checks.duat claims).

Seeded float64 inputs (:func:`randn`), models in float64 eval mode with seeded weights (:func:`prep`), the
reconstruction check ``W x + b == model(x)`` (:func:`check_reconstruction`), and the tiny CNN of the experiment
tests (:data:`TINY_ARCH`).

Tolerance (:data:`TOL`): TOLERANCES["float64_affine"] (atol = rtol = 1e-12): W x + b re-associates float64 sums
of at most a few thousand products of O(1) terms, so rounding stays ~1e-14; a wrong index or factor gives O(1)
errors.
"""

from __future__ import annotations

import torch

from numerics import TOLERANCES, duat
from numerics.duat.experiments._models import ConvArch

TOL = TOLERANCES["float64_affine"]
TINY_ARCH = ConvArch((4, 4, 4), pools=(0, 1))


def randn(shape, seed):
    """A float64 standard normal tensor from a generator seeded with ``seed``."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def prep(model, seed=0):
    """``model`` in float64 and eval mode, its weights initialised from ``seed`` (duat.init_)."""
    return duat.init_(model.double(), seed).eval()


def close(a, b):
    """``a`` and ``b`` agree within :data:`TOL`, compared flat."""
    return TOL.ok(a.reshape(-1), b.reshape(-1))


def check_reconstruction(model, x):
    """W x + b equals the model's forward pass (independently computed by torch)."""
    W, b = duat.decompose(model, x)
    assert W.is_sparse and W.dtype == torch.float64 and W.is_coalesced()
    with torch.no_grad():
        y = model(x[None])[0]
    assert close(torch.sparse.mm(W, x.reshape(-1, 1)).reshape(-1) + b, y)
    return W, b
