"""Tests of the checks package: claim model, registry, every real claim, planted violations, the CLI."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
import torch.nn.functional as F

import checks
import theory
from checks import ChecksError, Claim, Context, Registry, Result

ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------------------------- helpers
def ok_check(ctx: Context) -> Result:
    return Result("pass", observed={"x": 1}, expected={"x": 1}, tolerance="exact")


def fail_check(ctx: Context) -> Result:
    return Result("fail", observed={"x": 2}, expected={"x": 1}, tolerance="exact",
                  evidence={"counterexamples": [{"x": 2}]})


def raising_check(ctx: Context) -> Result:
    raise RuntimeError("boom")


def make_claim(id: str = "t.ok", check=ok_check, kind: str = "exact") -> Claim:
    return Claim(id, "a statement", "test source (reconstruction)", kind, {"quick": 0.1, "full": 0.1}, check)


def ctx_for(tmp_path: Path, **kw) -> Context:
    return Context(profile=kw.pop("profile", "quick"), seed=kw.pop("seed", 0), out_dir=tmp_path, **kw)


def perturb(net: theory.Network, layer_index: int, delta: Fraction = Fraction(1, 10**9), entry: int = 0
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


def run_main(argv, registry=None):
    out, err = io.StringIO(), io.StringIO()
    code = checks.main(argv, registry=registry, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


# ----------------------------------------------------------------------------------------------- model
@pytest.mark.parametrize("bad_id", ["", "ww", "Ww.x", "ww..x", "ww.x y", ".ww.x", "ww.x.", "1w.x", 3, None])
def test_claim_rejects_bad_ids(bad_id):
    with pytest.raises(ChecksError, match="argument 'id'"):
        make_claim(bad_id)


@pytest.mark.parametrize("field, value, arg", [
    ("kind", "proof", "kind"), ("statement", " ", "statement"), ("source", "", "source"),
    ("cost", {"quick": 1.0}, "cost"), ("cost", {"quick": -1, "full": 1}, "cost"),
    ("cost", {"quick": float("nan"), "full": 1}, "cost"), ("check", "not callable", "check"),
])
def test_claim_validates_fields(field, value, arg):
    kw = dict(id="t.x", statement="s", source="src", kind="exact", cost={"quick": 1, "full": 2}, check=ok_check)
    kw[field] = value
    with pytest.raises(ChecksError, match=f"argument '{arg}'"):
        Claim(**kw)


@pytest.mark.parametrize("kw, arg", [
    ({"status": "passed"}, "status"), ({"status": "pass", "tolerance": "approx"}, "tolerance"),
    ({"status": "pass", "tolerance": "rate:nope"}, "tolerance"), ({"status": "pass", "seconds": -1.0}, "seconds"),
    ({"status": "pass", "seconds": math.inf}, "seconds"), ({"status": "pass", "evidence": [1]}, "evidence"),
    ({"status": "pass", "observed": object()}, "value"), ({"status": "pass", "note": 3}, "note"),
])
def test_result_validates_fields(kw, arg):
    with pytest.raises(ChecksError, match=f"argument '{arg}'"):
        Result(**kw)


@pytest.mark.parametrize("kw, arg", [({"profile": "medium"}, "profile"), ({"seed": -1}, "seed"),
                                     ({"seed": True}, "seed"), ({"progress": 3}, "progress")])
def test_context_validates_fields(kw, arg, tmp_path):
    with pytest.raises(ChecksError, match=f"argument '{arg}'"):
        Context(out_dir=tmp_path, **kw)


def test_result_accepts_named_tolerances():
    for tol in (None, "exact", "routing_exact", "float64_affine", "rate:param_count_slope"):
        assert Result("pass", tolerance=tol).tolerance == tol


def test_jsonable_and_round_trip():
    r = Result("fail", observed={"q": Fraction(1, 3), "t": (1, 2), "nan": float("nan"), "np": torch.tensor(2).item()},
               expected=[Fraction(2)], tolerance="routing_exact", evidence={"cx": [{"level": 2}]}, seconds=0.5,
               note="n")
    assert r.observed == {"q": "1/3", "t": [1, 2], "nan": "nan", "np": 2}
    again = Result.from_json(json.loads(json.dumps(r.to_json(), allow_nan=False)))
    assert again == r
    with pytest.raises(ChecksError, match="argument 'obj'"):
        Result.from_json({"status": "pass"})


JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8),
                        st.floats(allow_nan=True, allow_infinity=True),
                        st.fractions(max_denominator=10**6))
JSONISH = st.recursive(JSON_LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=4),
                       st.tuples(inner, inner), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                       max_leaves=12)


@given(observed=JSONISH, evidence=st.dictionaries(st.text(max_size=6), JSONISH, max_size=3),
       status=st.sampled_from(checks.STATUSES))
def test_result_json_round_trip_property(observed, evidence, status):
    r = Result(status, observed=observed, expected=observed, tolerance="exact", evidence=evidence)
    text = json.dumps(r.to_json(), allow_nan=False)  # strict JSON: non-finite floats became strings
    assert Result.from_json(json.loads(text)) == r


def test_context_streams_are_seeded(tmp_path):
    a, b = ctx_for(tmp_path, seed=3), ctx_for(tmp_path, seed=3)
    assert a.rng("x").random() == b.rng("x").random()
    assert a.np_rng("x").random() == b.np_rng("x").random()
    assert a.rng("x").random() != ctx_for(tmp_path, seed=4).rng("x").random()
    assert a.rng("x").random() != a.rng("y").random()


# ----------------------------------------------------------------------------------------------- registry
def test_registry_rejects_duplicates_and_non_claims():
    reg = Registry([make_claim("t.a")])
    mutated = make_claim("t.m")
    object.__setattr__(mutated, "id", "Bad Id")
    with pytest.raises(ChecksError, match="argument 'claim.id'"):
        reg.register(mutated)
    with pytest.raises(ChecksError, match="already registered|not yet registered"):
        reg.register(make_claim("t.a"))
    with pytest.raises(ChecksError, match="argument 'claim'"):
        reg.register("t.b")
    assert reg.ids() == ["t.a"] and len(reg) == 1 and "t.a" in reg


def test_registry_pattern_selection():
    reg = Registry([make_claim(i) for i in ("ww.select.exact", "ww.select.params", "ww.gather.exact", "duat.E1")])
    assert [c.id for c in reg.select("ww.select.*")] == ["ww.select.exact", "ww.select.params"]
    assert [c.id for c in reg.select("*.exact")] == ["ww.select.exact", "ww.gather.exact"]
    assert len(reg.select(None)) == 4 and len(reg.select("*")) == 4
    assert reg.select("nothing.*") == []
    assert reg.select("duat.e1") == []  # case-sensitive
    with pytest.raises(ChecksError, match="argument 'pattern'"):
        reg.select("")
    with pytest.raises(ChecksError, match="argument 'id'"):
        reg["missing.id"]


def test_registry_decorator():
    reg = Registry()

    @reg.claim("t.deco", "s", "src", "exact", {"quick": 0, "full": 0})
    def check(ctx):
        return Result("pass")

    assert reg.ids() == ["t.deco"] and reg["t.deco"].check is check


def test_default_registry_has_catalogue_ids():
    assert checks.REGISTRY.ids() == ["ww.gather.exact", "ww.universality.depth", "ww.select.exact",
                                     "ww.select.params", "ww.receptive.stride1",
                                     "ww.sample.cnn", "ww.sample.lcn", "ww.sample.fcn", "ww.equivariance.fcn",
                                     "ww.equivariance.lcn", "ww.equivariance.cnn",
                                     "ww.select.proved", "ww.sparse.approx", "lemma.yarotsky.square", "cert.planted",
                                     "num.routing.scale", "num.head.bound", "num.sparse.scale"] + [
                                     f"duat.E{i}" for i in range(1, 23)] + ["duat.E17.causal", "duat.E16.necessity"]
    for c in checks.REGISTRY:
        if c.id.startswith("ww."):  # our constructions, not the papers' proofs
            assert "reconstruction" in c.source


# ----------------------------------------------------------------------------------------------- running
def test_raising_check_is_unknown(tmp_path):
    r = make_claim("t.raise", raising_check).run(ctx_for(tmp_path))
    assert r.status == "unknown"
    assert r.evidence["exception"] == "RuntimeError" and r.evidence["message"] == "boom"
    assert "Traceback" in r.evidence["traceback"]


def test_non_result_and_inconsistent_status_are_unknown(tmp_path):
    assert make_claim("t.none", lambda ctx: None).run(ctx_for(tmp_path)).status == "unknown"
    nt = lambda ctx: Result("not-testable", note="why")
    assert make_claim("t.nt", nt).run(ctx_for(tmp_path)).status == "unknown"  # an exact claim cannot be not-testable
    assert make_claim("t.nt", nt, kind="not-testable").run(ctx_for(tmp_path)).status == "not-testable"
    assert make_claim("t.p", ok_check, kind="not-testable").run(ctx_for(tmp_path)).status == "unknown"


def test_run_measures_seconds_and_sets_claim_id(tmp_path):
    seen = []

    def check(ctx):
        seen.append(ctx.claim_id)
        return Result("pass", seconds=123.0)

    r = make_claim("t.time", check).run(ctx_for(tmp_path))
    assert seen == ["t.time"] and r.seconds < 123.0


SLOW_QUICK_COST = 30.0
"""Claims whose quick profile costs more than this (seconds; the separation sweep) run only with ``-m slow``
here; CI still runs them through ``python -m checks --profile quick``."""


@pytest.mark.parametrize("claim_id", [
    pytest.param(cid, marks=pytest.mark.slow) if checks.REGISTRY[cid].cost["quick"] > SLOW_QUICK_COST else cid
    for cid in checks.REGISTRY.ids()])
def test_every_real_claim_passes_quick(claim_id, tmp_path):
    claim = checks.REGISTRY[claim_id]
    r = claim.run(ctx_for(tmp_path))
    assert r.status == ("not-testable" if claim.kind == "not-testable" else "pass"), r.evidence
    if r.status == "not-testable":
        assert r.note, "a not-testable claim gives its reason"
    assert r.evidence.get("counterexamples", []) == []
    for name in r.evidence.get("plots", []):
        assert (tmp_path / name).stat().st_size > 1000


def test_claims_are_deterministic(tmp_path):
    a = checks.select_exact(ctx_for(tmp_path / "a", seed=5, claim_id="ww.select.exact"), sizes=[(16, 2), (27, 3)])
    b = checks.select_exact(ctx_for(tmp_path / "b", seed=5, claim_id="ww.select.exact"), sizes=[(16, 2), (27, 3)])
    assert dataclasses.replace(a, seconds=0) == dataclasses.replace(b, seconds=0)


# ----------------------------------------------------------------------------------------------- planted violations
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


@pytest.mark.parametrize("arch, wrong", [
    ("cnn", lambda d, k, s: 2 * k * s + (checks.ww._params.tree_depth(d, s) - 1) * 4 * k * k),  # lost factor s
    ("lcn", lambda d, k, s: checks.lcn_formula(d, k, s) + 1),
    ("fcn", lambda d, k, s: checks.cnn_formula(d, k, s) * d),
])
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
    # shared/papers/wang_wu_2023.md section 4.2: s=2, L=10, k=3 -> 660; s=3, L=6, k=4 -> 984; s=5, L=4, k=2 -> 260
    assert checks.cnn_formula(2**10, 3, 2) == 660
    assert checks.cnn_formula(3**6, 4, 3) == 984
    assert checks.cnn_formula(5**4, 2, 5) == 260


def test_receptive_planted_dilation_fails(tmp_path):
    def dilated(weights, x, s):
        h = x.reshape(1, 1, -1)
        for w in weights:
            h = torch.relu(F.conv1d(F.pad(h, (2 * (s - 1), 0)), w, stride=1, dilation=2))
        return h[0, 0, -1]
    r = checks.receptive_stride1(ctx_for(tmp_path, claim_id="ww.receptive.stride1"), forward=dilated,
                                 cases=[(16, 2)])
    assert r.status == "fail" and r.evidence["counterexamples"]
    assert r.observed["stride-1 vs tree depth"]["d=16,s=2"][0] != 15  # dilation 2 never reaches x_0 from x_15


def test_receptive_planted_tree_fails(tmp_path):
    build = lambda d, support, s=2: theory.select(d, [1, d - 2], s)
    r = checks.receptive_stride1(ctx_for(tmp_path, claim_id="ww.receptive.stride1"), build=build, cases=[(16, 2)])
    assert r.status == "fail"
    assert {c["what"] for c in r.evidence["counterexamples"]} >= {"receptive_field", "root output"}


def test_loglog_slope():
    xs = [2.0**i for i in range(4, 10)]
    assert checks.loglog_slope(xs, [3 * x**2 for x in xs]) == pytest.approx(2.0, abs=1e-12)
    assert checks.RATE_BANDS["param_count_slope"].ok(1.02, 1.0)
    assert not checks.RATE_BANDS["param_count_slope"].ok(float("nan"), 1.0)
    for xs_, ys_ in (([1.0], [1.0]), ([1.0, 2.0], [1.0, -2.0]), ([2.0, 2.0], [1.0, 3.0]), ([1.0, 2.0], [1.0])):
        with pytest.raises(ChecksError):
            checks.loglog_slope(xs_, ys_)


# ----------------------------------------------------------------------------------------------- CLI
def test_main_exit_codes_and_report(tmp_path):
    good = Registry([make_claim("t.ok")])
    bad = Registry([make_claim("t.ok"), make_claim("t.fail", fail_check)])
    raising = Registry([make_claim("t.raise", raising_check)])
    code, out, err = run_main(["--out", str(tmp_path / "r0")], good)
    assert code == 0 and "t.ok" in out and "[1/1] t.ok: running" in err and "[1/1] t.ok: pass" in err
    assert run_main(["--out", str(tmp_path / "r1")], bad)[0] == 1
    assert run_main(["--out", str(tmp_path / "r2")], raising)[0] == 1
    doc, runs = checks.load_document(tmp_path / "r1" / "report.json")
    assert doc["schema_version"] == checks.SCHEMA_VERSION and doc["exit_code"] == 1
    assert [r.status for _, r in runs] == ["pass", "fail"]
    assert runs[1][1].evidence["counterexamples"] == [{"x": 2}]
    md = (tmp_path / "r1" / "report.md").read_text()
    assert "t.fail: fail" in md and "seed: 0" in md and "torch" in md
    # round trip: the JSON results equal the Results that produced them
    r = bad["t.fail"].run(ctx_for(tmp_path))
    assert dataclasses.replace(runs[1][1], seconds=0) == dataclasses.replace(r, seconds=0)


def test_main_usage_errors(tmp_path):
    reg = Registry([make_claim("t.ok")])
    assert run_main(["--profile", "medium"], reg)[0] == 2
    code, _, err = run_main(["--only", "nothing.*", "--out", str(tmp_path / "x")], reg)
    assert code == 2 and "nothing.*" in err and not (tmp_path / "x").exists()
    (tmp_path / "exists").mkdir()
    code, _, err = run_main(["--out", str(tmp_path / "exists")], reg)
    assert code == 2 and "--force" in err
    assert run_main(["--seed", "-1", "--out", str(tmp_path / "y")], reg)[0] == 2
    assert run_main(["--seed", "abc"], reg)[0] == 2
    assert run_main(["--bogus"], reg)[0] == 2
    assert run_main(["--help"], reg)[0] == 0
    # --force replaces the directory atomically; nothing else is left next to it
    assert run_main(["--out", str(tmp_path / "exists"), "--force"], reg)[0] == 0
    assert (tmp_path / "exists" / "report.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists"]


def test_main_list_and_only(tmp_path):
    reg = Registry([make_claim("a.one"), make_claim("a.two"), make_claim("b.one")])
    code, out, _ = run_main(["--list", "--only", "a.*"], reg)
    assert code == 0 and "a.one" in out and "a.two" in out and "b.one" not in out
    code, out, _ = run_main(["--only", "*.one", "--out", str(tmp_path / "r")], reg)
    doc, runs = checks.load_document(tmp_path / "r" / "report.json")
    assert [i["id"] for i, _ in runs] == ["a.one", "b.one"]


def _cli(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "checks", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_subprocess_list_and_bad_usage(tmp_path):
    res = _cli("--list")
    assert res.returncode == 0 and all(i in res.stdout for i in checks.REGISTRY.ids())
    res = _cli("--profile", "bogus")
    assert res.returncode == 2 and "--profile" in res.stderr


def test_cli_subprocess_run_writes_report(tmp_path):
    res = _cli("--only", "ww.select.*", "--out", str(tmp_path / "rep"), "--seed", "7")
    assert res.returncode == 0, res.stderr
    files = sorted(p.name for p in (tmp_path / "rep").iterdir())
    assert "report.md" in files and "report.json" in files and "ww.select.params.param_counts.png" in files
    doc, runs = checks.load_document(tmp_path / "rep" / "report.json")
    assert doc["seed"] == 7 and [i["id"] for i, _ in runs] == ["ww.select.exact", "ww.select.params",
                                                                "ww.select.proved"]
    assert "ww.select.params" in res.stdout and "pass" in res.stdout
    assert "![ww.select.params" in (tmp_path / "rep" / "report.md").read_text()


def test_cli_default_out_never_collides(tmp_path):
    for _ in range(2):
        assert _cli("--only", "ww.universality.depth", cwd=tmp_path).returncode == 0
    made = sorted((tmp_path / "reports").iterdir())
    assert len(made) == 2 and all(p.name.startswith("checks-") for p in made)
    assert all((p / "report.json").is_file() for p in made)
