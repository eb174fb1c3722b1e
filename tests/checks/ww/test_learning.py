"""The learning claims' verdicts (ww.sample.*) on planted sweeps, and the equivariance claims' checks."""

from __future__ import annotations

import math

import pytest

from checks import Context
from checks.ww._learning import _less, equivariance_cnn, sample_result
from numerics import SweepConfig, run_separation
from tests.numerics.learning import fake_evaluator as _fake_sep


@pytest.mark.parametrize(
    "a,b,expected",
    [
        (1.0, 2.0, True),
        (2.0, 1.0, False),
        (1.0, math.inf, True),
        (math.inf, 5.0, False),
        (math.inf, math.inf, None),
        (math.nan, 1.0, None),
    ],
)
def test_less_treats_censored_as_larger(a, b, expected):
    assert _less(a, b) is expected


def _summary(tmp_path, planted, ds=(8, 16, 32, 64), n_max=2**14):
    old = dict(_fake_sep.PLANTED)
    _fake_sep.PLANTED.update(planted)
    try:
        config = SweepConfig(
            "patch-quadratic",
            ds=ds,
            seeds=(0, 1, 2),
            lrs=(0.1,),
            n_min=8,
            n_max=n_max,
            resolution=0.05,
            bootstrap_reps=200,
            train={"fake_sigma": 0.05},
            evaluator=_fake_sep.EVALUATOR,
            fit_d_min=16,
        )
        return run_separation(config, tmp_path / "sweep", executor="serial", progress=False, plots=False)
    finally:
        _fake_sep.PLANTED.clear()
        _fake_sep.PLANTED.update(old)


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_paper_rates_pass(tmp_path, profile):
    summary = _summary(tmp_path, {"cnn": (20.0, 0.3), "lcn": (4.0, 1.0), "fcn": (0.5, 2.0)})
    ctx = Context(profile=profile, out_dir=tmp_path)
    for arch in ("cnn", "lcn", "fcn"):
        r = sample_result(ctx, arch, summary)
        assert r.status == "pass", (arch, r.observed["criteria"])


def test_planted_cnn_without_sharing_advantage_fails(tmp_path):
    """A CNN whose n* grows like the LCN's must fail ww.sample.cnn in the full profile (slope window)."""
    summary = _summary(tmp_path, {"cnn": (2.0, 1.0), "lcn": (4.0, 1.0), "fcn": (0.5, 2.0)})
    r = sample_result(Context(profile="full", out_dir=tmp_path), "cnn", summary)
    assert r.status == "fail" and r.observed["criteria"]["cnn slope <= 0.5 lcn slope"] is False


def test_planted_wrong_ordering_fails_in_quick(tmp_path):
    summary = _summary(tmp_path, {"cnn": (20.0, 0.3), "lcn": (0.5, 2.0), "fcn": (4.0, 1.0)})
    ctx = Context(profile="quick", out_dir=tmp_path)
    assert sample_result(ctx, "fcn", summary).status == "fail"
    assert sample_result(ctx, "lcn", summary).status == "fail"


def test_censored_everywhere_is_unknown_not_pass(tmp_path):
    """LCN and FCN both censored above n_max at the largest d: their order cannot be decided."""
    summary = _summary(
        tmp_path, {"cnn": (2.0, 0.0), "lcn": (64.0, 1.0), "fcn": (64.0, 2.0)}, ds=(8, 16, 32), n_max=1024
    )
    r = sample_result(Context(profile="quick", out_dir=tmp_path), "fcn", summary)
    assert r.status == "unknown"


def test_equivariance_claim_passes(tmp_path):
    r = equivariance_cnn(Context(profile="quick", out_dir=tmp_path))
    assert r.status == "pass"
    assert r.observed["max_rel_diff"] < 1e-9 < 1e-2 < r.observed["cnn_independent_blocks_min_rel_diff"]
    assert r.observed["planted_untransformed_init_rel_diff"] > 1e-2


def test_sample_claims_refuse_a_non_equivariant_optimizer(tmp_path, monkeypatch):
    """The rate windows are the equivariance lower bounds': a sweep with per-coordinate Adam is refused before
    any point is run (nothing is written)."""
    import checks.ww._learning as learning
    from numerics import NumericsError, separation_config

    monkeypatch.setattr(
        learning,
        "separation_config",
        lambda task, profile, **kw: separation_config(task, profile, train={"optimizer": "adam"}, **kw),
    )
    with pytest.raises(NumericsError, match="'optimizer'.*ww.sample"):
        learning.sweep(Context(profile="quick", out_dir=tmp_path / "r"))
    assert not (tmp_path / "r").exists()
    with pytest.raises(NumericsError, match="'optimizer'.*ww.equivariance.cnn"):
        equivariance_cnn(Context(profile="quick", out_dir=tmp_path))
