"""Random two-layer heads as plain lists, and their value by plain loops (for TwoLayerHead, tree_sum, compose)."""

from __future__ import annotations

import random
from fractions import Fraction

ZERO = Fraction(0)


def rand_q(rng: random.Random, scale: int = 9) -> Fraction:
    return Fraction(rng.randint(-scale, scale), rng.choice((1, 2, 3, 4, 7)))


def random_head_lists(rng: random.Random, k: int, m: int, n_out: int = 1, density: float = 0.7):
    w1 = [[rand_q(rng) if rng.random() < density else 0 for _ in range(k)] for _ in range(m)]
    b1 = [rand_q(rng) for _ in range(m)]
    w2 = [[rand_q(rng) for _ in range(m)] for _ in range(n_out)]
    b2 = [rand_q(rng) for _ in range(n_out)]
    return w1, b1, w2, b2


def two_layer(w1, b1, w2, b2, z) -> tuple[Fraction, ...]:
    """g(z) = W2 relu(W1 z + b1) + b2 with plain loops over the lists the test generated."""
    hidden = [
        max(ZERO, Fraction(b1[r]) + sum((Fraction(w1[r][j]) * z[j] for j in range(len(z))), ZERO))
        for r in range(len(w1))
    ]
    return tuple(
        Fraction(b2[o]) + sum((Fraction(w2[o][r]) * hidden[r] for r in range(len(hidden))), ZERO)
        for o in range(len(w2))
    )
