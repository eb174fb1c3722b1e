"""z3 proofs re-checked by the checker's second kernel: cvc5 on queries the checker regenerates, the
certificate's own queries compared with them as formulas and read only through the whitelist.

Honest routing-induction and monolithic certificates (proved and refuted) are accepted; forged ones (a query
dropped, swapped, made trivially unsat or carrying a command outside the whitelist, the claim's support changed,
the certificate re-pointed at a network with one weight changed or one the induction does not apply to, a
refutation whose witness routes correctly) are rejected; a resource limit too small gives ``unproven``.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest

import theory

pytest.importorskip("cvc5")

SUPPORT = [1, 9]


def perturbed(net: theory.Network, level: int, delta: Fraction) -> theory.Network:
    layers = list(net.layers)
    w = layers[level].weight
    values = w.values.copy()
    values[0] = values[0] + delta
    layers[level] = dataclasses.replace(layers[level], weight=dataclasses.replace(w, values=values))
    return dataclasses.replace(net, layers=tuple(layers))


def edit(cert: theory.Certificate, **changes) -> theory.Certificate:
    return dataclasses.replace(cert, **changes)


def with_queries(cert: theory.Certificate, queries: list[str]) -> theory.Certificate:
    return edit(cert, details={**cert.details, "smtlib": queries})


@pytest.fixture(scope="module")
def net() -> theory.Network:
    return theory.select(16, SUPPORT)


@pytest.fixture(scope="module")
def induction(net) -> theory.Certificate:
    cert = theory.prove_routing(net, SUPPORT)
    assert cert.status == "proved" and len(cert.smtlib()) == 9
    return cert


@pytest.fixture(scope="module")
def monolithic(net) -> theory.Certificate:
    cert = theory.prove_equivalent_monolithic(net, SUPPORT)
    assert cert.status == "proved"
    return cert


@pytest.mark.parametrize("d, support", [(16, [1, 9]), (16, [3]), (4**5, [3, 700, 1000]), (2**20, [5, 2**19 + 3])])
def test_honest_induction_is_accepted(d, support):
    net = theory.select(d, support, 4 if d == 4**5 else 2)
    report = theory.check_certificate(theory.prove_routing(net, support), net)
    assert report.accepted, report.summary()
    assert report.queries > 0 and report.exit_code == 0


def test_honest_monolithic_is_accepted(net, monolithic):
    report = theory.check_certificate(monolithic, net)
    assert report.accepted and report.queries == 1


@pytest.mark.parametrize("prove", ["induction", "monolithic"])
def test_honest_refutation_is_accepted(prove):
    bad = perturbed(theory.select(16, SUPPORT), 1, Fraction(1, 10**9))
    cert = (theory.prove_routing if prove == "induction" else theory.prove_equivalent_monolithic)(bad, SUPPORT)
    assert cert.status == "refuted"
    assert theory.check_certificate(cert, bad).accepted


def _forgeries(net, induction, monolithic):
    q = list(induction.smtlib())
    bad = perturbed(net, 2, Fraction(1, 10**9))
    lcn = theory.to_lcn(net)
    yield "other network", induction, theory.select(16, [1, 10]), "network"
    yield "query dropped", with_queries(induction, q[:-1]), net, "queries"
    yield "queries swapped", with_queries(induction, [q[2], *q[1:2], q[0], *q[3:]]), net, "queries"
    trivial = q[4].replace("(check-sat)", "(assert false)\n(check-sat)")
    yield "trivially unsat query", with_queries(induction, [*q[:4], trivial, *q[5:]]), net, "queries"
    for name, line in [
        ("set-option", '(set-option :regular-output-channel "x.txt")'),
        ("exit", "(exit)"),
        ("push", "(push 1)"),
        ("function", "(declare-fun f (Real) Real)"),
        ("get-model", "(get-model)"),
        ("two check-sat", "(check-sat)"),
        ("unknown operator", "(assert (> (sin x_t0) 2.0))"),
        ("unbalanced", "(assert (> x_t0 0.0)"),
    ]:
        yield f"command {name}", with_queries(induction, [q[0] + line + "\n", *q[1:]]), net, "queries"
    yield "support changed", edit(induction, assumptions={**induction.assumptions, "support": [1, 10]}), net, "lemma"
    yield (
        "support not indices",
        edit(induction, assumptions={**induction.assumptions, "support": [1, "9"]}),
        net,
        "claim",
    )
    yield "weight changed, re-hashed", edit(induction, spec_hash=bad.content_hash), bad, "lemma"
    yield "not a tree of convolutions", edit(induction, spec_hash=lcn.content_hash), lcn, "premises"
    routes = {"x1": Fraction(3), "x9": Fraction(-2)}
    yield "witness routes correctly", edit(induction, status="refuted", witness=routes), net, "witness"
    yield "witness names no input", edit(induction, status="refuted", witness={"y3": Fraction(1)}), net, "witness"
    mq = monolithic.smtlib()[0]
    yield (
        "monolithic query unsat",
        with_queries(monolithic, [mq.replace("(check-sat)", "(assert false)\n(check-sat)")]),
        net,
        "queries",
    )
    yield "monolithic two queries", with_queries(monolithic, [mq, mq]), net, "queries"
    yield "monolithic re-hashed", edit(monolithic, spec_hash=bad.content_hash), bad, "lemma"


def test_forgeries_are_rejected(net, induction, monolithic):
    seen = []
    for name, cert, against, step in _forgeries(net, induction, monolithic):
        report = theory.check_certificate(cert, against)
        assert (report.verdict, report.step) == ("rejected", step), (name, report.summary())
        assert report.exit_code == 3
        seen.append(name)
    assert len(seen) >= 20


def test_a_query_command_is_never_executed(net, induction, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    q = list(induction.smtlib())
    forged = with_queries(induction, ['(set-option :regular-output-channel "leak.txt")\n' + q[0], *q[1:]])
    assert theory.check_certificate(forged, net).step == "queries"
    assert list(tmp_path.iterdir()) == []


def test_a_budget_too_small_is_unproven_on_every_run(net, induction, monkeypatch):
    from theory.check.solver import _proofs

    monkeypatch.setattr(_proofs, "RLIMIT", 1)
    reports = [theory.check_certificate(induction, net) for _ in range(2)]
    assert [(r.verdict, r.step, r.message) for r in reports] == [("unproven", "unproven", reports[0].message)] * 2


def test_without_cvc5_it_is_unsupported(net, induction, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "cvc5", None)
    report = theory.check_certificate(induction, net)
    assert report.verdict == "unsupported" and "cvc5" in report.message


def test_a_claim_given_as_a_function_is_unsupported(net):
    cert = theory.prove_equivalent_monolithic(net, lambda x: [x[1], x[9]])
    assert cert.status == "proved"
    assert theory.check_certificate(cert, net).verdict == "unsupported"


# ------------------------------------------------------------------------------------------ head bounds (z3-nra)
@pytest.fixture(scope="module")
def square():
    head = theory.square_head(3)
    eps = Fraction(1, 2**8)  # Yarotsky: |f_3(x) - x^2| <= 2^(-2m-2), attained
    return head, eps, theory.prove_bound(head, eps=eps)


@pytest.mark.parametrize("strategy, splits", [("pieces", 1), ("smt", 1), ("smt", 2), ("nlsat", 1)])
def test_honest_head_bounds_are_accepted(strategy, splits):
    head = theory.square_head(2) if strategy != "smt" or splits == 1 else theory.product_head(1)
    cert = theory.prove_bound(head, strategy=strategy, splits=splits)
    assert cert.status == "proved"
    report = theory.check_certificate(cert, head.net)
    assert report.accepted, report.summary()
    assert report.queries == len(cert.smtlib())


def test_an_honest_bound_refutation_is_accepted(square):
    head, eps, _ = square
    cert = theory.prove_bound(head, eps=eps * Fraction(99, 100))
    assert cert.status == "refuted"
    assert theory.check_certificate(cert, head.net).accepted


def test_the_checker_computes_the_pieces_itself(square):
    from theory.check.solver._bounds import linear_pieces

    head = square[0]
    pieces = linear_pieces(head.net, Fraction(0), Fraction(1))
    assert len(pieces) == 2**3 and [p[0] for p in pieces] == [Fraction(i, 8) for i in range(8)]
    for u, v, a, b in pieces:  # the exact network at both ends of every piece
        assert theory.evaluate_exact(head.net, [u])[0] == a * u + b
        assert theory.evaluate_exact(head.net, [v])[0] == a * v + b


def _bound_forgeries(square):
    head, eps, cert = square
    q = list(cert.smtlib())
    a = dict(cert.assumptions)
    net = head.net
    yield "eps below the bound", edit(cert, eps=eps * Fraction(99, 100), upper=eps * Fraction(99, 100)), net, "lemma"
    yield "upper below eps", edit(cert, upper=eps / 2), net, "status"
    yield "another target", edit(cert, assumptions={**a, "target": "x0**2 + x0/1000"}), net, "queries"
    yield "target not a polynomial", edit(cert, assumptions={**a, "target": "sin(x0)"}), net, "claim"
    yield "domain widened", edit(cert, assumptions={**a, "domain": [["0", "2"]]}), net, "queries"
    yield "piece dropped", with_queries(cert, q[1:]), net, "queries"
    yield "pieces swapped", with_queries(cert, [q[1], q[0], *q[2:]]), net, "queries"
    yield "unknown strategy", edit(cert, details={**cert.details, "strategy": "magic"}), net, "claim"
    w = {"x0": Fraction(1, 16)}  # error there is 2^(-8) exactly: not above eps
    refuted = edit(cert, status="refuted", upper=None, lower=eps, witness=w)
    yield "witness without a violation", refuted, net, "witness"
    outside = edit(cert, status="refuted", upper=None, lower=Fraction(1), witness={"x0": Fraction(3)})
    yield "witness outside the box", outside, net, "witness"
    sine = edit(refuted, assumptions={**a, "target": "sin(x0)"})
    yield "refutation of a non-polynomial target", sine, net, "claim"


def test_bound_forgeries_are_rejected(square):
    for name, cert, against, step in _bound_forgeries(square):
        report = theory.check_certificate(cert, against)
        assert (report.verdict, report.step) == ("rejected", step), (name, report.summary())
