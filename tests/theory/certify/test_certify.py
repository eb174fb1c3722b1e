"""Certified sup-norm error (theory.certify_sup_error): soundness against independent exact computations.

Every certified upper bound is compared with sampled errors computed independently (the network by
``theory.evaluate_exact`` in rational arithmetic, the target by mpmath at 100 digits, or exactly for polynomials);
every refutation's witness is re-checked the same way. Planted violations follow docs/soundness.md: a weight changed
by 1e-9, an epsilon just below the true error.
"""

from __future__ import annotations

import random
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp

import theory
from theory import Certificate, TheoryError, certify_sup_error
from theory.certify._cone import extract_cone, root_rep
from theory.certify._interval_eval import compile_interval
from theory.certify._propagate import exact_output

# Tolerances (one table): the certified bound is a float rounded up; a-priori bounds are exact and can be tight
# (Yarotsky's bound is attained), so "upper <= a priori" is checked up to this relative rounding.
TOL = {
    "apriori_rel": 1e-6,  # float rounding accounting of the bound: ~1e-7 relative at m = 6 (error 2^-14)
    "mp_abs": 1e-80,
}  # transcendental targets are evaluated at 100 digits here (exact when rational)


# ------------------------------------------------------------------------------------------- helpers
def _head_net(d: int, support: list[int], m: int, seed: int) -> theory.Network:
    """select(d, support) + a random two-layer head with small rational weights (k = len(support))."""
    rng = random.Random(seed)
    k = len(support)
    q = lambda: Fraction(rng.randint(-8, 8), rng.choice([2, 4, 8]))  # noqa: E731
    w1 = [[q() for _ in range(k)] for _ in range(m)]
    b1 = [q() for _ in range(m)]
    w2 = [[q() / 4 for _ in range(m)]]
    return theory.compose(theory.select(d, support), theory.TwoLayerHead(w1, b1, w2, [q()]))


def _g_exact(expr: sp.Expr, point: dict[str, Fraction]):
    """``g`` at a rational point: exact Fraction when ``g`` is rational there, else a 60-digit mpmath number."""
    subs = {sp.Symbol(n, real=True): sp.Rational(v.numerator, v.denominator) for n, v in point.items()}
    val = expr.xreplace({s: subs.get(sp.Symbol(s.name, real=True), s) for s in expr.free_symbols})
    if val.is_Rational:
        return Fraction(int(val.p), int(val.q))
    with mpmath.workdps(100):
        return mpmath.mpf(sp.N(val, 100))


def _abs_err(net: theory.Network, expr: sp.Expr, point: dict[str, Fraction]):
    x = [Fraction(0)] * (net.d * net.c_in)
    for name, v in point.items():
        x[int(name[1:])] = v
    if net.c_in > 1:  # a one-position net: channels first, x{c} is channel c
        x = [[v] for v in x]
    y = theory.evaluate_exact(net, x)[0]
    g = _g_exact(expr, point)
    if isinstance(g, Fraction):
        return abs(y - g)
    with mpmath.workdps(100):
        return abs(mpmath.mpf(y.numerator) / y.denominator - g)


def _unsound_points(cert: Certificate, net, expr, points) -> list:
    """The independent soundness check: sampled points whose exact error exceeds the certified upper bound."""
    out = []
    for p in points:
        e = _abs_err(net, expr, p)
        if isinstance(e, Fraction):
            ub = cert.upper
        else:
            with mpmath.workdps(100):
                ub = mpmath.mpf(cert.upper.numerator) / cert.upper.denominator + TOL["mp_abs"]
        if e > ub:
            out.append((p, e))
    return out


def _samples(names, box, n, seed, extra=()):
    rng = random.Random(seed)
    pts = [dict(zip(names, pt)) for pt in extra]
    for _ in range(n):
        pts.append({nm: lo + (hi - lo) * Fraction(rng.randint(0, 2**20), 2**20) for nm, (lo, hi) in zip(names, box)})
    return pts


def _check_witness(cert: Certificate, net, expr) -> None:
    assert cert.witness is not None and cert.lower is not None
    e = _abs_err(net, expr, dict(cert.witness))
    if isinstance(e, Fraction):
        assert e >= cert.lower
    else:
        with mpmath.workdps(100):
            assert e >= mpmath.mpf(cert.lower.numerator) / cert.lower.denominator - TOL["mp_abs"]


