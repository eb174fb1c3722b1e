"""The two budgets of certify_sup_error: wall-clock time and deterministic work (max_work).

A search stopped by its work budget (or one that finishes) must give the same certificate whatever the load of
the machine, apart from its timings; one stopped by time records that it was (``details["stopped_by"]``). The
loaded runs share the CPU with busy-loop child processes. Independent facts used: the work counted never
exceeds the budget, a budget larger than the search needs changes nothing but the recorded budget, and the
upper bound of a stopped search stays above the lower bound of the finished one (soundness).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import subprocess
import sys
from fractions import Fraction

import pytest

import theory
from tests.theory.certify.test_sup_search import _complete
from theory import Certificate, TheoryError
from theory.certify import SupSearch

TIMING_KEYS = {"seconds", "elapsed", "elapsed_s"}


def _product_net() -> theory.Network:
    """A Yarotsky product head routed from inputs 3 and 200 (the general search needs about 1000 units)."""
    return theory.approximate_sparse(256, [3, 200], "x0*x1", (-1, 1), Fraction(1, 50))


def _kuhn_net() -> theory.Network:
    """The worked example of docs/certificates.md: a Kuhn head, 1250 simplices, about 1400 units to finish."""
    return theory.approximate_sparse(16, [2, 13], "sin(3*x0)*x1", (-1, 1), 1e-2)


# (name, network, keyword arguments, reaches the work budget)
CASES = [
    ("bnb-stopped", _product_net, dict(target="x3*x200", box=(-1, 1), method="branch-and-bound", max_work=150), True),
    (
        "bnb-finished",
        _product_net,
        dict(target="x3*x200", box=(-1, 1), method="branch-and-bound", max_work=10**6),
        False,
    ),
    ("pieces-stopped", _kuhn_net, dict(max_work=100), True),
    ("pieces-finished", _kuhn_net, dict(max_work=10**6), False),
]


def _untimed(value):
    """The certificate JSON without timing keys; times written into texts ("(0.12 s)") masked."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"\d+(\.\d+)? s\b", "<t> s", value)
    return value


def _run(name: str, max_work: int | None) -> Certificate:
    """The case ``name`` with the work budget ``max_work`` (and a time limit it never reaches)."""
    build, kwargs = next((b, kw) for n, b, kw, _ in CASES if n == name)
    kw = {**kwargs, "max_work": max_work}
    return theory.certify_sup_error(build(), kw.pop("target", None), kw.pop("box", None), time_limit_s=600, **kw)


_cached = functools.lru_cache(maxsize=None)(_run)


def test_work_budgeted_certificates_do_not_depend_on_the_load():
    idle = {name: _cached(name, kw["max_work"]) for name, _, kw, _ in CASES}
    # one busy loop: beside the test itself (and the suite's other worker) it is enough to load a 2-core machine
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])]
    try:
        loaded = {name: _run(name, kw["max_work"]) for name, _, kw, _ in CASES}
    finally:
        for p in hogs:
            p.kill()
            p.wait()
    for name, _, kw, stops in CASES:
        a, b = idle[name], loaded[name]
        assert _untimed(a.to_json()) == _untimed(b.to_json()), name
        d = a.details
        assert d["max_work"] == kw["max_work"] and 0 < d["work"] <= d["max_work"]
        assert d["timed_out"] is False
        if stops:  # the budget really stopped it
            assert d["stopped_by"] == "work" and d["work"] == d["max_work"] and d["open_boxes"] > 0
            assert a.incomplete == "work budget exhausted" and "(work budget exhausted;" in a.bound_line()
        else:
            assert d["stopped_by"] is None and d["gap_reached"] and a.incomplete is None


def test_a_budget_the_search_does_not_reach_changes_nothing_else():
    for name, _, kw, stops in CASES:
        if stops:
            continue
        budgeted = _untimed(_cached(name, kw["max_work"]).to_json())
        free = _untimed(_cached(name, None).to_json())
        assert free["details"].pop("max_work") is None and budgeted["details"].pop("max_work") == kw["max_work"]
        assert budgeted == free, name


