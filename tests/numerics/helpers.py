"""Helpers shared by the numerics tests (convert, scale and the command line)."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch

import theory
from numerics import TOLERANCES

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
F64_AFFINE = TOLERANCES["float64_affine"]


def rational_net() -> theory.Network:
    """A tree_sum of a two-layer head with non-dyadic rational weights (d = 8): every float dtype rounds them."""
    head = theory.TwoLayerHead(
        [[Fraction(1, 3), Fraction(-1, 10)], [Fraction(2, 7), 0]],
        [Fraction(1, 5), Fraction(-1, 3)],
        [[Fraction(3, 11), Fraction(-5, 13)]],
        [Fraction(1, 9)],
    )
    return theory.tree_sum(8, 2, head, signs=(1, -1))


def relu_head_net(d: int = 1024) -> theory.Network:
    """``relu(x_3)`` routed from a d-input signal: against target ``x3`` on [-1, 1] the sup error is exactly 1."""
    return theory.compose(theory.select(d, [3, d - 1]), theory.TwoLayerHead([[1, 0]], [0], [[1]], [0]))


def relu_head_certificate(net, upper, lower=None):
    """A "proved" interval-bnb certificate of ``sup |net - x3| <= upper`` for ``net``'s spec hash (the tests plant
    wrong ones)."""
    return theory.Certificate(
        claim="sup |net - x3| <= upper on [-1, 1]^2",
        status="proved",
        method="interval-bnb",
        spec_hash=net.content_hash,
        upper=upper,
        lower=lower,
    )


def assert_exact_matches_module(net: theory.Network, module: torch.nn.Module, x: torch.Tensor, name: str = "") -> None:
    """``net`` in exact rationals equals the float64 ``module`` at every sample of ``x`` ``(B, C0, ...)`` to float64
    rounding (``F64_AFFINE``); a sample is read channels first, ``(C0, d)`` with ``d`` its positions."""
    with torch.no_grad():
        y = module(x).reshape(x.shape[0], -1)
    for i in range(x.shape[0]):
        point = [[Fraction(v) for v in row] for row in x[i].reshape(x.shape[1], -1).tolist()]
        for e, f in zip(theory.evaluate_exact(net, point), y[i].tolist()):
            assert abs(float(e) - f) <= F64_AFFINE.atol + F64_AFFINE.rtol * abs(float(e)), (name, float(e), f)