# ------------------------------------------------------------------------------------------- soundness
@pytest.mark.parametrize("seed", range(4))
def test_random_heads_sampled_errors_never_exceed_upper(seed):
    support = [3, 60] if seed % 2 else [17]
    net = _head_net(64, support, m=6, seed=seed)
    target = "x3*x60" if len(support) == 2 else "x17**2 - x17/3"
    expr = sp.sympify(target, rational=True)
    cert = certify_sup_error(net, target, (-1, 1), time_limit_s=3)
    assert cert.status == "proved" and cert.upper is not None and cert.method == "interval-bnb"
    assert cert.lower <= cert.upper
    names = list(cert.details["variables"])
    corners = [tuple(Fraction(c) for c in pt) for pt in np.ndindex(*([2] * len(names)))]
    corners = [tuple(Fraction(2 * c - 1) for c in pt) for pt in corners]
    pts = _samples(names, [(-1, 1)] * len(names), 150, seed, extra=corners + [tuple(cert.witness.values())])
    assert _unsound_points(cert, net, expr, pts) == []
    _check_witness(cert, net, expr)


def test_transcendental_target_and_exact_output():
    net = _head_net(16, [2, 9], m=5, seed=11)
    target = "exp(x2/2)*cos(3*x9) + sin(x2*x9)"
    expr = sp.sympify(target, rational=True)
    cert = certify_sup_error(net, target, (-1, 1), time_limit_s=4)
    assert cert.status == "proved"
    pts = _samples(["x2", "x9"], [(-1, 1)] * 2, 120, 5)
    assert _unsound_points(cert, net, expr, pts) == []
    _check_witness(cert, net, expr)
    # the exact evaluator used for lower bounds agrees with evaluate_exact
    cone = extract_cone(net)
    rep = root_rep(cone, [0, 1], 2, np.array([-1.0, -1.0]), np.array([1.0, 1.0]))
    rng = np.random.default_rng(0)
    for x in rng.uniform(-1, 1, (20, 2)):
        full = [0.0] * 16
        full[2], full[9] = x
        assert exact_output(cone, rep, x, [0, 1]) == theory.evaluate_exact(net, np.array(full))[0]


@pytest.mark.parametrize(
    "g,support,box,eps", [("x0**2", [5], (0, 1), Fraction(1, 10**4)), ("x0*x1", [3, 200], (-1, 1), Fraction(1, 200))]
)
def test_real_heads_tight_and_below_a_priori(g, support, box, eps):
    net = theory.approximate_sparse(256, support, g, box, eps)
    cert = certify_sup_error(net, time_limit_s=25)
    apriori = Fraction(net.meta["a_priori_bound"])
    assert cert.status == "proved" and cert.details["gap_reached"]
    assert cert.lower <= apriori  # the a-priori bound is not violated anywhere we looked
    assert cert.lower <= cert.upper <= cert.lower * Fraction(101, 100)
    # Yarotsky's bound is attained, so "upper <= a priori" needs the search to close the gap completely:
    at_apriori = certify_sup_error(net, eps=apriori * (1 + Fraction(TOL["apriori_rel"])), time_limit_s=25)
    assert at_apriori.status == "proved" and at_apriori.upper <= apriori * (1 + Fraction(TOL["apriori_rel"]))
    expr = sp.sympify(net.meta["target"], rational=True)
    names = list(cert.details["variables"])
    box_q = [tuple(Fraction(v) for v in net.meta["box"][n]) for n in names]
    assert _unsound_points(cert, net, expr, _samples(names, box_q, 100, 1)) == []
    _check_witness(cert, net, expr)


