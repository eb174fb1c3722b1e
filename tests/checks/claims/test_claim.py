"""The claim model of checks (checks.claims): Claim, Result and Context validation, JSON round trips, running a
check (exceptions and inconsistent results become "unknown")."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import checks
from checks import ChecksError, Claim, Context, Result
from tests.checks.helpers import ctx_for, make_claim, ok_check, raising_check


# ----------------------------------------------------------------------------------------------- model
@pytest.mark.parametrize("bad_id", ["", "ww", "Ww.x", "ww..x", "ww.x y", ".ww.x", "ww.x.", "1w.x", 3, None])
def test_claim_rejects_bad_ids(bad_id):
    with pytest.raises(ChecksError, match="argument 'id'"):
        make_claim(bad_id)


@pytest.mark.parametrize(
    "field, value, arg",
    [
        ("kind", "proof", "kind"),
        ("statement", " ", "statement"),
        ("source", "", "source"),
        ("cost", {"quick": 1.0}, "cost"),
        ("cost", {"quick": -1, "full": 1}, "cost"),
        ("cost", {"quick": float("nan"), "full": 1}, "cost"),
        ("check", "not callable", "check"),
    ],
)
def test_claim_validates_fields(field, value, arg):
    kw = dict(id="t.x", statement="s", source="src", kind="exact", cost={"quick": 1, "full": 2}, check=ok_check)
    kw[field] = value
    with pytest.raises(ChecksError, match=f"argument '{arg}'"):
        Claim(**kw)


@pytest.mark.parametrize(
    "kw, arg",
    [
        ({"status": "passed"}, "status"),
        ({"status": "pass", "tolerance": "approx"}, "tolerance"),
        ({"status": "pass", "tolerance": "rate:nope"}, "tolerance"),
        ({"status": "pass", "seconds": -1.0}, "seconds"),
        ({"status": "pass", "seconds": math.inf}, "seconds"),
        ({"status": "pass", "evidence": [1]}, "evidence"),
        ({"status": "pass", "observed": object()}, "value"),
        ({"status": "pass", "note": 3}, "note"),
    ],
)
def test_result_validates_fields(kw, arg):
    with pytest.raises(ChecksError, match=f"argument '{arg}'"):
        Result(**kw)


@pytest.mark.parametrize(
    "kw, arg",
    [
        ({"profile": "medium"}, "profile"),
        ({"seed": -1}, "seed"),
        ({"seed": True}, "seed"),
        ({"progress": 3}, "progress"),
    ],
)
def test_context_validates_fields(kw, arg, tmp_path):
    with pytest.raises(ChecksError, match=f"argument '{arg}'"):
        Context(out_dir=tmp_path, **kw)


def test_result_accepts_named_tolerances():
    for tol in (None, "exact", "routing_exact", "float64_affine", "rate:param_count_slope"):
        assert Result("pass", tolerance=tol).tolerance == tol


def test_jsonable_and_round_trip():
    r = Result(
        "fail",
        observed={"q": Fraction(1, 3), "t": (1, 2), "nan": float("nan"), "np": torch.tensor(2).item()},
        expected=[Fraction(2)],
        tolerance="routing_exact",
        evidence={"cx": [{"level": 2}]},
        seconds=0.5,
        note="n",
    )
    assert r.observed == {"q": "1/3", "t": [1, 2], "nan": "nan", "np": 2}
    again = Result.from_json(json.loads(json.dumps(r.to_json(), allow_nan=False)))
    assert again == r
    with pytest.raises(ChecksError, match="argument 'obj'"):
        Result.from_json({"status": "pass"})


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.floats(allow_nan=True, allow_infinity=True),
    st.fractions(max_denominator=10**6),
)
JSONISH = st.recursive(
    JSON_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.tuples(inner, inner), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    observed=JSONISH,
    evidence=st.dictionaries(st.text(max_size=6), JSONISH, max_size=3),
    status=st.sampled_from(checks.STATUSES),
)
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