def test_a_search_stopped_by_work_stays_sound():
    for name, _, kw, stops in CASES:
        if not stops:
            continue
        done = _cached(name, None)  # finished: its lower bound is a rigorous lower bound of the sup
        for w in (1, kw["max_work"] // 4, kw["max_work"]):
            cert = _cached(name, w)
            assert cert.details["work"] == w and cert.upper >= done.lower and cert.lower <= done.upper, (name, w)


def test_the_time_budget_still_stops_a_work_budgeted_search():
    net = _product_net()
    cert = theory.certify_sup_error(net, "x3*x200", (-1, 1), time_limit_s=0, method="branch-and-bound", max_work=10**6)
    d = cert.details
    assert d["stopped_by"] == "time" and d["timed_out"] is True and d["work"] == 0
    assert cert.status == "proved" and cert.incomplete == "time budget exhausted"
    assert Certificate.from_json(cert.to_json()).incomplete == "time budget exhausted"
    # without a work budget the wording is today's, and the budget that stopped it is still recorded
    plain = theory.certify_sup_error(net, "x3*x200", (-1, 1), time_limit_s=0, method="branch-and-bound")
    assert plain.incomplete == "budget exhausted"
    assert (plain.details["max_work"], plain.details["stopped_by"]) == (None, "time")


def test_eps_is_decided_on_the_bound_a_work_budget_leaves():
    net = _kuhn_net()
    cert = theory.certify_sup_error(net, eps=Fraction(1, 50), max_work=1)
    assert cert.status == "proved" and cert.details["work"] <= 1  # first pass: upper 0.0109 <= 0.02
    cert = theory.certify_sup_error(net, eps=Fraction(8, 1000), max_work=1)
    assert cert.status == "unknown" and cert.details["stopped_by"] == "work"


def test_method_pieces_not_applicable_records_no_work():
    net = dataclasses.replace(_product_net(), meta={})  # no construction record: no grid
    cert = theory.certify_sup_error(net, "x3*x200", (-1, 1), method="pieces", max_work=7)
    assert (cert.method, cert.status) == ("kuhn-pieces", "unknown")
    assert (cert.details["work"], cert.details["max_work"], cert.details["stopped_by"]) == (0, 7, None)


@pytest.mark.parametrize("bad_value", [0, -3, True, 1.5, 2.0, "10", [5]])
def test_max_work_is_checked(bad_value):
    with pytest.raises(TheoryError, match="max_work"):
        theory.certify_sup_error(_product_net(), "x3*x200", (-1, 1), max_work=bad_value)


def test_both_searches_count_work_behind_the_interface():
    net = _kuhn_net()
    for method in ("pieces", "branch-and-bound"):
        cert = theory.certify_sup_error(net, max_work=3, method=method)
        assert cert.details["work"] == 3 and cert.details["stopped_by"] == "work", method
    s = type("Counts", (SupSearch,), _complete())()  # a search without a budget: no work, nothing stopped it
    assert (s.work, s.max_work, s.stopped_by) == (0, None, None)


def test_the_command_line_takes_max_work(tmp_path, capsys):
    from theory._main import main as cli_main

    spec = theory.save(_product_net(), tmp_path / "spec")
    out = tmp_path / "cert.json"
    args = ["certify", str(spec), "--target", "x3*x200", "--box", "-1,1", "--method", "branch-and-bound"]
    assert cli_main([*args, "--max-work", "20", "--no-progress", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "[proved]" in captured.out and "(work budget exhausted; upper/lower = " in captured.out
    assert "a larger --max-work tightens the bound" in captured.err
    d = Certificate.load(out).details
    assert (d["work"], d["max_work"], d["stopped_by"]) == (20, 20, "work")
    assert cli_main([*args, "--max-work", "0"]) == 2
    assert "--max-work" in capsys.readouterr().err
