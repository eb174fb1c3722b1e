"""Separation sweep infrastructure: threshold search, rate fits, results store, executors, driver, CLI.

Every sweep here uses the fake evaluator of fake_evaluator.py next to this file (a planted n*(d) = c d^a, no
training), so the expected n* and slopes are known independently of the code under test.
"""

from __future__ import annotations

import argparse
import json
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import theory
from numerics._errors import NumericsError
from numerics.learning._cli import add_parser, run
from numerics.learning._config import SweepConfig, separation_config
from numerics.learning._executors import make_executor
from numerics.learning._fit import bootstrap_fit, interpolate_n_star, log2_fit, loglog_fit, ratio_fit
from numerics.learning._store import POINTS_FILE, SweepStore
from numerics.learning._sweep import run_separation
from numerics.learning._threshold import ThresholdSearch
from tests.numerics.learning import fake_evaluator as _fake_sep

EXACT = 1e-12  # float64 relative tolerance for identities that hold exactly in real arithmetic
FAKE = _fake_sep.EVALUATOR
FAIL = _fake_sep.FAILING


def _config(**kw) -> SweepConfig:
    base = dict(
        ds=(4, 8, 16), evaluator=FAKE, bootstrap_reps=200, resolution=0.0, n_min=4, n_max=2048, stop_ratio=None
    )  # exact integer bisection: n* is checked against a brute-force scan
    return separation_config("patch-quadratic", "quick", **{**base, **kw})


def _search(threshold: int, n_min: int, n_max: int, resolution: float) -> ThresholdSearch:
    s = ThresholdSearch(n_min, n_max, resolution)
    seen = []
    while (n := s.next_n()) is not None:
        assert n_min <= n <= n_max and n not in seen
        seen.append(n)
        s.record(n, n >= threshold)
    return s


# ---------------------------------------------------------------- threshold search


def test_search_finds_planted_threshold_exactly():
    s = _search(137, 1, 10_000, 0.0)
    assert s.result == 137 and s.censored is None
    assert len(s.history) <= 2 * math.ceil(math.log2(10_000))  # geometric + bisection: logarithmic


@given(t=st.integers(1, 5000), n_min=st.integers(1, 64), res=st.sampled_from([0.0, 0.05, 0.25, 1.0]))
def test_search_within_resolution(t, n_min, res):
    s = _search(t, n_min, 4096, res)
    if t > 4096:
        assert s.result is None and s.censored == "above"
    elif t <= n_min:
        assert s.result == n_min and s.censored == "below"
    else:
        assert t <= s.result and (s.result < (1 + res) * t if res else s.result == t)
        assert s.censored is None


@given(t=st.integers(1, 5000), n_min=st.integers(1, 64), res=st.sampled_from([0.0, 0.05, 0.25, 1.0]))
def test_remaining_bound_is_an_upper_bound(t, n_min, res):
    """The progress total: at every step, remaining_bound() >= the evaluations the search actually still makes."""
    s = ThresholdSearch(n_min, 4096, res)
    bounds = []
    while (n := s.next_n()) is not None:
        bounds.append(s.remaining_bound())
        s.record(n, n >= t)
    assert all(b >= len(bounds) - i for i, b in enumerate(bounds)) and s.remaining_bound() == 0


def test_search_replay_and_misuse():
    s = _search(50, 3, 1000, 0.0)
    replay = ThresholdSearch(3, 1000, 0.0)
    for n, passed in s.history:
        assert replay.next_n() == n
        replay.record(n, passed)
    assert replay.result == s.result == 50 and replay.done
    with pytest.raises(NumericsError, match="already finished"):
        replay.record(50, True)
    with pytest.raises(NumericsError, match="'n'"):
        ThresholdSearch(3, 1000).record(4, True)


@pytest.mark.parametrize(
    "args, name",
    [
        ((0, 10, 0.0), "n_min"),
        ((5, 4, 0.0), "n_max"),
        ((1.5, 4, 0.0), "n_min"),
        ((1, 4, -0.1), "resolution"),
        ((1, 4, math.nan), "resolution"),
    ],
)
def test_search_bad_arguments(args, name):
    with pytest.raises(NumericsError, match=f"'{name}'"):
        ThresholdSearch(*args)


# ---------------------------------------------------------------- fits


