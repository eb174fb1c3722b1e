"""Formulas at scale: the torch evaluator covers every row of theory's function table (compared with mpmath),
targets with Min / Max split into outputs correctly, and formula text that would run code is refused by
check_at_scale, make_target and ``python -m numerics evaluate`` without side effects."""

from __future__ import annotations

import json
from fractions import Fraction

import mpmath
import pytest
import torch

import numerics
import theory
from numerics import NumericsError
from numerics.scale._target import make_target
from tests.helpers import format_1_document
from tests.numerics.helpers import F64_AFFINE
from theory.formula import FUNCTIONS

# libm's elementary functions in float64 are within a few ulps of the exact value, far inside float64_affine
REFERENCE = {
    "sin": mpmath.sin,
    "cos": mpmath.cos,
    "tan": mpmath.tan,
    "exp": mpmath.exp,
    "log": mpmath.log,
    "sqrt": mpmath.sqrt,
    "sinh": mpmath.sinh,
    "cosh": mpmath.cosh,
    "tanh": mpmath.tanh,
    "atan": mpmath.atan,
    "Abs": abs,
    "abs": abs,
    "Min": min,
    "Max": max,
}
FAST = {"search_steps": 5, "restarts": 1, "candidates": 2, "progress": False}


def _net() -> theory.Network:
    return theory.approximate_sparse(8, [0, 5], "x0*x1", (-1, 1), Fraction(1, 10))


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_torch_evaluator_covers_every_function(name):
    assert set(REFERENCE) == set(FUNCTIONS)
    two = FUNCTIONS[name].min_args == 2
    text = f"{name}(x0, x5)" if two else f"{name}(x0)"
    tg = make_target(_net(), text, (Fraction(1, 8), 4))
    assert tg.names == ("x0", "x5")
    pts = torch.tensor([[0.125, 2.0], [1.5, 0.25], [3.75, 3.5]], dtype=torch.float64)
    got = tg.torch_fn()(pts)[:, 0]
    with mpmath.workprec(200):
        want = [float(REFERENCE[name](*[mpmath.mpf(float(v)) for v in row[: 2 if two else 1]])) for row in pts]
    assert F64_AFFINE.ok(got, torch.tensor(want, dtype=torch.float64)), (got, want)
    for row, w in zip(pts.tolist(), want):
        lo, hi = tg.enclose([Fraction(v) for v in row])[0]  # rigorous, at 128 bits
        slack = Fraction(F64_AFFINE.atol) + Fraction(F64_AFFINE.rtol) * abs(Fraction(w))  # w is a rounded float
        assert lo - slack <= Fraction(w) <= hi + slack and hi - lo < Fraction(1, 10**30) * max(1, abs(hi))


def test_outputs_split_outside_parentheses():
    net = theory.select(16, [2, 9])
    tg = make_target(net, "Min(x2, x9), Max(x9, 1/2) + x2", (-1, 1))
    assert [str(e) for e in tg.exprs] == ["Min(x2, x9)", "x2 + Max(1/2, x9)"]
    with pytest.raises(NumericsError, match="2 formula"):
        make_target(net, "Min(x2, x9)", (-1, 1))


def _payload(tmp_path) -> str:
    return f"__import__('os').system('touch {tmp_path / 'F'}') or x0*x5"


def test_check_at_scale_refuses_payload(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NumericsError, match="argument 'target'.*not allowed"):
        numerics.check_at_scale(_net(), target=_payload(tmp_path), box=(-1, 1), samples=100, device="cpu", **FAST)
    with pytest.raises(NumericsError, match="not allowed"):
        make_target(_net(), "x0.__class__", (-1, 1))
    assert not (tmp_path / "F").exists()


def test_meta_payload_in_an_old_spec_file_is_refused(tmp_path, monkeypatch, capsys):
    """A version-1 file (meta without a hash) whose meta target is a payload: evaluate warns, refuses, runs nothing."""
    from numerics._cli import main as cli_main

    monkeypatch.chdir(tmp_path)
    doc = format_1_document(
        _net(), target=_payload(tmp_path), a_priori_bound=f"__import__('os').system('touch {tmp_path / 'G'}')"
    )
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "spec.json").write_text(json.dumps(doc))
    rc = cli_main(["evaluate", str(tmp_path / "s"), "--samples", "100", "--device", "cpu", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "meta not covered by a hash (format version 1)" in err and "pass --target and --box" in err
    assert not (tmp_path / "F").exists() and not (tmp_path / "G").exists()


def test_edited_meta_is_refused_by_evaluate(tmp_path, capsys):
    from numerics._cli import main as cli_main

    spec = theory.save(_net(), tmp_path / "s")
    doc = json.loads((spec / "spec.json").read_text())
    doc["meta"]["target"] = "x0*x5 + 1"
    (spec / "spec.json").write_text(json.dumps(doc))
    assert cli_main(["evaluate", str(spec), "--samples", "100", "--device", "cpu", "--no-progress"]) == 2
    assert "meta does not match its hash" in capsys.readouterr().err
