"""The command line ``python -m checks`` (checks.main): exit codes, report.md / report.json, usage errors, --list and
--only, in process and as a subprocess."""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import sys

import checks
from checks import Registry
from tests.checks.helpers import ctx_for, fail_check, make_claim, raising_check
from tests.helpers import REPO


def run_main(argv, registry=None):
    out, err = io.StringIO(), io.StringIO()
    code = checks.main(argv, registry=registry, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_main_exit_codes_and_report(tmp_path):
    good = Registry([make_claim("t.ok")])
    bad = Registry([make_claim("t.ok"), make_claim("t.fail", fail_check)])
    raising = Registry([make_claim("t.raise", raising_check)])
    code, out, err = run_main(["--out", str(tmp_path / "r0")], good)
    assert code == 0 and "t.ok" in out and "[1/1] t.ok: running" in err and "[1/1] t.ok: pass" in err
    assert run_main(["--out", str(tmp_path / "r1")], bad)[0] == 1
    assert run_main(["--out", str(tmp_path / "r2")], raising)[0] == 1
    doc, runs = checks.load_document(tmp_path / "r1" / "report.json")
    assert doc["schema_version"] == checks.SCHEMA_VERSION and doc["exit_code"] == 1
    assert [r.status for _, r in runs] == ["pass", "fail"]
    assert runs[1][1].evidence["counterexamples"] == [{"x": 2}]
    md = (tmp_path / "r1" / "report.md").read_text()
    assert "t.fail: fail" in md and "seed: 0" in md and "torch" in md
    # round trip: the JSON results equal the Results that produced them
    r = bad["t.fail"].run(ctx_for(tmp_path))
    assert dataclasses.replace(runs[1][1], seconds=0) == dataclasses.replace(r, seconds=0)


def test_main_usage_errors(tmp_path):
    reg = Registry([make_claim("t.ok")])
    assert run_main(["--profile", "medium"], reg)[0] == 2
    code, _, err = run_main(["--only", "nothing.*", "--out", str(tmp_path / "x")], reg)
    assert code == 2 and "nothing.*" in err and not (tmp_path / "x").exists()
    (tmp_path / "exists").mkdir()
    code, _, err = run_main(["--out", str(tmp_path / "exists")], reg)
    assert code == 2 and "--force" in err
    assert run_main(["--seed", "-1", "--out", str(tmp_path / "y")], reg)[0] == 2
    assert run_main(["--seed", "abc"], reg)[0] == 2
    assert run_main(["--bogus"], reg)[0] == 2
    assert run_main(["--help"], reg)[0] == 0
    # --force replaces only a report directory cnnverify wrote (its marker): a directory made by hand is kept
    code, _, err = run_main(["--out", str(tmp_path / "exists"), "--force"], reg)
    assert code == 2 and "no .cnnverify marker" in err and list((tmp_path / "exists").iterdir()) == []
    (tmp_path / "exists").rmdir()
    assert run_main(["--out", str(tmp_path / "exists")], reg)[0] == 0
    assert checks.load_document(tmp_path / "exists" / "report.json")[0]["seed"] == 0
    # --force replaces the directory atomically; nothing else is left next to it
    assert run_main(["--out", str(tmp_path / "exists"), "--force", "--seed", "3"], reg)[0] == 0
    assert checks.load_document(tmp_path / "exists" / "report.json")[0]["seed"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists"]
    (tmp_path / "exists" / "mine.txt").write_text("x")  # the user's own file in it: --force refuses
    code, _, err = run_main(["--out", str(tmp_path / "exists"), "--force"], reg)
    assert code == 2 and "mine.txt" in err and (tmp_path / "exists" / "mine.txt").read_text() == "x"


def test_main_list_and_only(tmp_path):
    reg = Registry([make_claim("a.one"), make_claim("a.two"), make_claim("b.one")])
    code, out, _ = run_main(["--list", "--only", "a.*"], reg)
    assert code == 0 and "a.one" in out and "a.two" in out and "b.one" not in out
    code, out, _ = run_main(["--only", "*.one", "--out", str(tmp_path / "r")], reg)
    doc, runs = checks.load_document(tmp_path / "r" / "report.json")
    assert [i["id"] for i, _ in runs] == ["a.one", "b.one"]


def _cli(*args, cwd=REPO):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "checks", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_cli_subprocess_list_and_bad_usage(tmp_path):
    res = _cli("--list")
    assert res.returncode == 0 and all(i in res.stdout for i in checks.REGISTRY.ids())
    res = _cli("--profile", "bogus")
    assert res.returncode == 2 and "--profile" in res.stderr


def test_cli_subprocess_run_writes_report(tmp_path):
    res = _cli("--only", "ww.select.*", "--out", str(tmp_path / "rep"), "--seed", "7")
    assert res.returncode == 0, res.stderr
    files = sorted(p.name for p in (tmp_path / "rep").iterdir())
    assert "report.md" in files and "report.json" in files and "ww.select.params.param_counts.png" in files
    doc, runs = checks.load_document(tmp_path / "rep" / "report.json")
    assert doc["seed"] == 7 and [i["id"] for i, _ in runs] == [
        "ww.select.exact",
        "ww.select.params",
        "ww.select.proved",
    ]
    assert "ww.select.params" in res.stdout and "pass" in res.stdout
    assert "![ww.select.params" in (tmp_path / "rep" / "report.md").read_text()


def test_cli_default_out_never_collides(tmp_path):
    for _ in range(2):
        assert _cli("--only", "ww.universality.depth", cwd=tmp_path).returncode == 0
    made = sorted((tmp_path / "reports").iterdir())
    assert len(made) == 2 and all(p.name.startswith("checks-") for p in made)
    assert all((p / "report.json").is_file() for p in made)