def _planted_points(arch: str, ds, seeds=5, sigma=0.2, seed=0) -> dict:
    """Error curves of the fake on a fine grid of n around its planted threshold."""
    config = {"tau": 0.1, "seeds": list(range(seeds)), "seed": seed, "lrs": [0.1], "train": {"fake_sigma": sigma}}
    out = {}
    for d in ds:
        t = _fake_sep.n_true(arch, d)
        ns = sorted({max(1, round(t * 2 ** (k / 4))) for k in range(-6, 7)})
        out[d] = [(n, _fake_sep.evaluate(config, arch, d, n, device="cpu", dtype="float32")["test_rel"]) for n in ns]
    return out


def test_loglog_and_log2_fits_exact():
    ds = [4.0, 8.0, 32.0, 1024.0]
    fit = loglog_fit(ds, [3.0 * d**1.5 for d in ds])
    assert fit.slope == pytest.approx(1.5, rel=EXACT) and math.exp(fit.intercept) == pytest.approx(3.0, rel=EXACT)
    law = log2_fit(ds, [3.0 + 5.0 * math.log(d) ** 2 for d in ds])
    assert (law["a"], law["b"], law["r2"]) == pytest.approx((3.0, 5.0, 1.0), rel=EXACT)
    assert log2_fit(ds, [5.0 * math.log(d) ** 2 for d in ds])["loglog_slope"] == pytest.approx(2.0, rel=EXACT)


def test_interpolation_exact_on_power_law():
    # errors tau (t / n): log error is linear in log n, so the crossing is exactly t (between grid points)
    tau, t = 0.1, 100.0
    ns = [16, 32, 64, 128, 256]
    interp, grid = interpolate_n_star(ns, [tau * t / n for n in ns], tau)
    assert grid == 128 and interp == pytest.approx(t, rel=EXACT)
    assert interpolate_n_star(ns, [1.0] * 5, tau) == (None, None)
    assert interpolate_n_star(ns, [0.0] * 5, tau) == (16.0, 16)  # first n passes: the grid value
    extra, none = interpolate_n_star([16, 32], [tau * t / 16, tau * t / 32], tau, extrapolate=True)
    assert none is None and extra == pytest.approx(t, rel=EXACT)


@pytest.mark.parametrize("arch, slope", [("cnn", 0.0), ("lcn", 1.0), ("fcn", 2.0)])
def test_bootstrap_recovers_planted_slope(arch, slope):
    fit = bootstrap_fit(_planted_points(arch, [8, 16, 32, 64, 128]), 0.1, 400, seed=1)
    lo, hi = fit["ci"]
    assert lo <= slope <= hi and lo <= fit["slope"] <= hi
    assert hi - lo < 0.5  # an informative interval: lognormal sigma 0.2 on 5 seeds over 4 octaves
    assert fit["reps_used"] == 400 and fit["censored_ds"] == []


def test_bootstrap_interval_misses_a_wrong_law():
    # planted violation: the FCN's slope 2 must fall outside an interval that claims slope 1 is plausible
    fit = bootstrap_fit(_planted_points("fcn", [8, 16, 32, 64]), 0.1, 200, seed=2)
    assert not fit["ci"][0] <= 1.0 <= fit["ci"][1]


def test_ratio_fit_recovers_planted_ratio_slopes():
    ds = [8, 16, 32, 64]
    pts = {a: _planted_points(a, ds) for a in ("cnn", "lcn", "fcn")}
    for num, den, slope in (("lcn", "cnn", 1.0), ("fcn", "lcn", 1.0), ("fcn", "cnn", 2.0)):
        fit = ratio_fit(pts[num], pts[den], 0.1, 200, seed=3)
        assert fit["ci"][0] <= slope <= fit["ci"][1]


def test_fit_degenerate_inputs():
    pts = _planted_points("lcn", [8])
    with pytest.raises(NumericsError, match="need two"):
        bootstrap_fit(pts, 0.1, 10, 0)
    with pytest.raises(NumericsError, match="distinct abscissae"):
        loglog_fit([8, 8], [1.0, 2.0])
    with pytest.raises(NumericsError, match="'n_stars'"):
        loglog_fit([8, 16], [1.0, 0.0])
    with pytest.raises(NumericsError, match="'reps'"):
        bootstrap_fit(_planted_points("lcn", [8, 16]), 0.1, 0, 0)
    ragged = {8: [(10, [0.2, 0.1]), (20, [0.05])], 16: pts[8]}
    with pytest.raises(NumericsError, match="same nonzero number of seeds"):
        bootstrap_fit(ragged, 0.1, 10, 0)


# ---------------------------------------------------------------- store


