"""End to end: formula text that would run code reaches no evaluator. Every public entry point that takes a
formula string (the command line's --g and --target, certify_sup_error, pl_head, approximate_sparse,
prove_bound, Head) refuses it with a TheoryError, and the file the payload would create does not appear."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp

import theory
from theory._main import main as cli_main


@pytest.fixture
def payload(tmp_path, monkeypatch):
    """``(text, marker)``: text that touches ``marker`` when evaluated as Python (and is x0*x1 otherwise)."""
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "F"
    yield f"__import__('os').system('touch {marker}') or x0*x1", marker
    assert not marker.exists(), "the payload ran"


def test_cli_build_g(payload, tmp_path, capsys):
    text, _ = payload
    rc = cli_main(
        [
            "build",
            "approx",
            "--d",
            "16",
            "--support",
            "0,1",
            "--g",
            text,
            "--box",
            "-1,1",
            "--eps",
            "1e-2",
            "--out",
            str(tmp_path / "n"),
        ]
    )
    assert rc == 2 and not (tmp_path / "n").exists()
    err = capsys.readouterr().err
    assert "error: argument 'g'" in err and "is not allowed" in err


def test_cli_certify_target(payload, tmp_path, capsys):
    text, _ = payload
    spec = theory.save(theory.approximate_sparse(16, [0, 1], "x0*x1", (-1, 1), Fraction(1, 10)), tmp_path / "s")
    assert cli_main(["certify", str(spec), "--target", text, "--box", "-1,1"]) == 2
    assert "is not allowed" in capsys.readouterr().err


def test_certify_sup_error(payload):
    text, _ = payload
    net = theory.approximate_sparse(16, [0, 1], "x0*x1", (-1, 1), Fraction(1, 10))
    with pytest.raises(theory.TheoryError, match="argument 'target'.*not allowed"):
        theory.certify_sup_error(net, target=text, box=(-1, 1), time_limit_s=1)


def test_pl_head_and_approximations(payload):
    text, _ = payload
    with pytest.raises(theory.TheoryError, match="argument 'g'.*not allowed"):
        theory.pl_head(text, (-1, 1), 4, k=2)
    with pytest.raises(theory.TheoryError, match="not allowed"):
        theory.approximate_head(text, (-1, 1), Fraction(1, 10), k=2)
    with pytest.raises(theory.TheoryError, match="not allowed"):
        theory.approximate_sparse(16, [0, 1], text, (-1, 1), Fraction(1, 10))


def test_prove_bound_and_head_record(payload):
    text, _ = payload
    head = theory.product_head(3)
    with pytest.raises(theory.TheoryError, match="argument 'target'.*not allowed"):
        theory.prove_bound(head, target=text)
    with pytest.raises(theory.TheoryError, match="not allowed"):
        theory.Head(net=head.net, target=text, box=head.box, bound=head.bound, formula=head.formula, source="x")
    with pytest.raises(theory.TheoryError, match="argument 'bound'.*not allowed"):
        theory.Head(
            net=head.net, target=head.target, box=head.box, bound="__import__('os')", formula=head.formula, source="x"
        )


def test_strings_still_work_everywhere():
    """The same entry points with an ordinary formula: parsed, decimals exact."""
    net = theory.approximate_sparse(16, [0, 1], "x0*x1 + 0.25", (-1, 1), Fraction(1, 10))
    assert net.meta["target"] == "x0*x1 + 1/4"
    cert = theory.certify_sup_error(net, target="x0*x1 + 0.25", box=(-1, 1), time_limit_s=5)
    assert cert.status == "proved" and cert.upper <= Fraction(1, 10)
    head = theory.product_head(3)
    assert theory.prove_bound(head, target="x0*x1", eps=head.bound).status == "proved"
    rebuilt = theory.Head(
        net=head.net, target="x0*x1", box=head.box, bound=str(head.bound), formula="2**(-2*m - 2)", source="test"
    )
    assert rebuilt.target == head.target and rebuilt.bound == head.bound
    assert rebuilt.formula == 2 ** (-2 * sp.Symbol("m", real=True) - 2)
