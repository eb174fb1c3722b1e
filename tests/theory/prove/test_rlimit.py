"""z3's deterministic resource limit (``rlimit``) on the three z3 proofs: recorded, and "unknown" when hit.

A tiny limit stops every query (z3 reports "max. resource limit exceeded", or "canceled" when the limit stops
one of its tactics); a generous one lets the same proof through. Unlike a timeout, the limit counts z3's own
steps, so the same query stops at the same point on every run.
"""

from __future__ import annotations

import pytest

import theory
from theory import TheoryError

GENEROUS = 10**8


def _routing(rlimit):
    return theory.prove_routing(theory.select(64, [3, 40]), rlimit=rlimit)


def _monolithic(rlimit):
    return theory.prove_equivalent_monolithic(theory.select(64, [3, 40]), [3, 40], rlimit=rlimit)


def _bound(rlimit):  # one input: one incremental solver, push/pop per linear piece
    return theory.prove_bound(theory.square_head(3), rlimit=rlimit)


PROOFS = [_routing, _monolithic, _bound]


@pytest.mark.parametrize("proof", PROOFS)
def test_a_tiny_rlimit_gives_unknown_with_the_reason(proof):
    cert = proof(1)
    assert cert.status == "unknown" and cert.upper is None and cert.details["rlimit"] == 1
    assert "resource limit" in cert.details["reason"]
    assert "smtlib" not in cert.details  # nothing proved, nothing to re-check


@pytest.mark.parametrize("proof", PROOFS)
def test_a_generous_rlimit_proves(proof):
    cert = proof(GENEROUS)
    assert cert.status == "proved" and cert.details["rlimit"] == GENEROUS and "reason" not in cert.details
    assert theory.Certificate.from_json(cert.to_json()).details["rlimit"] == GENEROUS


@pytest.mark.parametrize("proof", PROOFS)
def test_without_rlimit_nothing_changes_but_the_record(proof):
    cert = proof(None)
    assert cert.status == "proved" and cert.details["rlimit"] is None


def test_several_inputs_one_query():
    cert = theory.prove_bound(theory.product_head(3), rlimit=1)
    assert cert.details["strategy"] == "smt" and cert.status == "unknown"
    assert cert.details["reason"].startswith("resource limit: z3 rlimit 1 reached")


def test_the_limit_stops_the_same_queries_on_every_run():
    """At a limit between the cheap and the expensive lemmas, the same lemmas are left undecided each time."""
    runs = [_routing(1000) for _ in range(3)]
    answers = [[lemma["z3"] for lemma in c.details["lemmas"]] for c in runs]
    assert answers[0] == answers[1] == answers[2]
    assert "unknown" in answers[0] and "unsat" in answers[0]
    assert all(c.details["reason"] == runs[0].details["reason"] for c in runs)


@pytest.mark.parametrize("value", [0, -1, True, 1.5, 2**32, "100"])
@pytest.mark.parametrize("proof", PROOFS)
def test_rlimit_is_checked(proof, value):
    with pytest.raises(TheoryError, match="rlimit"):
        proof(value)