def test_store_torn_line_and_corruption(tmp_path):
    cfg = {"a": 1}
    store = SweepStore(tmp_path, cfg)
    store.append({"arch": "cnn", "d": 4, "n": 8, "test_rel": [0.5]})
    path = tmp_path / POINTS_FILE
    with open(path, "ab") as fh:
        fh.write(b'{"arch": "cnn", "d": 4, "n": 16, "te')  # a crash in the middle of a write
    with pytest.warns(UserWarning, match="torn last line"):
        store = SweepStore(tmp_path, cfg)
    assert list(store.points) == [("cnn", 4, 8)]
    store.append({"arch": "cnn", "d": 4, "n": 16, "test_rel": [0.1]})
    assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == [8, 16]
    path.write_text('{"arch": "cnn", "d": 4, "n": 8}\nnot json\n{"arch": "cnn", "d": 4, "n": 16}\n')
    with pytest.raises(NumericsError, match="line 2"):
        SweepStore(tmp_path, cfg)
    with pytest.raises(NumericsError, match="configuration"):
        SweepStore(tmp_path, {"a": 2})
    assert SweepStore(tmp_path, {"a": 2}, force=True).points == {} and not path.exists()


# ---------------------------------------------------------------- driver


def _strip(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "timings"}


def _brute_n_star(config: SweepConfig, arch: str, d: int) -> int | None:
    """The smallest n in [n_min, n_max] whose median fake error passes, by scanning every n."""
    cfg = config.to_dict()
    for n in range(config.n_min, config.n_max + 1):
        errs = _fake_sep.evaluate(cfg, arch, d, n, device="cpu", dtype="float32")["test_rel"]
        if np.median(errs) <= config.tau:
            return n
    return None


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    config = _config()
    _fake_sep.CALLS.clear()
    summary = run_separation(config, tmp_path_factory.mktemp("serial") / "out", executor="serial", progress=False)
    return config, summary, list(_fake_sep.CALLS)


def test_serial_sweep_finds_planted_thresholds(serial_run):
    config, summary, calls = serial_run
    assert len(calls) == len(set(calls))
    for arch in config.archs:
        for e in summary["archs"][arch]["per_d"]:
            assert e["status"] == "done" and e["n_star"] == _brute_n_star(config, arch, e["d"])
            assert e["median_test_at_n_star"] <= config.tau
    assert summary["archs"]["fcn"]["fit"]["ci"][0] > summary["archs"]["lcn"]["fit"]["ci"][1]
    assert summary["errors"] == [] and set(summary["plots"]) == {"n_star.png", "cnn_log2.png", "error_curves.png"}


def test_resume_after_interruption(serial_run, tmp_path):
    config, expected, calls = serial_run
    out = tmp_path / "out"
    _fake_sep.CALLS.clear()
    _fake_sep.BUDGET = 17
    try:
        with pytest.raises(KeyboardInterrupt):
            run_separation(config, out, executor="serial", progress=False, plots=False)
    finally:
        _fake_sep.BUDGET = None
    lines = (out / POINTS_FILE).read_text().splitlines()
    assert len(lines) == 17 and all(json.loads(line)["n"] for line in lines)  # nothing half written
    assert sorted(p.name for p in out.iterdir()) == [theory.io.MARKER_FILE, "config.json", POINTS_FILE]
    summary = run_separation(config, out, executor="serial", progress=False)  # with plots, as serial_run
    assert len(_fake_sep.CALLS) == len(set(_fake_sep.CALLS)) == len(calls)  # no point evaluated twice
    assert summary["timings"]["reused"] >= 17 and _strip(summary) == _strip(expected)
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [theory.io.MARKER_FILE]  # no temporary files


def test_progress_shows_done_of_total_and_an_eta(tmp_path, capsys):
    run_separation(
        _config(archs=("cnn", "lcn"), ds=(4, 8)), tmp_path / "out", executor="serial", progress=True, plots=False
    )
    err = capsys.readouterr().err
    shown = [(int(a), int(b)) for a, b in re.findall(r"\| (\d+)/(\d+) \[", err)]
    assert shown and all(done <= total for done, total in shown) and shown[-1][0] == shown[-1][1]
    assert re.search(r"\d+/\d+ \[\d\d:\d\d<\d\d:\d\d", err)  # elapsed < ETA


