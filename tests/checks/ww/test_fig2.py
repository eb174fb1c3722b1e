"""ww.fig2.cnn_learns_sparse: the declared criterion on planted error tables, and the quick profile's run."""

from __future__ import annotations

import math

import pytest

import checks
from checks import Context
from checks.ww._fig2 import BASELINE_MIN, CNN_LEARNS_SPARSE, CNN_MAX, MODELS, verdict

SHORT, LONG = "short x0*x1", "long x0*x4095"


def _table(cnn, fcn2=(1.1, 1.1), ols=(1.1, 1.1), lcn=(1.0, 1.0)):
    """Per-seed errors: two seeds per model, the two targets given as (short, long) means."""
    return {
        m: {SHORT: [v[0], v[0]], LONG: [v[1], v[1]]}
        for m, v in (("cnn", cnn), ("lcn", lcn), ("fcn2", fcn2), ("ols", ols))
    }


def test_paper_outcome_passes():
    status, crit = verdict(_table(cnn=(0.02, 0.05)))
    assert status == "pass" and all(crit.values()) and len(crit) == 6


@pytest.mark.parametrize(
    "table,bad",
    [
        (_table(cnn=(0.02, 0.5)), f"cnn mean test error <= {CNN_MAX} on {LONG}"),  # long range not learned
        (_table(cnn=(1.01, 1.0)), f"cnn mean test error <= {CNN_MAX} on {SHORT}"),  # the measured regime
        (_table(cnn=(0.02, 0.05), fcn2=(0.3, 1.1)), f"fcn2 mean test error >= {BASELINE_MIN} on {SHORT}"),
        (_table(cnn=(0.02, 0.05), ols=(1.1, 0.2)), f"ols mean test error >= {BASELINE_MIN} on {LONG}"),
    ],
)
def test_planted_misses_fail(table, bad):
    status, crit = verdict(table)
    assert status == "fail" and crit[bad] is False


def test_criterion_is_on_the_mean_at_the_boundary():
    t = _table(cnn=(CNN_MAX, CNN_MAX), fcn2=(BASELINE_MIN, BASELINE_MIN))
    assert verdict(t)[0] == "pass"
    t["cnn"][SHORT] = [0.0, 2 * CNN_MAX + 1e-9]  # mean just above the bound
    assert verdict(t)[0] == "fail"


def test_lcn_is_measured_only():
    assert verdict(_table(cnn=(0.02, 0.05), lcn=(5.0, 5.0)))[0] == "pass"


def test_diverged_run_is_unknown_not_pass():
    t = _table(cnn=(0.02, 0.05))
    t["ols"][LONG] = [math.nan, 1.0]
    status, crit = verdict(t)
    assert status == "unknown" and crit[f"ols mean test error >= {BASELINE_MIN} on {LONG}"] is None


def test_quick_profile_runs_and_reports_every_model(tmp_path):
    """The quick profile (d = 256, seeds 0 and 1) decides (pass or fail, by the declared criterion on its own
    measured table) and reports mean / min / max / per-seed figures for every model and target."""
    r = CNN_LEARNS_SPARSE.run(Context(profile="quick", out_dir=tmp_path))
    assert r.status in ("pass", "fail"), r.evidence
    table = r.observed["test_rel"]
    assert set(table) == set(MODELS) and r.observed["d"] == 256 and r.observed["seeds"] == [0, 1]
    for model in MODELS:
        assert set(table[model]) == {SHORT, "long x0*x255"}
        for row in table[model].values():
            assert len(row["per_seed"]) == 2 and row["min"] <= row["mean"] <= row["max"]
    per_seed = {m: {t: row["per_seed"] for t, row in table[m].items()} for m in MODELS}
    assert verdict(per_seed) == (r.status, r.observed["criteria"])
    if r.status == "fail":
        assert "not reproduced" in r.note


def test_in_the_default_catalogue_with_its_finding():
    """In the catalogue, after the sample-complexity claims, with the measured fail recorded for both profiles."""
    ids = checks.REGISTRY.ids()
    assert ids.index("ww.fig2.cnn_learns_sparse") == ids.index("ww.sample.fcn") + 1
    assert set(CNN_LEARNS_SPARSE.findings) == {"quick", "full"}
