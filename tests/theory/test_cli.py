"""The command line ``python -m theory`` (theory._main): certify a saved spec, write and refuse certificates."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import theory
import theory._main
from theory import Certificate
from theory._main import main as cli_main


def _no_search(*args, **kwargs):
    raise AssertionError("the certifier ran before the output path was checked")


def test_cli_round_trip(tmp_path, capsys):
    net = theory.approximate_sparse(256, [3, 200], "x0*x1", (-1, 1), Fraction(1, 50))
    spec = theory.save(net, tmp_path / "spec")
    out = tmp_path / "cert.json"
    rc = cli_main(
        ["certify", str(spec), "--target", "x3*x200", "--box", "-1,1", "--time-limit", "10", "--out", str(out)]
    )
    assert rc == 0
    cert = Certificate.load(out)
    assert cert.status == "proved" and cert.spec_hash == net.content_hash and cert.upper is not None
    assert json.loads(out.read_text())["method"] == "kuhn-pieces"  # a Yarotsky product: its polarisation grid
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


def test_cli_checks_outputs_before_computing(tmp_path, capsys, monkeypatch):
    net = theory.approximate_sparse(256, [3, 200], "x0*x1", (-1, 1), Fraction(1, 50))
    spec = theory.save(net, tmp_path / "spec")
    monkeypatch.setattr(theory._main, "certify_sup_error", _no_search)  # refused before the search
    assert cli_main(["certify", str(spec), "--box", "-1,1", "--time-limit", "30", "--out", "/proc/x/c.json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: argument '--out'") and "/proc/x/c.json" in err
    build = ["build", "select", "--d", "16", "--support", "0,15"]
    foreign = tmp_path / "v"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("hi")
    assert cli_main([*build, "--out", str(foreign), "--force"]) == 2
    assert "not written by cnnverify" in capsys.readouterr().err and (foreign / "notes.txt").read_text() == "hi"
    monkeypatch.chdir(spec)
    assert cli_main([*build, "--out", ".", "--force"]) == 2
    assert "current directory" in capsys.readouterr().err and theory.load(".") == net
    assert cli_main(["build", "select", "--d", "16", "--support", "0,,1", "--out", str(tmp_path / "s")]) == 2
    assert "item 2 is empty" in capsys.readouterr().err and not (tmp_path / "s").exists()


def test_cli_certify_says_when_the_budget_ran_out(tmp_path, capsys):
    net = theory.approximate_sparse(256, [3, 200], "x0*x1", (-1, 1), Fraction(1, 50))
    spec = theory.save(net, tmp_path / "spec")
    # the general search (a product head's piecewise certificate finishes in its first pass, whatever the budget)
    assert (
        cli_main(
            [
                "certify",
                str(spec),
                "--target",
                "x3*x200",
                "--box",
                "-1,1",
                "--time-limit",
                "0",
                "--method",
                "branch-and-bound",
            ]
        )
        == 1
    )
    captured = capsys.readouterr()
    assert "[proved]" in captured.out and "(budget exhausted; upper/lower = " in captured.out
    assert "stopped before --rel-gap" in captured.err
    # not a terminal: the progress is one final line (boxes, upper, lower, elapsed)
    assert re.search(
        r"^certify: \d+ boxes \(\d+ open\), upper [\d.e+-]+, lower [\d.e+-]+, [\d.]+ s of 0 s$", captured.err, re.M
    )
    assert (
        cli_main(
            [
                "certify",
                str(spec),
                "--target",
                "x3*x200",
                "--box",
                "-1,1",
                "--eps",
                "10",
                "--time-limit",
                "0",
                "--no-progress",
            ]
        )
        == 0
    )  # decided: upper <= eps, whatever the gap
    assert "certify:" not in capsys.readouterr().err
    cert = theory.certify_sup_error(net, "x3*x200", (-1, 1), time_limit_s=0, method="branch-and-bound")
    assert cert.status == "proved" and cert.incomplete == "budget exhausted"
    assert Certificate.from_json(cert.to_json()).incomplete == "budget exhausted"