def test_failed_point_is_reported(tmp_path):
    config = _config(archs=("cnn", "lcn"), train={"fake_fail": ["lcn", 8]})
    summary = run_separation(config, tmp_path / "out", executor="serial", progress=False, plots=False)
    lcn8 = next(e for e in summary["archs"]["lcn"]["per_d"] if e["d"] == 8)
    assert lcn8["status"] == "error" and "planted failure" in lcn8["error"]
    assert [(e["arch"], e["d"]) for e in summary["errors"]] == [("lcn", 8)]
    assert summary["archs"]["lcn"]["fit"]["ds"] == [4, 16]
    assert summary["archs"]["lcn"]["fit"]["excluded_ds"] == [[8, "error"]]
    assert all(e["status"] == "done" for e in summary["archs"]["cnn"]["per_d"])


def test_censored_searches_are_flagged_and_left_out_of_fits(tmp_path):
    config = _config(archs=("cnn", "fcn"), n_min=24, n_max=64)  # cnn n* ~ 20 (below), fcn 8 .. 128 (both ends)
    summary = run_separation(config, tmp_path / "out", executor="serial", progress=False, plots=False)
    for arch in config.archs:
        fit = summary["archs"][arch]["fit"]
        for e in summary["archs"][arch]["per_d"]:
            brute = _brute_n_star(config, arch, e["d"])
            assert e["censored"] == ("above" if brute is None else "below" if brute == config.n_min else None)
            assert e["n_star"] == brute
            if e["censored"] == "below":
                assert any(d == e["d"] and why.startswith("censored below") for d, why in fit["excluded_ds"])
            elif e["censored"] == "above" and "error" not in fit:
                assert e["d"] in fit["censored_ds"]
    assert {e["censored"] for e in summary["archs"]["fcn"]["per_d"]} >= {"below", "above"}  # both cases met


@pytest.mark.parametrize("kind, kw", [("dask", {"workers": 2, "processes": False}), ("local", {"workers": 2})])
def test_parallel_executors_match_serial(serial_run, tmp_path, kind, kw):
    config, expected, _ = serial_run
    summary = run_separation(config, tmp_path / "out", executor=kind, progress=False, plots=False, **kw)
    assert _strip({**summary, "plots": expected["plots"]}) == _strip(expected)


def test_executor_and_run_arguments(tmp_path):
    for call, name in [
        (lambda: make_executor("threads"), "executor"),
        (lambda: make_executor("local", workers=0), "workers"),
        (lambda: make_executor("local", scheduler="tcp://h:8786"), "scheduler"),
        (lambda: make_executor("dask", scheduler="h:8786"), "scheduler"),
        (lambda: run_separation(_config(), tmp_path, dtype="float16"), "dtype"),
        (lambda: run_separation(_config(), tmp_path, device="gpu"), "device"),
        (lambda: run_separation(_config(evaluator="no_such_module:f"), tmp_path), "evaluator"),
    ]:
        with pytest.raises(NumericsError, match=f"'{name}'"):
            call()


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(task="images"), "task"),
        (dict(ds=(4, 12)), "ds"),
        (dict(ds=(8, 4)), "ds"),
        (dict(archs=("cnn", "rnn")), "archs"),
        (dict(seeds=(0, 0)), "seeds"),
        (dict(lrs=(0.1, -1.0)), "lrs"),
        (dict(tau=1.5), "tau"),
        (dict(n_min=0), "n_min"),
        (dict(train={"width": object()}), "train"),
        (dict(bootstrap_reps=0), "bootstrap_reps"),
        (dict(evaluator="nocolon"), "evaluator"),
        (dict(fit_d_min=-1), "fit_d_min"),
    ],
)
def test_config_validation(kw, name):
    with pytest.raises(NumericsError, match=f"'{name}'"):
        SweepConfig(**{"task": "halves", "ds": (4, 8), **kw})


def test_config_profiles_and_round_trip():
    for profile in ("quick", "full"):
        c = separation_config("sparse", profile, train={"width": 3})
        assert SweepConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c and c.train["width"] == 3
    with pytest.raises(NumericsError, match="'profile'"):
        separation_config("sparse", "huge")
    with pytest.raises(NumericsError, match="'overrides'"):
        separation_config("sparse", "quick", depth=3)


# ---------------------------------------------------------------- command line


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    return run(parser.parse_args(["separation", *argv]))


