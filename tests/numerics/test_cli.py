"""The command line ``python -m numerics`` (numerics._cli): export and info of weights files, evaluate at scale.

Subprocess runs with the repository on PYTHONPATH, and in-process calls of ``main`` for the error paths.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import torch

import numerics
import theory
from tests.helpers import REPO
from tests.numerics.helpers import relu_head_certificate as _cert
from tests.numerics.helpers import relu_head_net


def _cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "numerics", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_cli_export_then_info(tmp_path, nets):
    theory.save(nets["rational"], tmp_path / "spec")
    r = _cli("export", "spec", "--dtype", "float32", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "weights.safetensors" in r.stdout and "float32" in r.stdout
    assert numerics.load_module(tmp_path / "spec")[1].dtype == torch.float32
    r = _cli("info", "spec", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Network tree_sum" in r.stdout and "dtype float32" in r.stdout and "matches spec.json" in r.stdout
    assert str((tmp_path / "spec" / "weights.safetensors").stat().st_size) in r.stdout


def test_cli_missing_path_exits_2(tmp_path):
    r = _cli("info", "does-not-exist", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("error:") and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_cli_in_process_errors(tmp_path, nets, capsys, monkeypatch):
    from numerics._cli import main

    monkeypatch.chdir(tmp_path)
    theory.save(nets["select"], tmp_path / "spec")
    assert main(["info", "spec"]) == 0
    assert "weights: none" in capsys.readouterr().out
    assert main(["export", "spec"]) == 0
    capsys.readouterr()
    assert main(["export", "spec"]) == 2  # exists, no --force
    err = capsys.readouterr().err
    assert err.startswith("error:") and "--force" in err
    assert main(["export", "spec", "--force", "--dtype", "bfloat16"]) == 0
    capsys.readouterr()
    (tmp_path / "spec" / "weights.safetensors").write_bytes(b"garbage")
    assert main(["info", "spec"]) == 2
    assert capsys.readouterr().err.startswith("error:")
    for argv in ([], ["export"], ["export", "spec", "--dtype", "float8"], ["frobnicate"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2


def test_cli_evaluate(tmp_path):
    net = relu_head_net(256)
    theory.save(net, tmp_path / "sel")
    out = _cli(
        "evaluate",
        str(tmp_path / "sel"),
        "--target",
        "x3",
        "--box",
        "-1",
        "1",
        "--samples",
        "1e4",
        "--device",
        "cpu",
        "--search-steps",
        "20",
        "--json",
        str(tmp_path / "r.json"),
    )
    assert out.returncode == 0, out.stderr
    assert "max error" in out.stdout and json.loads((tmp_path / "r.json").read_text())["lower_bound"] == "1"
    _cert(net, Fraction(1, 2)).save(tmp_path / "cert.json")
    bad = _cli(
        "evaluate",
        str(tmp_path / "sel"),
        "--target",
        "x3",
        "--box",
        "-1",
        "1",
        "--samples",
        "1e3",
        "--device",
        "cpu",
        "--search-steps",
        "5",
        "--certificate",
        str(tmp_path / "cert.json"),
    )
    assert bad.returncode == 3 and "UNSOUND" in bad.stderr + bad.stdout
    wrong = _cli("evaluate", str(tmp_path / "sel"), "--target", "x3", "--box", "-1", "1", "--samples", "0")
    assert wrong.returncode == 2 and wrong.stderr.strip().startswith("error: argument 'samples'")
