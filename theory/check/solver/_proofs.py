"""Re-checking a z3 proof: the checker's own queries answered by cvc5, the certificate's queries compared with
them as formulas, a refutation's witness re-evaluated exactly.

For a ``proved`` certificate the checker regenerates every query from the network and the claim
(:mod:`._lemmas`), has cvc5 answer it under a deterministic resource limit (``rlimit-per``: the same answer on
every machine), re-derives the routing induction's premises and proves its index identities in integers itself.
Each query the certificate keeps is read as data (:mod:`._smtlib`) and must be the checker's own up to cvc5's
rewriting, so a certificate cannot claim one proof and hold another. For a
``refuted`` certificate the network is evaluated exactly at the witness.
"""

from __future__ import annotations

from fractions import Fraction
from math import lcm
from typing import Any

import numpy as np
import sympy as sp

from ...spec import Network, input_unit
from .._net import ConeNet
from .._tree import Rejected
from ._bounds import bound_queries, claim_of
from ._lemmas import Terms, identity_holds, identity_query, monolithic_query, premises, routing_lemma
from ._smtlib import read_query

SOLVER_METHODS = ("z3-induction", "z3-monolithic", "z3-nra")
"""The methods whose proofs are solver queries this kernel re-checks."""
RLIMIT = 20_000_000
"""cvc5's resource limit per query (its own count of elementary steps: deterministic); past it, ``unproven``."""


def _cvc5() -> Any:
    try:
        import cvc5
    except ImportError:
        raise Rejected("unsupported", "z3 proofs are re-checked with cvc5: pip install 'cnnverify[cvc5]'") from None
    return cvc5


def _support(cert: Any, net: Network) -> list[int]:
    raw = cert.assumptions.get("support")
    if raw is None:
        raise Rejected("unsupported", "a claim given as a function (no support): it cannot be regenerated from data")
    if not (
        isinstance(raw, (list, tuple))
        and all(type(i) is int and 0 <= i < net.d * net.c_in for i in raw)
        and len(set(raw)) == len(raw) == net.n_outputs
    ):
        raise Rejected("claim", f"the support {str(raw)[:80]} is not {net.n_outputs} distinct input units")
    return list(raw)


class _Solver:
    """cvc5 answering the checker's queries, one fresh solver per query (answers do not depend on order)."""

    def __init__(self) -> None:
        self.cvc5 = _cvc5()
        self.tm = self.cvc5.TermManager()
        self.T = Terms(self.tm)
        self.asked = 0

    def answer(self, query: Any) -> str:
        solver = self.cvc5.Solver(self.tm)
        solver.setOption("rlimit-per", str(RLIMIT))
        solver.setLogic("QF_NRA")  # cvc5's complete procedure for real arithmetic (under ALL it may loop on x*x)
        solver.assertFormula(query)
        self.asked += 1
        r = solver.checkSat()
        return "unsat" if r.isUnsat() else ("sat" if r.isSat() else "unknown")

    def prove(self, query: Any, what: str) -> None:
        """Require ``unsat``: ``sat`` rejects (the fact is false), ``unknown`` leaves it unproven."""
        got = self.answer(query)
        if got == "sat":
            raise Rejected("lemma", f"{what} is false (cvc5 finds a counterexample to the checker's own query)")
        if got == "unknown":
            raise Rejected("unproven", f"cvc5 did not decide {what} within its resource limit {RLIMIT}")

    def same(self, text: Any, own: Any, what: str) -> None:
        """The certificate's query ``text`` must be the checker's ``own`` query: the same term once cvc5's
        rewriter has normalized both (sums, ``let`` sharing, ``distinct``, ``and true``). Equivalence would not
        do: the negations of any two true lemmas are both unsatisfiable, hence equivalent."""
        theirs = read_query(text, self.T)
        rewrite = self.cvc5.Solver(self.tm).simplify
        if rewrite(theirs) != rewrite(own):
            raise Rejected("queries", f"the certificate's query for {what} is not the checker's own query")