def test_cli(tmp_path, capsys):
    base = [
        "--task",
        "halves",
        "--ds",
        "4,8",
        "--archs",
        "cnn,lcn",
        "--seeds",
        "3",
        "--evaluator",
        FAKE,
        "--executor",
        "serial",
        "--no-progress",
    ]
    assert _cli([*base, "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "interp n*" in out and "lcn:" in out and "log-log slope of n*_lcn / n*_cnn against d" in out
    assert "n*_lcn / n*_cnn (interpolated n*): d=4: " in out
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["config"]["seeds"] == [0, 1, 2]
    assert _cli([*base, "--out", str(tmp_path / "a"), "--tau", "0.2"]) == 2  # another config in the same dir
    assert _cli([*base, "--out", str(tmp_path / "b"), "--ds", "4,9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)
    (tmp_path / "file").write_text("x")
    assert _cli([*base, "--out", str(tmp_path / "file" / "sub")]) == 2  # checked before any point
    assert "is a file" in capsys.readouterr().err
    assert _cli([*base, "--out", str(tmp_path / "c"), "--ds", "4,,8"]) == 2 and not (tmp_path / "c").exists()
    assert "item 2 is empty" in capsys.readouterr().err
    failing = [
        "--task",
        "halves",
        "--ds",
        "4,8",
        "--archs",
        "cnn",
        "--seeds",
        "3",
        "--evaluator",
        FAIL,
        "--executor",
        "serial",
        "--no-progress",
        "--out",
        str(tmp_path / "d"),
    ]
    assert _cli(failing) == 1  # every point failed: a summary is written, and the exit status says so
    assert "2 of 2 searches stopped at a failed point" in capsys.readouterr().err


def test_store_replaces_only_what_it_created(tmp_path):
    """--force discards results only in a store this tool created; a directory holding other files is no store."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("hi")
    with pytest.raises(NumericsError, match="not a store|other files"):
        SweepStore(tmp_path / "mine", {"a": 1})
    old = tmp_path / "old"  # a store written before markers existed: resumed, but never discarded
    old.mkdir()
    (old / "config.json").write_text(json.dumps({"a": 1}) + "\n")
    assert SweepStore(old, {"a": 1}).points == {}
    with pytest.raises(NumericsError, match="no .cnnverify marker"):
        SweepStore(old, {"a": 2}, force=True)
    assert json.loads((old / "config.json").read_text()) == {"a": 1}
    new = SweepStore(tmp_path / "new", {"a": 1})
    new.append({"arch": "cnn", "d": 4, "n": 8, "test_rel": [0.5]})
    (tmp_path / "new" / "mine.txt").write_text("x")  # a file of the user's in the store: --force refuses
    with pytest.raises(NumericsError, match="mine.txt"):
        SweepStore(tmp_path / "new", {"a": 2}, force=True)
    (tmp_path / "new" / "mine.txt").unlink()
    assert SweepStore(tmp_path / "new", {"a": 2}, force=True).points == {}


def test_extrapolation_of_a_nearly_flat_curve_is_infinite_not_an_overflow():
    """A bootstrap curve that barely descends crosses tau beyond the float range: inf, counted as no n*."""
    star, grid = interpolate_n_star([512, 1024], [0.5, 0.4999999], 0.1, extrapolate=True)
    assert star == math.inf and grid is None


def test_a_sweep_stored_with_the_old_private_evaluator_path_resumes(tmp_path):
    """Stores written before the evaluator was named by its public path hold "numerics._train:train_point"."""
    import numerics.learning
    from numerics.learning._config import DEFAULT_EVALUATOR, upgrade_config
    from numerics.learning._sweep import resolve_evaluator

    new = separation_config("sparse", "quick")
    assert new.evaluator == DEFAULT_EVALUATOR == "numerics.learning:train_point"
    assert resolve_evaluator(DEFAULT_EVALUATOR) is numerics.learning.train_point
    old = {**new.to_dict(), "evaluator": "numerics._train:train_point"}
    assert SweepConfig.from_dict(old) == new
    (tmp_path / "config.json").write_text(json.dumps(old, indent=2, sort_keys=True) + "\n")
    point = {"arch": "cnn", "d": 8, "n": 32, "test_rel": [0.5] * len(new.seeds)}
    (tmp_path / POINTS_FILE).write_text(json.dumps(point) + "\n")
    with pytest.raises(NumericsError, match="differs"):  # without the upgrade the stored config is another one
        SweepStore(tmp_path, new.to_dict())
    store = SweepStore(tmp_path, new.to_dict(), upgrade=upgrade_config)
    assert list(store.points) == [("cnn", 8, 32)]
    assert json.loads((tmp_path / "config.json").read_text())["evaluator"] == DEFAULT_EVALUATOR
    (tmp_path / "config.json").write_text(json.dumps({**old, "no_such_field": 1}))
    with pytest.raises(NumericsError, match="differs"):  # a config the upgrade rejects counts as different
        SweepStore(tmp_path, new.to_dict(), upgrade=upgrade_config)
