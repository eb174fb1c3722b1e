"""The Wang & Wu construction checks (checks.ww) against planted violations: a weight changed by 1e-9, an extra
connection, a wrong support, wrong parameter-count formulas, a dilated stride-1 stack; and their determinism."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F

import checks
import theory
from tests.checks.helpers import ctx_for


def perturb(
    net: theory.Network, layer_index: int, delta: Fraction = Fraction(1, 10**9), entry: int = 0
) -> theory.Network:
    """The same network with one stored weight changed by ``delta``."""
    layer = net.layers[layer_index]
    values = layer.weight.values.copy()
    values[entry] = values[entry] + delta
    weight = theory.SparseArray(layer.weight.shape, layer.weight.keys, values)
    layers = list(net.layers)
    layers[layer_index] = dataclasses.replace(layer, weight=weight)
    return theory.Network(d=net.d, layers=tuple(layers), c_in=net.c_in, meta=dict(net.meta))


def extra_connection(net: theory.Network, layer_index: int) -> theory.Network:
    """The same network with one new nonzero weight: output channel 0 also reads another child."""
    layer = net.layers[layer_index]
    entries = dict(layer.weight.items())
    (o, c, t), _ = next(iter(entries.items()))
    entries[(o, c, (t + 1) % layer.kernel)] = 1
    weight = theory.SparseArray.from_dict(layer.weight.shape, entries)
    layers = list(net.layers)
    layers[layer_index] = dataclasses.replace(layer, weight=weight)
    return theory.Network(d=net.d, layers=tuple(layers), c_in=net.c_in, meta=dict(net.meta))


def planted_select(change):
    """A select builder whose CNN has ``change`` applied to layer 2, with LCN/FCN derived from it."""

    def build(d, support, s=2, architecture="cnn"):
        net = change(theory.select(d, support, s, "cnn"), 1)
        return {"cnn": net, "lcn": theory.to_lcn(net), "fcn": theory.to_fcn(net)}[architecture]

    return build


def test_claims_are_deterministic(tmp_path):
    a = checks.select_exact(ctx_for(tmp_path / "a", seed=5, claim_id="ww.select.exact"), sizes=[(16, 2), (27, 3)])
    b = checks.select_exact(ctx_for(tmp_path / "b", seed=5, claim_id="ww.select.exact"), sizes=[(16, 2), (27, 3)])
    assert dataclasses.replace(a, seconds=0) == dataclasses.replace(b, seconds=0)


def test_gather_planted_weight_fails(tmp_path):
    build = lambda d, s: perturb(theory.gather(d, s), 1)
    r = checks.gather_exact(ctx_for(tmp_path), build=build, cases=[(16, 2), (27, 3)])
    assert r.status == "fail"
    cx = r.evidence["counterexamples"]
    assert cx and any(c.get("level") == 2 for c in cx)


def test_gather_float_comparison_catches_a_1e9_weight():
    # routing_exact has atol = rtol = 0: a weight 1 + 1e-9 changes the float64 output and must be reported.
    from checks.ww._gather import float_violations

    net = perturb(theory.gather(8, 2), 0, Fraction(1, 10**9))
    X = torch.ones(2, 8, dtype=torch.float64)
    v = float_violations(net, X, {"d": 8})
    assert v and v[0]["what"] == "float64"


def test_universality_planted_depth_and_value_fail(tmp_path):
    unfused = lambda r, h: theory.Network(d=r.d, layers=r.layers + h.network().layers)
    r = checks.universality_depth(ctx_for(tmp_path), compose=unfused, cases=[(16, 2)])
    assert r.status == "fail" and r.evidence["counterexamples"][0]["what"] == "depth"
    build = lambda d, s: perturb(theory.gather(d, s), 0)
    r = checks.universality_depth(ctx_for(tmp_path), build=build, cases=[(16, 2)])
    assert r.status == "fail" and r.evidence["counterexamples"][0]["what"] == "value"


@pytest.mark.parametrize("change", [perturb, extra_connection], ids=["weight+1e-9", "extra-connection"])
def test_select_planted_violation_fails_with_counterexample(change, tmp_path):
    r = checks.select_exact(ctx_for(tmp_path), build=planted_select(change), sizes=[(16, 2), (27, 3)])
    assert r.status == "fail"
    cx = r.evidence["counterexamples"]
    assert cx and cx[0]["level"] == 2 and cx[0]["got"] != cx[0]["want"]
    assert r.observed["violations"] >= len(cx)


def test_select_planted_lcn_only_fails(tmp_path):
    def build(d, support, s=2, architecture="cnn"):
        net = theory.select(d, support, s, architecture)
        return perturb(net, 1) if architecture == "lcn" else net

    r = checks.select_exact(ctx_for(tmp_path), build=build, sizes=[(16, 2)])
    assert r.status == "fail"
    assert {c.get("architecture") for c in r.evidence["counterexamples"]} == {"lcn"}


def test_select_planted_wrong_support_fails_receptive_field(tmp_path):
    def build(d, support, s=2, architecture="cnn"):
        shifted = [(i + 1) % d for i in support]
        return theory.select(d, shifted, s, architecture)

    r = checks.select_exact(ctx_for(tmp_path), build=build, sizes=[(16, 2)])
    assert r.status == "fail" and r.observed["violations"] > 0
    from checks.ww._select import select_violations  # the kept counterexamples are invariant ones; all kinds:

    net = build(16, [0, 15], 2)
    v, _ = select_violations(net, 16, 2, [0, 15], [Fraction(i + 1) for i in range(16)], {})
    assert any(c.get("what") == "receptive_field" for c in v)


@pytest.mark.parametrize(
    "arch, wrong",
    [
        ("cnn", lambda d, k, s: 2 * k * s + (checks.ww._params.tree_depth(d, s) - 1) * 4 * k * k),  # lost factor s
        ("lcn", lambda d, k, s: checks.lcn_formula(d, k, s) + 1),
        ("fcn", lambda d, k, s: checks.cnn_formula(d, k, s) * d),
    ],
)
def test_params_wrong_formula_fails(arch, wrong, tmp_path):
    formulas = {**checks.FORMULAS, arch: wrong}
    r = checks.select_params(ctx_for(tmp_path, claim_id="ww.select.params"), formulas=formulas)
    assert r.status == "fail"
    cx = r.evidence["counterexamples"]
    assert cx and all(c["architecture"] == arch and c["got"] != c["want"] for c in cx)


def test_params_planted_growth_fails(tmp_path):
    def build(d, support, s=2, architecture="cnn"):  # an "LCN" that is secretly the CNN: count Theta(log d)
        return theory.select(d, support, s, "cnn" if architecture == "lcn" else architecture)

    formulas = {**checks.FORMULAS, "lcn": checks.cnn_formula}
    r = checks.select_params(ctx_for(tmp_path, claim_id="ww.select.params"), build=build, formulas=formulas)
    assert r.status == "fail"
    whats = {c["what"] for c in r.evidence["counterexamples"]}
    assert "log-log slope" in whats and "layer kinds" in whats


def test_params_formulas_match_paper_examples():
    # 2ks + (L-1) 4k^2 s (docs/catalogue.md): s=2, L=10, k=3 -> 660; s=3, L=6, k=4 -> 984; s=5, L=4, k=2 -> 260
    assert checks.cnn_formula(2**10, 3, 2) == 660
    assert checks.cnn_formula(3**6, 4, 3) == 984
    assert checks.cnn_formula(5**4, 2, 5) == 260


def test_receptive_planted_dilation_fails(tmp_path):
    def dilated(weights, x, s):
        h = x.reshape(1, 1, -1)
        for w in weights:
            h = torch.relu(F.conv1d(F.pad(h, (2 * (s - 1), 0)), w, stride=1, dilation=2))
        return h[0, 0, -1]

    r = checks.receptive_stride1(ctx_for(tmp_path, claim_id="ww.receptive.stride1"), forward=dilated, cases=[(16, 2)])
    assert r.status == "fail" and r.evidence["counterexamples"]
    assert r.observed["stride-1 vs tree depth"]["d=16,s=2"][0] != 15  # dilation 2 never reaches x_0 from x_15


def test_receptive_planted_tree_fails(tmp_path):
    build = lambda d, support, s=2: theory.select(d, [1, d - 2], s)
    r = checks.receptive_stride1(ctx_for(tmp_path, claim_id="ww.receptive.stride1"), build=build, cases=[(16, 2)])
    assert r.status == "fail"
    assert {c["what"] for c in r.evidence["counterexamples"]} >= {"receptive_field", "root output"}