def check_solver_proof(cert: Any, net: Network) -> dict[str, int]:
    """Re-check a ``z3-induction``, ``z3-monolithic`` or ``z3-nra`` certificate; returns counts. Raises Rejected."""
    if cert.status not in ("proved", "refuted"):
        raise Rejected("unsupported", f"nothing to check: the certificate is {cert.status}")
    if cert.method == "z3-nra":
        g, box, eps = claim_of(cert, net)
        if cert.status == "refuted":
            _bound_refutation(cert, net, g, box, eps)
            return {}
        if cert.upper != eps:
            raise Rejected("status", f"a proved bound states upper = eps, not upper {cert.upper} with eps {eps}")
    support = _support(cert, net) if cert.method != "z3-nra" else []
    if cert.status == "refuted":
        _routing_refutation(cert, net, support)
        return {}
    texts, S = cert.smtlib(), _Solver()
    if cert.method == "z3-nra":
        owns = bound_queries(S.T, net, g, box, eps, cert.details.get("strategy"), cert.details.get("splits"))
        _same_count(texts, len(owns), f"the bound's {len(owns)} parts")
        for n, own in enumerate(owns):
            S.prove(own, f"part {n} of the bound")
            S.same(texts[n], own, f"part {n} of the bound")
    elif cert.method == "z3-monolithic":
        _same_count(texts, 1, "a monolithic proof")
        own = monolithic_query(S.T, net, support)
        S.prove(own, "the equivalence query")
        S.same(texts[0], own, "the equivalence")
    else:
        _check_induction(S, texts, net, support)
    return {"queries": S.asked}


def _same_count(texts: Any, n: int, what: str) -> None:
    if len(texts) != n:
        raise Rejected("queries", f"{what} holds {n} queries, the certificate {len(texts)}")


def _check_induction(S: _Solver, texts: Any, net: Network, support: list[int]) -> None:
    found, s, L = premises(net, len(support))
    failed = [name for name, holds in found if not holds]
    if failed:
        raise Rejected("premises", f"the induction does not apply: {failed[0]} fails on this network")
    _same_count(texts, 2 * L + 1, f"the induction over {L} levels")
    for level in range(L + 1):
        what = "the readout lemma" if level == L else f"lemma {level + 1}"
        own = routing_lemma(S.T, net, support, s, level, L)
        S.prove(own, what)
        S.same(texts[2 * level], own, what)
        if level < L:
            bad = [i for i in support if not identity_holds(i, s, level)]
            if bad:
                raise Rejected("identity", f"the index identity at level {level} fails for index {bad[0]}")
            S.same(texts[2 * level + 1], identity_query(S.T, s, level), f"the index identity at level {level}")


def _witness(cert: Any, net: Network) -> dict[int, Fraction]:
    if not cert.witness:
        raise Rejected("witness", "a refutation without a witness")
    try:
        return {input_unit(net, name, "witness"): Fraction(v) for name, v in dict(cert.witness).items()}
    except Exception as e:  # a name that is no input of this network, or a value that is no number
        raise Rejected("witness", f"the witness does not read: {e}") from None


def _net_at(net: Network, point: dict[int, Fraction], output: int = 0) -> Fraction:
    """Output ``output`` of the network at ``point`` (missing inputs 0), exactly."""
    cone = ConeNet(net, output=output)
    q = [point.get(u, Fraction(0)) for u in cone.inputs]
    den = lcm(1, *(v.denominator for v in q))
    return cone.exact(np.array([int(v * den) for v in q], dtype=object).reshape(len(q), 1), den)[0][0]


def _routing_refutation(cert: Any, net: Network, support: list[int]) -> None:
    """The witness must make some output differ from ``x[support_j]``, exactly."""
    point = _witness(cert, net)
    if all(_net_at(net, point, j) == point.get(i, Fraction(0)) for j, i in enumerate(support)):
        raise Rejected("witness", "at the witness every output equals its routed input: it refutes nothing")


def _bound_refutation(cert: Any, net: Network, g: sp.Expr, box: list, eps: Fraction) -> None:
    """The witness must lie in the box with ``|net - g| > eps`` there, at least the claimed lower bound."""
    point = _witness(cert, net)
    x = [point.get(j, Fraction(0)) for j in range(net.c_in)]
    if any(not lo <= v <= hi for v, (lo, hi) in zip(x, box)):
        raise Rejected("witness", "the witness lies outside the box")
    value = g.xreplace(
        {sp.Symbol(f"x{j}", real=True): sp.Rational(v.numerator, v.denominator) for j, v in enumerate(x)}
    )
    if not value.is_Rational:  # a head bound's target is a polynomial with rational coefficients
        raise Rejected("claim", f"the target is not a polynomial with rational coefficients: {g}")
    gap = abs(_net_at(net, point) - Fraction(int(value.p), int(value.q)))
    if not (gap > eps and (cert.lower is None or cert.lower <= gap)):
        raise Rejected(
            "witness",
            f"|net - g| at the witness is {float(gap):.9g}: no violation of eps {float(eps):.9g} at the claimed lower bound",
        )
