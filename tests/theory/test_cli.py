"""The command line ``python -m theory`` (theory._cli): certify a saved spec, write and refuse certificates."""

from __future__ import annotations

import json
from fractions import Fraction

import theory
from theory import Certificate
from theory._cli import main as cli_main


def test_cli_round_trip(tmp_path, capsys):
    net = theory.approximate_sparse(256, [3, 200], "x0*x1", (-1, 1), Fraction(1, 50))
    spec = theory.save(net, tmp_path / "spec")
    out = tmp_path / "cert.json"
    rc = cli_main(["certify", str(spec), "--target", "x3*x200", "--box", "-1,1", "--time-limit", "10",
                   "--out", str(out)])
    assert rc == 0
    cert = Certificate.load(out)
    assert cert.status == "proved" and cert.spec_hash == net.content_hash and cert.upper is not None
    assert json.loads(out.read_text())["method"] == "interval-bnb"
    assert "[proved]" in capsys.readouterr().out
    # an existing file is refused without --force; --force replaces it
    assert cli_main(["certify", str(spec), "--box", "-1,1", "--out", str(out)]) == 2
    assert "error:" in capsys.readouterr().err
    rc = cli_main(["certify", str(spec), "--eps", "1e-9", "--time-limit", "5", "--out", str(out), "--force"])
    assert rc == 1 and Certificate.load(out).status in ("refuted", "unknown")
    # bad input: exit 2 with a message
    assert cli_main(["certify", str(spec), "--box", "1"]) == 2
    assert cli_main(["certify", str(spec), "--target", "y+1"]) == 2
    assert "error:" in capsys.readouterr().err
