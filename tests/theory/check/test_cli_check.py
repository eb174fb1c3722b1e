"""``python -m theory check`` and ``certify --check``: exit codes and what they print."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction

import pytest

import theory
from theory._main import main


def test_certify_check_and_check_command(tmp_path, capsys):
    net = theory.approximate_sparse(16, [2, 9], "x0*x1", (-1, 1), Fraction(1, 20))
    spec = theory.save(net, tmp_path / "spec")
    cert_file = tmp_path / "cert.json"
    assert main(["certify", str(spec), "--out", str(cert_file), "--check", "--no-progress"]) == 0
    assert "check: accepted" in capsys.readouterr().out
    assert main(["check", str(cert_file), str(spec)]) == 0
    assert "accepted" in capsys.readouterr().out
    assert main(["check", str(cert_file), str(spec), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "accepted"
    # the same certificate, its witness moved to a point of error 0: rejected, exit 3, the step named
    cert = theory.Certificate.load(cert_file)
    forged = dataclasses.replace(cert, witness={k: Fraction(0) for k in cert.witness})
    forged.save(tmp_path / "forged.json")
    assert main(["check", str(tmp_path / "forged.json"), str(spec)]) == 3
    assert "rejected (witness)" in capsys.readouterr().out
    # another target than the certificate's
    assert main(["check", str(cert_file), str(spec), "--target", "x2*x9 + 1"]) == 3
    assert "rejected (target)" in capsys.readouterr().out
    assert main(["check", str(cert_file), str(spec), "--max-splits", "-1"]) == 2


def test_check_command_on_a_routing_proof(tmp_path, capsys):
    pytest.importorskip("cvc5")
    net = theory.select(64, [3, 40])
    spec = theory.save(net, tmp_path / "spec")
    cert = theory.prove_routing(net, [3, 40])
    cert.save(tmp_path / "cert.json")
    assert main(["check", str(tmp_path / "cert.json"), str(spec)]) == 0
    assert "z3-induction certificate re-checked (7 cvc5 queries" in capsys.readouterr().out
    # its third query replaced by the second: the certificate no longer holds the checker's lemma
    q = list(cert.smtlib())
    forged = dataclasses.replace(cert, details={**cert.details, "smtlib": [q[0], q[1], q[1], *q[3:]]})
    forged.save(tmp_path / "forged.json")
    assert main(["check", str(tmp_path / "forged.json"), str(spec)]) == 3
    assert "rejected (queries): the certificate's query for lemma 2" in capsys.readouterr().out
