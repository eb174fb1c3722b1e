"""certify_sup_error(..., semantics=...): certificates of the float32 / float64 module.

The float certificate's upper bound is the exact one plus the a-priori rounding bound of theory.spec._rounding
(recomputed here independently from the box magnitudes); its lower bound and witness are re-checked exactly
(the witness is a point of the format, |net - g| there exact, minus the running-error bound at that point).
Eps decisions use the float bounds; a bad semantics is a clear error; theory still runs without torch. The
measured side (the torch module at the witness and on a grid) is tests/numerics/scale/test_certify_float.py.
"""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import theory
from theory import TheoryError, certify_sup_error
from theory.spec._rounding import cone_levels, point_bound, rounding_bound

PRODUCT = ("x0*x1", "polynomial")  # d=16 routing + Yarotsky product head
PL = ("x0**2 - x1/3", "pl")  # d=16 routing + Kuhn interpolation head (piecewise linear)


@pytest.fixture(scope="module", params=[PRODUCT, PL], ids=["product", "pl"])
def case(request):
    g, method = request.param
    net = theory.approximate_sparse(
        d=16,
        support=[3, 12],
        g=g,
        box=(-1, 1),
        eps=Fraction(1, 100) if method == "polynomial" else Fraction(1, 10),
        method=method,
    )
    exact = certify_sup_error(net, time_limit_s=20, semantics="exact")
    return net, exact


def _exact_error(net: theory.Network, point: dict[str, Fraction]) -> Fraction:
    """``|net(point) - g(point)|`` exactly (other inputs 0; polynomial targets with rational coefficients)."""
    x = [Fraction(0)] * net.d
    for name, v in point.items():
        x[int(name[1:])] = v
    g = sp.sympify(net.meta["target"], rational=True)
    value = g.subs({sp.Symbol(n): sp.Rational(v.numerator, v.denominator) for n, v in point.items()})
    return abs(theory.evaluate_exact(net, x)[0] - Fraction(int(value.p), int(value.q)))


@pytest.mark.parametrize("fmt", ["float32", "float64"])
def test_float_upper_is_exact_upper_plus_rounding_bound(case, fmt):
    net, exact = case
    cert = certify_sup_error(net, time_limit_s=20, semantics=fmt)
    n_live = cone_levels(net)[0][0].size
    rb = rounding_bound(net, 1.0, fmt)  # box (-1, 1): every magnitude max(|lo|, |hi|) = 1
    R = cert.details["rounding_bound"]
    assert rb.total > 0 and n_live == 2
    if cert.method == "kuhn-pieces":  # the per-cell bound of the certificate's grid, when tighter
        assert 0 < R < rb.total and "per cell" in cert.details["rounding_bound_from"]
    else:
        assert R == rb.total and "a-priori" in cert.details["rounding_bound_from"]
    # the search is deterministic for a seed: the exact part of the float certificate is the exact certificate
    assert cert.details["exact_upper"] == float(exact.upper) and exact.details["rounding_bound"] == 0.0
    assert cert.upper - exact.upper == Fraction(R) and cert.upper > exact.upper
    assert cert.status == "proved" and exact.details["semantics"] == "exact" and cert.details["semantics"] == fmt
    assert f"net_{fmt}(x)" in cert.claim and f"<= {float(cert.upper):.6g}" in cert.claim
    assert fmt in cert.assumptions["semantics"] and "exact rational" in exact.assumptions["semantics"]
    # lower: the witness is a point of the format in the box, and lower <= |net - g| there - (>= 0)
    w = cert.witness
    cast = np.float32 if fmt == "float32" else np.float64
    assert all(Fraction(float(cast(float(v)))) == v and -1 <= v <= 1 for v in w.values())
    point = [w[theory.input_name(net, int(u))] for u in cone_levels(net)[0][0]]
    at = rounding_bound(net, [abs(float(v)) for v in point], fmt, point=point).total
    at = min(at, point_bound(net, point, fmt)[0])  # exact float zeros at the point make it tighter
    want = _exact_error(net, w) - Fraction(at)
    # g is enclosed in 256-bit intervals (exact for x0*x1; x1/3 is not a binary number): the certified lower bound
    # is at most the exact value and within the enclosure's width, far below 2^-200, of it
    assert want - Fraction(1, 2**200) <= cert.lower <= want and cert.lower > 0
    assert theory.Certificate.from_json(cert.to_json()).details["rounding_bound"] == R


