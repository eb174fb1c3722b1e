"""The cross-check (numerics.peers.crosscheck): the classifier on planted peer answers, then Marabou for real
(skipped without maraboupy) on a correct select network and on a planted wrong one."""

from __future__ import annotations

from fractions import Fraction

import pytest

import numerics
import theory
from numerics.peers import (
    Case,
    Crosscheck,
    PeerAnswer,
    classify,
    crosscheck,
    peer_outcome,
    replay_point,
    routing_property,
)
from tests.numerics.peers.helpers import planted, skip_without_marabou

NET = theory.select(16, [0, 9], 2)
BAD = planted(NET)


def _sat(point) -> PeerAnswer:
    return PeerAnswer("fake", "sat", tuple(float(v) for v in point), seconds=0.0)


def _cases(prop, answers) -> tuple[Case, ...]:
    return tuple(
        Case(
            c,
            a,
            replay_point(prop, NET if prop.spec_hash == NET.content_hash else BAD, a.point)
            if a.point is not None
            else None,
        )
        for c, a in enumerate(answers)
    )


UNSAT = PeerAnswer("fake", "unsat", seconds=0.0)


# ------------------------------------------------------------------------------------------------ classifier
def test_a_sat_point_that_satisfies_the_claim_is_spurious():
    """A fake peer says sat at a point where the correct network routes exactly: the replay finds error 0."""
    prop = routing_property(NET)
    cases = _cases(prop, [_sat([0.5] * 16), UNSAT, UNSAT, UNSAT])
    assert cases[0].replay.max_error == 0 and not cases[0].replay.violates
    assert peer_outcome(cases, prop.cases) == "spurious"
    verdict, reason = classify("proved", "spurious")
    assert verdict == "spurious" and "float-tolerance" in reason


def test_a_genuine_violation_while_ours_proves_is_a_disagreement():
    """A fake peer points at a real counterexample of the planted network while 'ours' (faked) says proved."""
    prop = routing_property(BAD)
    corner = [1.0] * 16
    cases = _cases(prop, [_sat(corner)])
    r = cases[0].replay
    assert r.violates and r.meets_margin and r.max_error == Fraction(1, 2)
    assert theory.evaluate_exact(BAD, corner)[0] - 1 == Fraction(1, 2)  # independent: x0 + x9/2 - x0
    assert peer_outcome(cases, prop.cases) == "refuted"
    verdict, reason = classify("proved", "refuted")
    assert verdict == "disagree" and "UNSOUND" in reason
    record = Crosscheck(verdict, reason, prop, theory.prove_routing(NET), "proved", "fake", "refuted", cases)
    assert record.exit_code == theory.cli.EXIT_UNSOUND == 3 and "DISAGREE" in record.summary()


def test_a_peer_unsat_against_our_counterexample_in_the_box_is_a_disagreement():
    assert classify("refuted", "proved", ours_meets_margin=True)[0] == "disagree"
    assert classify("refuted", "proved", ours_meets_margin=False)[0] == "unknown"


@pytest.mark.parametrize(
    "ours, peer, verdict",
    [
        ("proved", "proved", "agree"),
        ("refuted", "refuted", "agree"),
        ("unknown", "proved", "unknown"),
        ("proved", "unknown", "unknown"),
        ("unknown", "refuted", "unknown"),
        ("refuted", "spurious", "spurious"),
    ],
)
def test_classify_table(ours, peer, verdict):
    assert classify(ours, peer)[0] == verdict


def test_classify_rejects_unknown_outcomes():
    with pytest.raises(numerics.NumericsError):
        classify("maybe", "proved")


def test_timeouts_and_missing_cases_are_unknown_never_proved():
    prop = routing_property(NET)
    timeout = PeerAnswer("fake", "timeout", message="killed")
    assert peer_outcome(_cases(prop, [UNSAT, UNSAT, UNSAT, timeout]), prop.cases) == "unknown"
    assert peer_outcome(_cases(prop, [UNSAT, UNSAT, UNSAT]), prop.cases) == "unknown"
    assert peer_outcome(_cases(prop, [UNSAT] * 4), prop.cases) == "proved"
    assert peer_outcome(_cases(prop, [_sat([0.0] * 16), UNSAT, UNSAT, timeout]), prop.cases) == "unknown"


def test_replay_clips_a_point_just_outside_the_box_and_says_so():
    prop = routing_property(BAD)
    r = replay_point(prop, BAD, [1.0 + 2**-30] + [1.0] * 15)
    assert r.clipped == 1 and r.max_clip == Fraction(1, 2**30) and r.point[0] == 1 and r.violates


def test_replay_refuses_another_spec():
    with pytest.raises(numerics.NumericsError, match="content hash"):
        replay_point(routing_property(NET), BAD, [0.0] * 16)


def test_peer_answer_validates_itself():
    with pytest.raises(numerics.NumericsError):
        PeerAnswer("fake", "proved")
    with pytest.raises(numerics.NumericsError):
        PeerAnswer("fake", "unsat", point=(0.0,))


@pytest.mark.parametrize(
    "kwargs, match",
    [({"with_": "eran"}, "with"), ({"timeout": 0}, "timeout"), ({"timeout": True}, "timeout"), ({"tol": 0}, "tol")],
)
def test_crosscheck_rejects_bad_arguments(kwargs, match):
    with pytest.raises(numerics.NumericsError, match=match):
        crosscheck(NET, **kwargs)


# ------------------------------------------------------------------------------------------------ Marabou
def test_correct_select_network_both_prove(tmp_path):
    skip_without_marabou()
    keep = tmp_path / "kept"
    r = crosscheck(NET, "marabou", timeout=60, workdir=keep)
    assert r.ours.status == "proved" and r.peer_outcome == "proved", r.summary()
    assert r.verdict == "agree" and r.exit_code == 0
    assert [c.answer.status for c in r.cases] == ["unsat"] * 4
    assert sorted(p.name for p in keep.glob("property_case*.vnnlib")) == [f"property_case{c}.vnnlib" for c in range(4)]
    assert (keep / ".cnnverify").is_file()  # written as a whole, marked: a later force may replace it
    again = crosscheck(NET, "marabou", timeout=60, workdir=keep, force=True)
    assert again.verdict == "agree"


def test_keep_never_writes_into_a_directory_of_the_user(tmp_path):
    """The peer's files go to a new directory, under the --out contract: the user's own files are never touched."""
    (tmp_path / "network.npz").write_bytes(b"the user's own file")
    for force in (False, True):
        with pytest.raises(numerics.NumericsError, match="workdir"):
            crosscheck(NET, "marabou", timeout=60, workdir=tmp_path, force=force)
    assert (tmp_path / "network.npz").read_bytes() == b"the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["network.npz"]


def test_planted_wrong_network_both_refute_and_the_replay_confirms():
    skip_without_marabou()
    r = crosscheck(BAD, "marabou", timeout=60)
    assert r.ours.status == "refuted" and r.ours_replay is not None and r.ours_replay.violates, r.summary()
    sat = [c for c in r.cases if c.answer.status == "sat"]
    assert sat and sat[-1].replay.violates, r.summary()
    # the peer's point, re-evaluated independently: output 0 is x0 + x9 / 2, so the error is |x9| / 2
    x = sat[-1].replay.point
    assert theory.evaluate_exact(BAD, list(x))[0] == x[0] + x[9] / 2 and abs(x[9]) / 2 >= r.prop.threshold
    assert r.verdict == "agree" and r.peer_outcome == "refuted" and r.exit_code == theory.cli.EXIT_FAIL
