"""The float certificates of theory.certify_sup_error(..., semantics="float32"/"float64") against the torch module
they cover: numerics.to_module(net, dtype) evaluated at the certificate's witness and on a grid of points of the
format in the box. Every comparison is exact (Fractions): module outputs are floats, the targets are polynomials
with rational coefficients evaluated exactly at the (float) points, the network is evaluated exactly.

Also: numerics.rounding_bound is a thin wrapper of theory.spec._rounding (one implementation).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
import torch

import numerics
import theory
from theory.spec import _rounding as core

DTYPES = {"float32": torch.float32, "float64": torch.float64}
CASES = {"product": ("x0*x1", "polynomial", Fraction(1, 100)), "pl": ("x0**2 - x1/3", "pl", Fraction(1, 10))}


@pytest.fixture(scope="module", params=sorted(CASES))
def net(request):
    g, method, eps = CASES[request.param]
    return theory.approximate_sparse(d=16, support=[3, 12], g=g, box=(-1, 1), eps=eps, method=method)


def _target(net):
    """``g`` at rational points ``(x3, x12)``, exactly."""
    g = sp.lambdify([sp.Symbol("x3"), sp.Symbol("x12")], sp.sympify(net.meta["target"], rational=True))
    return lambda a, b: Fraction(g(a, b))


def _inputs(pts: np.ndarray, d: int, dtype: torch.dtype) -> torch.Tensor:
    """Full inputs (B, d): the grid values at x3 and x12, other inputs arbitrary (they cannot change the output)."""
    x = torch.as_tensor(np.random.default_rng(0).uniform(-5, 5, (len(pts), d)), dtype=dtype)
    x[:, 3], x[:, 12] = torch.as_tensor(pts[:, 0], dtype=dtype), torch.as_tensor(pts[:, 1], dtype=dtype)
    return x


@pytest.mark.parametrize("fmt", sorted(DTYPES))
def test_measured_float_error_within_the_certificate(net, fmt):
    dt = DTYPES[fmt]
    cert = theory.certify_sup_error(net, time_limit_s=20, semantics=fmt)
    R = Fraction(cert.details["rounding_bound"])
    assert cert.status == "proved" and R > 0 and cert.upper == Fraction(cert.details["exact_upper"]) + R
    mod = numerics.to_module(net, dt)
    g = _target(net)
    # the witness is a point of the format: the module sees it exactly
    w = (cert.witness["x3"], cert.witness["x12"])
    assert all(Fraction(float(torch.tensor(float(v), dtype=dt))) == v for v in w)
    grid = np.linspace(-1, 1, 101).astype(fmt)  # values of the format in the box
    pts = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2).astype(np.float64)
    pts = np.concatenate([np.array([[float(w[0]), float(w[1])]]), pts])
    with torch.no_grad():
        out = mod(_inputs(pts, net.d, dt))[:, 0].double().numpy()
    err = [abs(Fraction(float(y)) - g(Fraction(float(a)), Fraction(float(b)))) for y, (a, b) in zip(out, pts)]
    assert max(err) <= cert.upper  # the claim: sup over the format's points of |module - g| <= upper
    assert err[0] >= cert.lower  # the lower bound is attained at the witness
    # |module - exact net| <= R on a sub-grid (exact evaluation is slower) and at the witness
    dev = []
    for i in [0, *range(1, len(pts), 97)]:
        x = np.zeros(net.d)
        x[3], x[12] = pts[i]
        dev.append(abs(Fraction(float(out[i])) - theory.evaluate_exact(net, x)[0]))
    assert max(dev) <= R
    if fmt == "float32":
        assert max(dev) > 0  # the head does round in float32: the comparison can fail


def test_numerics_rounding_bound_wraps_the_theory_bound(net):
    for dt in (torch.float32, torch.float64, torch.float16):
        rb = numerics.rounding_bound(net, 1.0, dt)
        ref = core.rounding_bound(net, 1.0, str(dt).replace("torch.", ""))
        assert isinstance(rb, theory.spec.RoundingBound) and rb.dtype is dt
        assert np.array_equal(rb.per_output, ref.per_output) and rb.layer_new == ref.layer_new
        assert rb.total == ref.total > 0 and rb.exact_layers == ref.exact_layers
    assert numerics.unit_roundoff(torch.float32) == core.unit_roundoff("float32") == 2.0**-24
    assert core.smallest_normal("float64") == 2.0**-1022 and core.largest_finite("float32") == float(
        torch.finfo(torch.float32).max
    )
    assert numerics.cone(net)[0][0].tolist() == [3, 12]
