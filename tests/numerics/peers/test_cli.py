"""``python -m numerics crosscheck``: exit codes (0 agree on a proof, 1 agree on a refutation, 2 bad input) and the
JSON record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import theory
from numerics._cli import main
from tests.helpers import REPO
from tests.numerics.peers.helpers import planted, skip_without_marabou


def _cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "numerics", "crosscheck", *args],
        cwd=cwd,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    root = tmp_path_factory.mktemp("specs")
    net = theory.select(8, [1, 6], 2)
    theory.save(net, root / "good")
    theory.save(planted(net), root / "bad")
    return root


def test_agree_on_a_proof_exits_0_and_writes_json(specs, tmp_path):
    skip_without_marabou()
    r = _cli(str(specs / "good"), "--with", "marabou", "--timeout", "60", "--json", str(tmp_path / "r.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "AGREE (proved)" in r.stdout
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["verdict"] == "agree" and record["exit_code"] == 0
    assert [c["status"] for c in record["cases"]] == ["unsat"] * 4


def test_agree_on_a_refutation_exits_1(specs):
    skip_without_marabou()
    r = _cli(str(specs / "bad"), "--with", "marabou", "--timeout", "60", "--box", "-2", "2")
    assert r.returncode == theory.cli.EXIT_FAIL == 1, r.stdout + r.stderr
    assert "AGREE (refuted)" in r.stdout and "violates the claim" in r.stdout and "[-2, 2]" in r.stdout


@pytest.mark.parametrize(
    "args, match",
    [
        (["missing-dir", "--with", "marabou"], "spec.json"),
        (["{good}", "--with", "marabou", "--timeout", "0"], "timeout"),
        (["{good}", "--with", "marabou", "--support", "0,99"], "support"),
        (["{good}", "--with", "marabou", "--box", "1", "-1"], "lo <= hi"),
        (["{good}", "--with", "marabou", "--tol", "0"], "tol"),
    ],
)
def test_bad_input_exits_2_with_one_error_line(specs, capsys, args, match):
    skip_without_marabou()  # without it the first error is the missing peer, also exit 2
    code = main(["crosscheck", *[a.format(good=specs / "good") for a in args]])
    err = capsys.readouterr().err
    assert code == theory.cli.EXIT_USAGE == 2
    assert err.startswith("error: ") and match in err and "Traceback" not in err


def test_unknown_peer_is_a_usage_error(specs, capsys):
    with pytest.raises(SystemExit) as e:
        main(["crosscheck", str(specs / "good"), "--with", "eran"])
    assert e.value.code == 2 and "invalid choice: 'eran'" in capsys.readouterr().err


def test_existing_json_is_refused_before_computing(specs, tmp_path, capsys):
    skip_without_marabou()
    (tmp_path / "r.json").write_text("{}")
    code = main(["crosscheck", str(specs / "good"), "--with", "marabou", "--json", str(tmp_path / "r.json")])
    assert code == 2 and "--json" in capsys.readouterr().err and (tmp_path / "r.json").read_text() == "{}"