def test_eps_decides_proved_and_refuted_with_planted_violation():
    net = theory.approximate_sparse(64, [1, 62], "x0*x1", (-1, 1), Fraction(1, 50))
    lay = net.layers[-1]
    vals = lay.weight.values.copy()
    vals[0] = vals[0] + Fraction(1, 10**9)  # plant: one head weight changed by 1e-9
    layers = list(net.layers)
    layers[-1] = type(lay)(theory.SparseArray(lay.weight.shape, lay.weight.keys, vals), lay.bias, relu=lay.relu)
    bad = theory.Network(d=net.d, c_in=net.c_in, layers=tuple(layers), meta=dict(net.meta))
    expr = sp.sympify("x1*x62")
    probe = certify_sup_error(bad, time_limit_s=10)
    assert probe.lower is not None and probe.details["gap_reached"]
    eps_below = probe.lower * Fraction(999_999, 1_000_000)
    refuted = certify_sup_error(bad, eps=eps_below, time_limit_s=10)
    assert refuted.status == "refuted" and refuted.eps == eps_below
    assert _abs_err(bad, expr, dict(refuted.witness)) > eps_below  # re-checked independently, exactly
    proved = certify_sup_error(bad, eps=probe.upper * Fraction(1001, 1000), time_limit_s=10)
    assert proved.status == "proved" and proved.upper <= proved.eps


def test_zero_time_limit_is_sound_and_never_a_false_proof():
    net = _head_net(32, [4, 20], m=6, seed=3)
    expr = sp.sympify("x4*x20")
    full = certify_sup_error(net, "x4*x20", (-1, 1), time_limit_s=5)
    quick = certify_sup_error(net, "x4*x20", (-1, 1), time_limit_s=0)
    assert quick.upper is None or quick.upper >= full.lower
    if quick.upper is not None:
        pts = _samples(["x4", "x20"], [(-1, 1)] * 2, 60, 2, extra=[tuple(full.witness.values())])
        assert _unsound_points(quick, net, expr, pts) == []
    tight = certify_sup_error(net, "x4*x20", (-1, 1), eps=full.lower / 2, time_limit_s=0)
    assert tight.status in ("unknown", "refuted")


def test_unsound_certificate_detector_flags_a_fabricated_bound():
    net = _head_net(32, [4, 20], m=6, seed=3)
    expr = sp.sympify("x4*x20")
    cert = certify_sup_error(net, "x4*x20", (-1, 1), time_limit_s=5)
    fake = Certificate(
        claim="fabricated", status="proved", method="interval-bnb", spec_hash=net.content_hash, upper=cert.lower / 2
    )
    flagged = _unsound_points(fake, net, expr, [dict(cert.witness)])
    assert flagged and flagged[0][1] > fake.upper
    assert _unsound_points(cert, net, expr, [dict(cert.witness)]) == []


def test_variables_are_cone_inputs_and_target_symbols():
    net = _head_net(64, [3, 60], m=4, seed=1)
    cert = certify_sup_error(net, "x3*x60 + x7", (-1, 1), time_limit_s=2)  # x7 is outside the cone
    assert list(cert.details["variables"]) == ["x3", "x7", "x60"]
    assert [row[0] for row in cert.assumptions["domain"]] == ["x3", "x7", "x60"]
    assert cert.upper >= 1  # |net - g| includes the free |x7| <= 1 term somewhere
    # dict box, rational endpoints
    cert2 = certify_sup_error(net, "x3*x60", {"x3": ("-1/3", "1/2"), "x60": (0, 1)}, time_limit_s=2)
    assert list(cert2.assumptions["domain"][0]) == ["x3", "-1/3", "1/2"]
    assert Fraction(-1, 3) <= cert2.witness["x3"] <= Fraction(1, 2)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"target": "y*x3"}, "unknown name 'y'.*allowed: numbers, x<i> or x<c>_<p>"),
        (
            {
                "target": "x3*",
            },
            "valid syntax",
        ),
        ({"target": "x3", "box": [(-1, 1)] * 3}, "box"),
        ({"target": "x3", "box": (1, -1)}, "lo < hi"),
        ({"target": "x3", "box": (-1, 1), "eps": -1}, "eps"),
        ({"target": "x3", "box": (-1, 1), "time_limit_s": -1}, "time_limit_s"),
        ({"target": "x3", "box": (-1, 1), "rel_gap": float("nan")}, "rel_gap"),
        ({"target": None, "box": (-1, 1)}, "target"),
        ({"target": "x3", "box": None}, "box"),
        ({"target": "x3", "box": (-1, 1), "max_patterns": 0}, "max_patterns"),
    ],
)
def test_bad_input_table(kwargs, match):
    net = _head_net(64, [3, 60], m=4, seed=1)
    target = kwargs.pop("target")
    box = kwargs.pop("box", (-1, 1))
    with pytest.raises(TheoryError, match=match):
        certify_sup_error(net, target, box, **kwargs)


