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
