"""The second solver: every z3 query of a proved certificate is kept as SMT-LIB 2 and re-checked by cvc5; a planted
disagreement (a query cvc5 finds satisfiable) is caught, and the command line exits 3 on it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import theory
from tests.helpers import REPO
from theory.prove._recheck import cvc5_answer, logic_of

cvc5 = pytest.importorskip("cvc5")

SAT = "(declare-fun x () Real)\n(assert (> x 1.0))\n(check-sat)\n"


def certificates():
    return {
        "routing": theory.prove_routing(theory.select(256, [0, 100, 255], 2)),
        "bound": theory.prove_bound(theory.square_head(m=3)),
        "monolithic": theory.prove_equivalent_monolithic(theory.to_lcn(theory.select(16, [1, 14], 2)), [1, 14]),
    }


@pytest.mark.parametrize("name", ["routing", "bound", "monolithic"])
def test_cvc5_agrees_with_every_query(name):
    cert = certificates()[name]
    assert cert.status == "proved" and len(cert.smtlib()) >= 1
    assert all(q.rstrip().endswith("(check-sat)") for q in cert.smtlib())
    out = theory.recheck(cert, timeout_s=30)
    rec = out.details["rechecks"]["cvc5"]
    assert out.status == "proved" and rec["agreed"] == rec["queries"] == len(cert.smtlib())
    assert list(rec["disagreed"]) == [] and out.versions["cvc5"] == rec["version"]
    again = theory.Certificate.from_json(json.loads(json.dumps(out.to_json())))  # the record round-trips
    assert again.smtlib() == cert.smtlib() and again.details["rechecks"]["cvc5"]["agreed"] == rec["agreed"]


def test_planted_disagreement_is_caught():
    cert = certificates()["routing"]
    queries = list(cert.smtlib())
    queries[3] = SAT  # as if z3 had answered unsat to a satisfiable formula
    planted = theory.Certificate.from_json(
        {**cert.to_json(), "details": {**cert.to_json()["details"], "smtlib": queries}}
    )
    out = theory.recheck(planted)
    assert out.status == "unknown" and list(out.details["rechecks"]["cvc5"]["disagreed"]) == [3]
    assert "solvers disagree" in out.details["reason"]


def test_answers_and_logic():
    assert cvc5_answer(SAT, 5) == "sat"
    assert cvc5_answer(SAT.replace("(> x 1.0)", "(and (> x 1.0) (< (* x x) 1.0))"), 5) == "unsat"
    assert logic_of(SAT) == "QF_NRA" and logic_of("(declare-fun i () Int)") == "ALL"


def test_only_proved_z3_certificates_are_rechecked():
    refuted = theory.prove_routing(theory.select(64, [3, 60], 2), [3, 59])
    assert refuted.status in ("refuted", "unknown") and refuted.smtlib() == ()
    with pytest.raises(theory.TheoryError, match="a proved certificate from a z3 prover"):
        theory.recheck(refuted)
    with pytest.raises(theory.TheoryError, match="argument 'with_'"):
        theory.recheck(certificates()["bound"], "yices")


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "theory", *map(str, args)], capture_output=True, text=True, cwd=REPO, timeout=300
    )


def test_command_line_exit_codes(tmp_path):
    cert = certificates()["routing"]
    good = cert.save(tmp_path / "good.json")
    res = run("recheck", good, "--with", "cvc5", "--out", tmp_path / "out.json")
    assert res.returncode == 0, res.stderr
    assert f"{len(cert.smtlib())} of {len(cert.smtlib())} queries unsat" in res.stdout
    assert theory.Certificate.load(tmp_path / "out.json").details["rechecks"]["cvc5"]["agreed"] == len(cert.smtlib())
    doc = cert.to_json()
    doc["details"]["smtlib"] = [SAT] + list(cert.smtlib())[1:]
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    res = run("recheck", tmp_path / "bad.json", "--with", "cvc5")
    assert res.returncode == 3 and "solvers disagree" in res.stderr
    assert run("recheck", tmp_path / "missing.json", "--with", "cvc5").returncode == 2
    assert run("recheck", good, "--with", "cvc5", "--timeout", "0").returncode == 2
