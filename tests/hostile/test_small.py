"""Smaller hostile inputs from the command line and the API: each a clear error, exit 2, no traceback."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest

import numerics
import theory
from numerics.duat._cli import parse_shape


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("text", ["3x99999999999999999999x1", "3x9999999x99999", "0x4", "3x", "3×4", "3x-4"])
def test_duat_input_shapes_are_bounded(text):
    with pytest.raises(numerics.NumericsError, match="argument .input."):
        parse_shape(text)


def test_duat_huge_input_exits_2():
    out = _run("-m", "numerics", "duat", "--input", "3x99999999999999999999x1")
    assert out.returncode == 2 and "Traceback" not in out.stderr and "argument 'input'" in out.stderr


def test_claims_directory_is_named_as_such(tmp_path):
    out = _run("-m", "checks", "--claims", str(tmp_path), "--list")
    assert out.returncode == 2 and "a directory" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_check_of_a_special_file_exits_2(tmp_path):
    spec = theory.save(theory.select(4, [1]), tmp_path / "s")
    out = _run("-m", "theory", "check", "/dev/zero", str(spec))
    assert out.returncode == 2 and "not a regular file" in out.stderr


@pytest.mark.parametrize("smtlib", ["(check-sat)", [1, 2], [None] * 5, ["(exit)"] * 5])
def test_a_certificate_whose_queries_are_not_text_is_rejected(smtlib):
    pytest.importorskip("cvc5")
    net = theory.select(4, [1])
    cert = theory.prove_routing(net, [1])
    forged = dataclasses.replace(cert, details={**cert.details, "smtlib": smtlib})
    report = theory.check_certificate(forged, net)
    assert report.verdict == "rejected" and report.step == "queries"