def test_eps_is_decided_on_the_float_bounds():
    net = theory.approximate_sparse(d=16, support=[3, 12], g="x0*x1", box=(-1, 1), eps=Fraction(1, 100))
    exact = certify_sup_error(net, time_limit_s=20)
    R = Fraction(certify_sup_error(net, time_limit_s=20, semantics="float32").details["rounding_bound"])
    eps = exact.lower + R / 2  # above the exact upper, below every float32 upper (>= exact sup + R)
    assert exact.upper < eps
    assert certify_sup_error(net, eps=eps, time_limit_s=20).status == "proved"
    cert = certify_sup_error(net, eps=eps, time_limit_s=20, semantics="float32")
    assert cert.status == "unknown" and cert.upper > eps and "refuted" not in cert.claim
    low = certify_sup_error(net, eps=Fraction(3, 1000), time_limit_s=20, semantics="float32")
    assert low.status == "refuted" and low.lower > Fraction(3, 1000) and low.claim.endswith("(refuted: see witness)")


def test_routing_has_no_rounding():
    """select routes by +-1 weights and exact zeros: the float module is exact, R = 0 in every format."""
    net = theory.select(16, [5])
    exact = certify_sup_error(net, "x5", (-3, 7), time_limit_s=5)
    for fmt in ("float32", "float64"):
        cert = certify_sup_error(net, "x5", (-3, 7), time_limit_s=5, semantics=fmt)
        assert cert.details["rounding_bound"] == 0.0 and cert.upper == exact.upper and cert.status == "proved"
        assert rounding_bound(net, 7.0, fmt).total == 0


def test_outside_the_model_range_has_no_float_bound():
    """A weight below float32's normal range does not round relatively: no float32 bound (float64 is fine)."""
    tiny = Fraction(1, 2**130)
    layer = theory.PointwiseLayer(
        theory.SparseArray.from_dense([[tiny]]), theory.SparseArray.from_dense([0]), relu=False
    )
    net = theory.Network(d=1, c_in=1, layers=(layer,))
    f32 = certify_sup_error(net, "0", (-1, 1), time_limit_s=2, semantics="float32")
    assert f32.upper is None and f32.status == "unknown" and "normal range" in f32.details["reason"]
    assert "no finite upper bound" in f32.claim
    f64 = certify_sup_error(net, "0", (-1, 1), time_limit_s=2, semantics="float64")
    assert f64.status == "proved" and f64.upper >= tiny


@pytest.mark.parametrize("value", ["float16", "Float32", 32, None])
def test_bad_semantics_is_a_clear_error(value):
    net = theory.select(4, [1])
    with pytest.raises(TheoryError, match=r"argument 'semantics'.*one of 'exact', 'float32', 'float64'"):
        certify_sup_error(net, "x1", (-1, 1), semantics=value)


def test_cli_semantics(tmp_path, capsys):
    from theory._main import main as cli_main

    net = theory.approximate_sparse(16, [3, 12], "x0*x1", (-1, 1), Fraction(1, 100))
    spec = theory.save(net, tmp_path / "spec")
    out = tmp_path / "cert.json"
    cli_main(["certify", str(spec), "--semantics", "float32", "--time-limit", "10", "--out", str(out), "--no-progress"])
    cert = theory.Certificate.load(out)
    assert cert.details["semantics"] == "float32" and "net_float32(x)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:  # argparse's usage error
        cli_main(["certify", str(spec), "--semantics", "float16"])
    assert stop.value.code == 2 and "argument --semantics: invalid choice" in capsys.readouterr().err


def test_theory_runs_without_torch():
    """The rounding bound lives in theory now: a float32 certificate imports no torch."""
    code = (
        "import sys, theory; from fractions import Fraction; "
        "c = theory.certify_sup_error(theory.approximate_sparse(4, [0, 1], 'x0*x1', (-1, 1), Fraction(1, 10)), "
        "time_limit_s=2, semantics='float32'); "
        "assert c.details['rounding_bound'] > 0, c.details; "
        "assert 'torch' not in sys.modules, 'theory imported torch'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


def test_region_bounds_is_the_running_bound_per_region():
    """region_bounds with the exact magnitudes at a point and no exact zeros is the running-error bound there, and
    the exact zeros only ever lower it (the measured float deviations are compared in tests/numerics/scale)."""
    from theory.spec._rounding import _exact_levels, region_bounds

    net = theory.approximate_sparse(d=16, support=[3, 12], g="sin(3*x0)*x1", box=(-1, 1), eps=Fraction(1, 10))
    levels = cone_levels(net)
    for point in ([Fraction(1, 3), Fraction(-5, 7)], [Fraction(-1), Fraction(9, 10)]):
        at = _exact_levels(net, levels, point)
        mags = [np.array([abs(float(v)) for v in lv], dtype=np.float64)[:, None] * (1 + 2.0**-50) for lv in at]
        e, _ = region_bounds(net, mags, "float32")
        ref = rounding_bound(net, [abs(float(v)) for v in point], "float32", point=point).total
        # the same model summed in another order (sparse products vs bincount): equal to float64 rounding
        assert abs(float(e[0]) - ref) <= 1e-9 * ref
        assert point_bound(net, point, "float32")[0] <= float(e[0])
