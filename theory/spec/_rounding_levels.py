"""The fixed per-level data of the rounding bound of :mod:`theory.spec._rounding`.

For every level of the output's cone (:func:`theory.spec._rounding.cone_levels`): the edges sorted by unit, the
weights and biases as float64 magnitudes rounded up (:func:`abs_floats`), the fan-in, the edge pattern, and the
exact routing units with their signatures (``+-x_t`` or ``relu(+-x_t)``, :func:`_signatures`), which carry no
rounding error at all (the induction of the module docstring of :mod:`theory.spec._rounding`). The plan
(:func:`level_plan`) depends on the network only, so it is computed once and reused across regions.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from ._network import Network


def abs_floats(values: np.ndarray) -> np.ndarray:
    """|q| as float64, rounded up by one ulp where float64 cannot hold it exactly (the bound stays a bound)."""
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        f = abs(float(v))
        out[i] = f if Fraction(f) == abs(Fraction(v)) else math.nextafter(f, math.inf)
    return out


def _signatures(
    layer_relu: bool,
    units: int,
    which: np.ndarray,
    src: np.ndarray,
    w_signed: np.ndarray,
    zero_bias: np.ndarray,
    sig: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact routing units of one level and their signatures.

    ``sig[u] = (t, sigma, r)``: unit ``u`` equals ``sigma x_t`` (``r = 0``) or ``relu(sigma x_t)`` (``r = 1``)
    exactly, ``t`` an input unit; ``t = -1`` when unknown. A unit is exact when it has no edges and bias 0,
    one edge of weight ``+-1`` and bias 0, or two edges of weight ``+-1`` from ``relu(sigma x_t)`` and
    ``relu(-sigma x_t)`` with bias 0 (one of the two is 0, so the float sum is exact: the sign-split readout).
    """
    fan = np.bincount(which, minlength=units)
    unit_w = np.abs(w_signed) == 1
    all_unit = np.bincount(which, weights=(~unit_w).astype(np.float64), minlength=units) == 0
    exact = zero_bias & all_unit & (fan <= 1)
    out = np.full((units, 3), -1, dtype=np.int64)
    first = np.searchsorted(which, np.arange(units))  # edges are grouped by unit (which is sorted)
    one = np.flatnonzero(exact & (fan == 1))
    e = first[one]
    s_t, s_sig, s_r = sig[src[e], 0], sig[src[e], 1] * np.sign(w_signed[e]).astype(np.int64), sig[src[e], 2]
    ok = (s_t >= 0) & ~((s_r == 1) & (np.sign(w_signed[e]) < 0))  # -relu(.) has no signature
    out[one[ok]] = np.stack([s_t[ok], s_sig[ok], np.where(layer_relu, 1, s_r[ok])], 1)
    two = np.flatnonzero(zero_bias & all_unit & (fan == 2))
    if two.size:
        a, b = src[first[two]], src[first[two] + 1]
        pair = (
            (sig[a, 0] >= 0)
            & (sig[a, 0] == sig[b, 0])
            & (sig[a, 1] == -sig[b, 1])
            & (sig[a, 2] == 1)
            & (sig[b, 2] == 1)
        )
        exact[two[pair]] = True
        wa, wb = w_signed[first[two]], w_signed[first[two] + 1]
        lin = pair & (wa == -wb)  # w (relu(sx) - relu(-sx)) = w s x
        out[two[lin]] = np.stack(
            [
                sig[a[lin], 0],
                sig[a[lin], 1] * np.sign(wa[lin]).astype(np.int64),
                np.full(int(lin.sum()), 1 if layer_relu else 0),
            ],
            1,
        )
    return exact, out


class Level:
    """The fixed data of one level of the bound: sorted edges, float weights, fan-in, exact units (signatures)."""

    def __init__(self, layer: Any, level: tuple, n_below: int, sig: np.ndarray):
        import scipy.sparse as sps

        units, (which, src, nz) = level
        self.m = m = units.size
        order = np.argsort(which, kind="stable")
        which, src, nz = which[order], src[order], nz[order]
        w_signed = np.array([float(v) for v in layer.weight.values[nz]], dtype=np.float64)
        w = abs_floats(layer.weight.values[nz])
        self.b = b = abs_floats(layer.bias_of(units))
        self.nonzero = np.concatenate([w[w > 0], b[b > 0]])
        self.fan = np.bincount(which, minlength=m)
        self.W = sps.csr_matrix((w, (which, src)), shape=(m, n_below))
        self.P = sps.csr_matrix((np.ones(w.size), (which, src)), shape=(m, n_below))  # the edge pattern
        self.relu = bool(layer.relu)
        self.exact, self.sig = _signatures(layer.relu, m, which, src, w_signed, b == 0, sig)


def level_plan(net: Network, levels: list) -> list[Level]:
    """One :class:`Level` per layer of ``levels`` (:func:`theory.spec._rounding.cone_levels`); the input units
    carry the signatures ``(t, +1, 0)`` (each is its own ``x_t``)."""
    out = []
    n0 = levels[0][0].size
    sig = np.stack([np.arange(n0), np.ones(n0, dtype=np.int64), np.zeros(n0, dtype=np.int64)], 1)
    for i, layer in enumerate(net.layers):
        lv = Level(layer, levels[i + 1], levels[i][0].size, sig)
        out.append(lv)
        sig = lv.sig
    return out
