"""Small helpers shared by the claim checks: exact random data, independent level arithmetic, mismatches."""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from .._errors import bad

MAX_COUNTEREXAMPLES = 5
"""Counterexamples kept in a Result's evidence (the count of all violations is reported separately)."""


def random_rationals(rng: random.Random, n: int, num: int = 999, den: int = 97) -> list[Fraction]:
    """``n`` nonzero exact rationals ``+-a/b`` with ``1 <= a <= num``, ``1 <= b <= den``.

    Nonzero on purpose: a planted extra connection multiplies a nonzero input, so it shows in the output.
    """
    return [Fraction(rng.choice((-1, 1)) * rng.randint(1, num), rng.randint(1, den)) for _ in range(n)]


def tree_depth(d: int, s: int) -> int:
    """``L`` with ``s**L == d`` (computed here, independently of ``theory``); raises ChecksError otherwise."""
    L, n = 0, 1
    while n < d:
        n, L = n * s, L + 1
    if n != d or L < 1:
        raise bad("d", d, f"a power of s = {s} with exponent >= 1")
    return L


def relu_obj(a: np.ndarray) -> np.ndarray:
    """Exact ReLU of an object array of Fractions (result entries are Fractions)."""
    out = np.empty(a.shape, dtype=object)
    flat_in, flat_out = a.reshape(-1), out.reshape(-1)
    for i, v in enumerate(flat_in):
        flat_out[i] = v if v > 0 else Fraction(0)
    return out


def sign_split(values: np.ndarray) -> np.ndarray:
    """``(n, r)`` exact values -> ``(n, 2r)`` with channel ``2j + e = relu((-1)^e values[:, j])``."""
    out = np.empty((values.shape[0], 2 * values.shape[1]), dtype=object)
    out[:, 0::2] = relu_obj(values)
    out[:, 1::2] = relu_obj(-values)
    return out


def level_mismatches(got: np.ndarray, want: np.ndarray, level: int, case: dict[str, Any]) -> list[dict[str, Any]]:
    """Every entry where the exact arrays ``got`` and ``want`` (positions, channels) differ, as evidence dicts.

    A shape difference is one mismatch entry naming both shapes.
    """
    if got.shape != want.shape:
        return [{**case, "level": level, "what": "shape", "got": list(got.shape), "want": list(want.shape)}]
    diff = np.argwhere(np.asarray(got != want, dtype=bool))
    return [
        {**case, "level": level, "position": int(p), "channel": int(c), "got": str(got[p, c]), "want": str(want[p, c])}
        for p, c in diff
    ]


def exact_equal(got: Sequence[Any], want: Sequence[Any]) -> bool:
    """Exact equality of two sequences of rationals (lengths must match)."""
    return len(got) == len(want) and all(a == b for a, b in zip(got, want))


def keep(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first :data:`MAX_COUNTEREXAMPLES` violations."""
    return violations[:MAX_COUNTEREXAMPLES]


def verdict(violations: list[dict[str, Any]]) -> str:
    """``'pass'`` when there are no violations, else ``'fail'``."""
    return "fail" if violations else "pass"
