"""The piecewise certificate (theory.certify.pieces) against independent computations.

Step one (the network is the interpolant of its vertex values) is compared with exact evaluations of the network
and must fail on planted breaks (a hidden weight moved, a sign-split carry read unevenly); step two's bounds must
bracket the true sup error found by an independent dense evaluation and agree with the general branch and bound.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import pytest

import theory
from theory.certify._cone import extract_cone
from theory.certify.pieces import Grid, check_grid
from theory.spec import SparseArray

# float64 evaluation of a network of depth <= 20 with weights <= 100 and |x| <= 1 on a dense grid: the rounding is
# below 1e-12, far under the 1e-4 .. 1e-2 errors compared here.
TOLERANCES = {"dense_float_eval": 1e-12}


def _grid(n: int, k: int) -> Grid:
    return Grid((n,) * k, ((Fraction(-1), Fraction(1)),) * k, "test")


def _replace_weight(net: theory.Network, layer: int, index: int, value: Fraction) -> theory.Network:
    """``net`` with the ``index``-th stored weight of ``layer`` set to ``value`` (a planted change)."""
    lay = net.layers[layer]
    vals = lay.weight.values.copy()
    vals[index] = value
    new = dataclasses.replace(lay, weight=SparseArray(lay.weight.shape, lay.weight.keys, vals))
    layers = net.layers[:layer] + (new,) + net.layers[layer + 1 :]
    return theory.Network(d=net.d, c_in=net.c_in, layers=layers, meta=dict(net.meta))


def _dense_sup(net: theory.Network, support: list[int], g, m: int = 201) -> float:
    """max |net - g| on an m^k grid of the box, float64 (an independent lower estimate of the sup)."""
    import torch

    import numerics

    mod = numerics.to_module(net, dtype=torch.float64)
    axes = np.meshgrid(*[np.linspace(-1, 1, m)] * len(support), indexing="ij")
    pts = np.stack([a.reshape(-1) for a in axes], axis=1)
    x = np.zeros((pts.shape[0], net.c_in, net.d))
    x[:, 0, support] = pts
    with torch.no_grad():
        out = mod(torch.as_tensor(x)).reshape(-1).numpy()
    return float(np.max(np.abs(out - g(*pts.T))))


def test_step_one_values_are_the_networks_exact_values():
    head = theory.pl_head("sin(2*x0)*x1", (-1, 1), 5)
    net = head.net
    check = check_grid(extract_cone(net), [0, 1], _grid(5, 2))
    assert check.ok, check.reason
    for i, j in [(0, 0), (2, 3), (5, 5), (4, 1)]:
        x = [Fraction(-1) + Fraction(2 * i, 5), Fraction(-1) + Fraction(2 * j, 5)]
        assert check.values[i, j] == theory.evaluate_exact(net, [[x[0]], [x[1]]])[0]


N_ODD = 7
ROUTED = theory.compose(theory.select(16, [2, 13], 2), theory.pl_head("x0*x1", (-1, 1), N_ODD).net)


def test_routing_carries_through_odd_grids():
    # n odd: 0 is not a grid point, so relu(x) and relu(-x) of the routing kink inside a cell; the sign-split
    # pairs make the composed network affine on every simplex all the same
    check = check_grid(extract_cone(ROUTED), [0, 1], _grid(N_ODD, 2))
    assert check.ok, check.reason
    cert = theory.certify_sup_error(ROUTED, "x2*x13", (-1, 1))
    assert cert.method == "kuhn-pieces" and list(cert.details["structure"]["grid_cells"]) == [N_ODD, N_ODD]


def test_planted_uneven_carry_is_caught():
    net, n = ROUTED, N_ODD
    # the routing readout fused into the head's first layer reads relu(x) with c and relu(-x) with -c: move one
    fused = len(theory.select(16, [2, 13], 2).layers) - 1
    lay = net.layers[fused]
    src = lay.weight.keys % lay.weight.shape[1]
    first = int(np.flatnonzero(src == src[0])[0])
    bad = _replace_weight(net, fused, first, lay.weight.values[first] + Fraction(1, 3))
    check = check_grid(extract_cone(bad), [0, 1], _grid(n, 2))
    assert not check.ok and "changes sign" in check.reason


def test_planted_hidden_weight_breaks_step_one_and_the_search_falls_back():
    head = theory.pl_head("x0*x1", (-1, 1), 4)
    net = theory.compose(theory.select(4, [0, 3], 2), head.net)
    layer = len(net.layers) - 2  # the hat layer phi_v = relu(1 - P_v - Q_v)
    bad = _replace_weight(net, layer, 0, net.layers[layer].weight.values[0] * Fraction(3, 2))
    cert = theory.certify_sup_error(bad, "x0*x3", (-1, 1), time_limit_s=20)
    assert cert.method == "interval-bnb"
    assert "failed" in cert.details["structure"]["piecewise"]
    true = _dense_sup(bad, [0, 3], lambda a, b: a * b)
    assert true <= float(cert.upper) + TOLERANCES["dense_float_eval"]
    only = theory.certify_sup_error(bad, "x0*x3", (-1, 1), method="pieces")
    assert only.status == "unknown" and "failed" in only.details["reason"]


@pytest.mark.parametrize(
    "g, f, support",
    [
        ("sin(3*x0)*x1", lambda a, b: np.sin(3 * a) * b, [1, 6]),
        ("exp(x0) - x1**2", lambda a, b: np.exp(a) - b**2, [6, 1]),  # support out of order: x0 is x6
    ],
)
def test_bounds_bracket_the_dense_sup_and_agree_with_branch_and_bound(g, f, support):
    net = theory.approximate_sparse(8, support, g, (-1, 1), Fraction(1, 100), method="pl")
    cert = theory.certify_sup_error(net, rel_gap=1e-3, time_limit_s=20)
    assert cert.method == "kuhn-pieces" and cert.status == "proved"
    assert cert.details["gap_reached"]
    names = [f"x{i}" for i in support]
    true = _dense_sup(net, support, f)
    assert float(cert.lower) <= float(cert.upper)
    assert true <= float(cert.upper) + TOLERANCES["dense_float_eval"]
    assert float(cert.upper) <= float(Fraction(net.meta["a_priori_bound"]))
    general = theory.certify_sup_error(net, method="branch-and-bound", time_limit_s=4)
    assert general.method == "interval-bnb"
    assert cert.lower <= general.upper and general.lower <= cert.upper
    assert set(cert.witness) == set(names)


def test_lower_bound_is_exact_at_its_witness():
    net = theory.approximate_sparse(8, [3, 4], "x0*x1", (-1, 1), Fraction(1, 100), method="pl")
    cert = theory.certify_sup_error(net, rel_gap=1e-3)
    w = cert.witness
    x = [Fraction(0)] * 8
    x[3], x[4] = w["x3"], w["x4"]
    val = theory.evaluate_exact(net, x)[0]
    exact = abs(val - w["x3"] * w["x4"])  # polynomial target: the exact error at the witness
    assert 0 <= exact - cert.lower <= Fraction(1, 2**200)  # the target is enclosed at 256 bits
    assert cert.method == "kuhn-pieces"


def test_eps_decisions():
    net = theory.approximate_sparse(8, [3, 4], "sin(x0)*x1", (-1, 1), Fraction(1, 100), method="pl")
    free = theory.certify_sup_error(net, rel_gap=1e-3)
    above = theory.certify_sup_error(net, eps=free.upper * Fraction(101, 100))
    below = theory.certify_sup_error(net, eps=free.lower * Fraction(99, 100))
    assert above.status == "proved" and above.upper <= above.eps
    assert below.status == "refuted" and below.lower > below.eps


@pytest.mark.parametrize("m", [2, 4])
def test_product_head_on_its_polarisation_grid(m):
    # sup |f - x0 x1| = 2^(-2m-2) exactly on [-1, 1]^2 (Yarotsky 2017, Prop. 3: the two squares' errors of the
    # forms (x0 +- x1)/2, each in [0, 2^(-2m-2)], meet at opposite extremes)
    head = theory.product_head(m)
    cert = theory.certify_sup_error(head.net, "x0*x1", (-1, 1))
    assert cert.method == "kuhn-pieces" and "polarisation" in cert.details["structure"]["grid_source"]
    true = Fraction(1, 4 ** (m + 1))
    assert cert.lower <= true <= cert.upper <= true * Fraction(101, 100)
    assert all(-1 <= v <= 1 for v in cert.witness.values())  # the witness lies in the box


def test_methods():
    net = theory.approximate_sparse(8, [1, 3, 4], "x0*x1*x2", (-1, 1), Fraction(1, 10))  # a product tree: no grid
    only = theory.certify_sup_error(net, method="pieces")
    assert only.status == "unknown" and "names no grid" in only.details["reason"]
    with pytest.raises(theory.TheoryError, match="method"):
        theory.certify_sup_error(net, method="fast")
