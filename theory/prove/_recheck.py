"""A second solver: every z3 query behind a ``proved`` certificate, re-checked by cvc5 from its SMT-LIB 2 text.

A z3 proof (:func:`theory.prove_routing`, :func:`theory.prove_bound`, :func:`theory.prove_equivalent_monolithic`)
is a list of queries z3 answered ``unsat``; each is kept in the certificate as SMT-LIB 2 (``details["smtlib"]``,
:meth:`Certificate.smtlib`). :func:`recheck` feeds each one to cvc5 (the optional extra ``cvc5``) with a time limit
per query and records the answers: ``agreed`` (cvc5 also says unsat), ``unknown`` (cvc5 timed out or gave up: the
z3 proof stands, unconfirmed) and ``disagreed`` (cvc5 says sat: the two solvers contradict each other about the
same formula, so at least one has a bug; the certificate is no longer ``proved``).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from .._errors import TheoryError, bad
from ._certificate import Certificate

SOLVERS = ("cvc5",)
"""Second solvers :func:`recheck` can run."""


def _cvc5() -> Any:
    try:
        import cvc5
    except ImportError:
        raise TheoryError("recheck with cvc5 needs the optional extra: pip install 'cnnverify[cvc5]'") from None
    return cvc5


def logic_of(smtlib: str) -> str:
    """The SMT-LIB logic declared for a query: ``QF_NRA`` for real arithmetic (cvc5's complete nonlinear real
    procedure runs under it; under ``ALL`` it gives up on x*x), ``ALL`` when integers appear (index identities)."""
    return "ALL" if " Int)" in smtlib or "Int " in smtlib else "QF_NRA"


def cvc5_answer(smtlib: str, timeout_s: float) -> str:
    """cvc5's answer (``'unsat'``, ``'sat'`` or ``'unknown'``) to one SMT-LIB 2 script ending in ``(check-sat)``."""
    cvc5 = _cvc5()
    tm = cvc5.TermManager()
    solver = cvc5.Solver(tm)
    solver.setOption("tlimit-per", str(max(1, int(timeout_s * 1000))))
    parser = cvc5.InputParser(solver)
    parser.setIncrementalStringInput(cvc5.InputLanguage.SMT_LIB_2_6, "query")
    parser.appendIncrementalStringInput(f"(set-logic {logic_of(smtlib)})\n" + smtlib)
    symbols, answers = parser.getSymbolManager(), []
    while True:
        cmd = parser.nextCommand()
        if cmd.isNull():
            break
        out = cmd.invoke(solver, symbols).split()  # "unsat", "sat", "unknown (TIMEOUT)"
        if out and out[0] in ("sat", "unsat", "unknown"):
            answers.append(out[0])
    if len(answers) != 1:
        raise TheoryError(f"recheck: expected one (check-sat) in the query, found {len(answers)}")
    return answers[0]


def recheck(cert: Certificate, with_: str = "cvc5", *, timeout_s: float = 60) -> Certificate:
    """Re-check every z3 query of a ``proved`` certificate with a second solver.

    Args:
        cert: a certificate from a z3 prover (status ``proved``, with ``details["smtlib"]``).
        with_: the second solver, one of :data:`SOLVERS`.
        timeout_s: cvc5's limit per query (its answer is ``unknown`` past it).
    Returns:
        The certificate with ``details["rechecks"][solver] = {"version", "queries", "agreed", "unknown",
        "disagreed" (query indices), "seconds"}`` and ``versions[solver]``; when any query is disagreed, status
        ``unknown`` with the reason (a proof two solvers contradict is not a proof).
    Raises:
        TheoryError: an unknown solver, cvc5 not installed, or a certificate without z3 queries (not proved, or
            not from a z3 prover: interval certificates are checked by :func:`theory.certify_sup_error` itself).
    """
    if not isinstance(cert, Certificate):
        raise bad("cert", type(cert).__name__, "a theory.Certificate")
    if with_ not in SOLVERS:
        raise bad("with_", with_, f"one of {SOLVERS}")
    queries = cert.smtlib()
    if cert.status != "proved" or not queries:
        raise bad(
            "cert",
            f"status {cert.status!r}, {len(queries)} z3 queries",
            "a proved certificate from a z3 prover (prove_routing, prove_bound, prove_equivalent_monolithic) "
            "made by this version (it keeps its queries as SMT-LIB 2)",
        )
    cvc5 = _cvc5()
    t0 = time.perf_counter()
    answers = [cvc5_answer(q, timeout_s) for q in queries]
    record = {
        "version": getattr(cvc5, "__version__", "unknown"),
        "queries": len(answers),
        "agreed": answers.count("unsat"),
        "unknown": [i for i, a in enumerate(answers) if a == "unknown"],
        "disagreed": [i for i, a in enumerate(answers) if a == "sat"],
        "seconds": round(time.perf_counter() - t0, 3),
    }
    details = dict(cert.details)
    details["rechecks"] = {**dict(cert.details.get("rechecks", {})), with_: record}
    status = cert.status
    if record["disagreed"]:
        status = "unknown"
        details["reason"] = (
            f"solvers disagree: z3 answered unsat and {with_} sat on queries {record['disagreed']}; "
            "at least one solver is wrong about the same formula"
        )
    return dataclasses.replace(
        cert, status=status, details=details, versions={**dict(cert.versions), with_: str(record["version"])}
    )