def test_multi_output_network_refused():
    with pytest.raises(TheoryError, match="exactly one output"):
        certify_sup_error(theory.select(16, [1, 2]), "x1", (-1, 1))


# ------------------------------------------------------------------------------------------- interval math
@pytest.mark.parametrize(
    "text",
    [
        "sin(3*x0)*x1",
        "cos(x0*x1 + 1/3)",
        "exp(x0 - 2*x1)",
        "log(x0**2 + 1)",
        "sqrt(x0**2 + x1**2 + 1)*pi",
        "x0**5 - x1**4 + x0**3*x1",
        "exp(sin(x0))/(3 + x1)",
        "Abs(x0) - x1**2",
        "(x1**2 + 1)**(1/3)",
        "sin(100*x0 + x1/2)",
        "E**x0 - 1/x1",
    ],
)
def test_interval_evaluator_encloses_mpmath(text):
    x0, x1 = sp.symbols("x0 x1", real=True)
    expr = sp.sympify(text, rational=True, locals={"x0": x0, "x1": x1})
    f = compile_interval(expr, [x0, x1])
    fm = sp.lambdify([x0, x1], expr, "mpmath")
    rng = np.random.default_rng(len(text))
    for scale in (0.0, 1e-9, 1e-3, 0.5, 2.0):
        c = rng.uniform(-2.5, 2.5, (2, 60))
        r = rng.uniform(0, scale, (2, 60))
        lo, hi = c - r, c + r
        L, H = f([(lo[0], hi[0]), (lo[1], hi[1])])
        assert np.all(L <= H)
        with mpmath.workdps(40):
            for i in range(60):
                for t in (0.0, 0.37, 1.0):
                    p = [mpmath.mpf(lo[a, i]) + (mpmath.mpf(hi[a, i]) - mpmath.mpf(lo[a, i])) * t for a in range(2)]
                    try:
                        v = fm(*p)
                    except (ZeroDivisionError, ValueError):
                        continue
                    if isinstance(v, mpmath.mpc) or not mpmath.isfinite(v):
                        continue
                    assert mpmath.mpf(L[i]) <= v <= mpmath.mpf(H[i]), (text, lo[:, i], hi[:, i], L[i], H[i], v)
        if scale == 0.0:  # point enclosures are tight
            fin = np.isfinite(L) & np.isfinite(H)
            assert np.all((H - L)[fin] <= 1e-11 * np.maximum(1.0, np.abs(H[fin])))


# ------------------------------------------------------------------------------------------- slow
@pytest.mark.slow
def test_pl_head_sound():
    net = theory.approximate_sparse(1024, [5, 1000], "sin(3*x0)*x1", (-1, 1), Fraction(1, 100))
    cert = certify_sup_error(net, time_limit_s=60)
    expr = sp.sympify(net.meta["target"], rational=True)
    assert cert.upper is not None and cert.lower <= cert.upper
    pts = _samples(["x5", "x1000"], [(Fraction(-1), Fraction(1))] * 2, 40, 3, extra=[tuple(cert.witness.values())])
    assert _unsound_points(cert, net, expr, pts) == []
    _check_witness(cert, net, expr)


def test_purely_linear_network_uses_every_layer():
    # regression: a rep without ReLUs but with several linear layers must be substituted, not read off its
    # output unit alone (that gave an unsound bound, caught by the lower > upper self-check)
    l1 = theory.PointwiseLayer(theory.SparseArray.from_dense([[2, -1]]), theory.SparseArray.from_dense([0]), relu=False)
    l2 = theory.PointwiseLayer(theory.SparseArray.from_dense([[3]]), theory.SparseArray.from_dense([1]), relu=False)
    net = theory.Network(d=1, c_in=2, layers=(l1, l2))  # 6 x0 - 3 x1 + 1
    cert = certify_sup_error(net, "0", (-1, 1), time_limit_s=2)
    assert cert.lower == 10 and 10 <= cert.upper <= 10 * (1 + Fraction(1, 10**9))
    exact = certify_sup_error(net, "6*x0 - 3*x1 + 1", (-1, 1), time_limit_s=0.5)
    assert exact.upper < Fraction(1, 10**12)
