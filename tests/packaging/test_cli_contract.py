"""One contract for every command line (docs/cli.md), as a table: each subcommand against each kind of row.

Rows: ok -> 0; bad input -> 2 with the package's error message and no traceback; an unwritable output (``/proc``,
a read-only directory) -> 2 before computing; ``--force`` on a directory cnnverify did not write -> 2 with the
foreign file kept; a failing claim or point -> 1; an unsound bound -> 3; ``--device cuda`` without CUDA -> 2.
Most rows call each package's ``main`` in process (fast); a few run ``python -m ...`` as a subprocess to check
the real entry points, including a closed standard output (``| head``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import pytest
import torch

import checks
import numerics._cli
import theory
import theory._main
from checks import Registry
from tests.checks.helpers import fail_check, make_claim
from tests.helpers import REPO
from tests.numerics.learning import fake_evaluator

NET = theory.approximate_sparse(16, [0, 15], "x0*x1", (-1, 1), Fraction(1, 50))
"""x0*x15 on [-1, 1]^2 by a product head: true sup error 0.0156 (a-priori bound 1/64)."""
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
CUDA = torch.cuda.is_available()
SEP = [
    "separation",
    "--task",
    "halves",
    "--ds",
    "4,8",
    "--archs",
    "cnn",
    "--seeds",
    "2",
    "--executor",
    "serial",
    "--no-progress",
    "--evaluator",
    fake_evaluator.EVALUATOR,
]
BUILD = ["build", "select", "--d", "16", "--support", "0,15"]
REGISTRIES = {
    "ok": lambda: Registry([make_claim("t.ok")]),
    "fail": lambda: Registry([make_claim("t.ok"), make_claim("t.fail", fail_check)]),
}


@dataclass(frozen=True)
class Row:
    """One command line call: ``{T}`` in ``argv`` is the row's directory, holding ``spec`` (NET, saved),
    ``foreign/notes.txt`` (a directory cnnverify did not write) and ``ro`` (read-only, when asked)."""

    id: str
    package: str  # theory | numerics | checks
    argv: list[str]
    code: int
    err: str = ""  # a regex that stderr must match
    skip: str = ""  # "root": needs a non-root user; "cuda": needs a machine without CUDA
    no_search: bool = False  # the output path must be refused before the certifier runs (it is replaced by a trap)
    registry: str = "ok"  # checks only: which claims
    extra: dict = field(default_factory=dict)


ROWS = [
    # python -m theory build / show / certify
    Row("build ok", "theory", [*BUILD, "--out", "{T}/b"], 0),
    Row(
        "build bad support",
        "theory",
        ["build", "select", "--d", "16", "--support", "0,,1", "--out", "{T}/b"],
        2,
        r"^error: argument '--support'.*item 2 is empty",
    ),
    Row("build bad d", "theory", ["build", "select", "--d", "15", "--support", "0", "--out", "{T}/b"], 2, r"^error: "),
    Row(
        "build over budget",
        "theory",
        ["build", "gather", "--d", "1024", "--memory-budget", "1KiB", "--out", "{T}/b"],
        2,
        r"^error: gather: estimated .* exceeds memory_budget 1 KiB; pass memory_budget= / --memory-budget",
    ),
    Row(
        "build bad budget",
        "theory",
        ["build", "gather", "--d", "16", "--memory-budget", "4 gigs", "--out", "{T}/b"],
        2,
        r"^error: argument '--memory-budget': got '4 gigs'",
    ),
    Row(
        "build formula starting with -",
        "theory",
        [
            "build",
            "approx",
            "--d",
            "16",
            "--support",
            "0,15",
            "--g",
            "-x0*x1",
            "--box",
            "-1,1",
            "--eps",
            "1/50",
            "--out",
            "{T}/b",
        ],
        0,
    ),
    Row("build option missing its value", "theory", [*BUILD, "--out", "--force"], 2, r"expected one argument"),
    Row("build /proc", "theory", [*BUILD, "--out", "/proc/cnnverify-x"], 2, r"^error: argument '--out'.*not writable"),
    Row("build read-only", "theory", [*BUILD, "--out", "{T}/ro/x"], 2, r"not writable", skip="root"),
    Row("build force foreign", "theory", [*BUILD, "--out", "{T}/foreign", "--force"], 2, r"no \.cnnverify marker"),
    Row("build force cwd", "theory", [*BUILD, "--out", ".", "--force"], 2, r"current directory", extra={"cwd": "spec"}),
    Row("show ok", "theory", ["show", "{T}/spec"], 0),
    Row("show missing", "theory", ["show", "{T}/nope"], 2, r"^error: argument 'path'"),
    Row("certify ok", "theory", ["certify", "{T}/spec", "--time-limit", "20", "--out", "{T}/c.json"], 0),
    Row("certify refuted", "theory", ["certify", "{T}/spec", "--eps", "1e-3", "--time-limit", "10"], 1),
    Row(
        "certify budget",
        "theory",
        ["certify", "{T}/spec", "--time-limit", "0", "--method", "branch-and-bound"],
        1,
        r"stopped before --rel-gap",
    ),
    Row("certify bad box", "theory", ["certify", "{T}/spec", "--box", "1"], 2, r"^error: argument '--box'"),
    Row(
        "certify /proc",
        "theory",
        ["certify", "{T}/spec", "--time-limit", "30", "--out", "/proc/x/c.json"],
        2,
        r"^error: argument '--out'",
        no_search=True,
    ),
    Row(
        "certify read-only",
        "theory",
        ["certify", "{T}/spec", "--time-limit", "30", "--out", "{T}/ro/c.json"],
        2,
        r"not writable",
        skip="root",
        no_search=True,
    ),
    Row(
        "certify exists",
        "theory",
        ["certify", "{T}/spec", "--out", "{T}/spec/spec.json"],
        2,
        r"--force",
        no_search=True,
    ),
    # python -m numerics export / info / evaluate / separation / duat
    Row("export ok", "numerics", ["export", "{T}/spec", "--dtype", "float32"], 0),
    Row("export missing", "numerics", ["export", "{T}/nope"], 2, r"^error: argument 'spec_dir'"),
    Row("export read-only", "numerics", ["export", "{T}/ro/spec"], 2, r"not writable", skip="root"),
    Row("info ok", "numerics", ["info", "{T}/spec"], 0),
    Row("info missing", "numerics", ["info", "{T}/nope"], 2, r"^error: "),
    Row(
        "evaluate ok",
        "numerics",
        [
            "evaluate",
            "{T}/spec",
            "--samples",
            "1e3",
            "--search-steps",
            "5",
            "--device",
            "cpu",
            "--no-progress",
            "--json",
            "{T}/r.json",
        ],
        0,
    ),
    Row(
        "evaluate target starting with -",
        "numerics",
        [
            "evaluate",
            "{T}/spec",
            "--target",
            "-x0*x15",
            "--samples",
            "1e3",
            "--search-steps",
            "5",
            "--device",
            "cpu",
            "--no-progress",
        ],
        0,
    ),
    Row(
        "evaluate bad samples", "numerics", ["evaluate", "{T}/spec", "--samples", "0"], 2, r"^error: argument 'samples'"
    ),
    Row(
        "evaluate /proc",
        "numerics",
        ["evaluate", "{T}/spec", "--samples", "1e3", "--json", "/proc/x.json"],
        2,
        r"^error: argument '--json'.*not writable",
    ),
    Row("evaluate json exists", "numerics", ["evaluate", "{T}/spec", "--json", "{T}/spec/spec.json"], 2, r"--force"),
    Row(
        "evaluate cuda",
        "numerics",
        ["evaluate", "{T}/spec", "--device", "cuda"],
        2,
        r"^error: argument '--device'.*CUDA is not available",
        skip="cuda",
    ),
    Row(
        "evaluate unsound",
        "numerics",
        [
            "evaluate",
            "{T}/spec",
            "--samples",
            "1e3",
            "--search-steps",
            "5",
            "--device",
            "cpu",
            "--no-progress",
            "--certificate",
            "{T}/wrong.json",
        ],
        3,
        r"UNSOUND",
    ),
    Row("separation ok", "numerics", [*SEP, "--out", "{T}/s"], 0),
    Row(
        "separation every point fails",
        "numerics",
        [*SEP, "--evaluator", fake_evaluator.FAILING, "--out", "{T}/s"],
        1,
        r"searches stopped at a failed point",
    ),
    Row("separation bad ds", "numerics", [*SEP, "--ds", "4,,8", "--out", "{T}/s"], 2, r"^error: argument 'ds'"),
    Row("separation /proc", "numerics", [*SEP, "--out", "/proc/cnnverify-x"], 2, r"^error: argument '--out'"),
    Row("separation read-only", "numerics", [*SEP, "--out", "{T}/ro/s"], 2, r"not writable", skip="root"),
    Row("separation foreign", "numerics", [*SEP, "--out", "{T}/foreign", "--force"], 2, r"not a store|other files"),
    Row(
        "separation cuda",
        "numerics",
        [*SEP, "--device", "cuda", "--out", "{T}/s"],
        2,
        r"^error: argument '--device'.*CUDA is not available",
        skip="cuda",
    ),
    Row("duat ok", "numerics", ["duat", "--model", "vgg-small", "--input", "3x8x8"], 0),
    Row(
        "duat bad input",
        "numerics",
        ["duat", "--model", "vgg-small", "--input", "3x3z"],
        2,
        r"^error: argument 'input'",
    ),
    # python -m checks
    Row("checks ok", "checks", ["--out", "{T}/r"], 0),
    Row("checks failing claim", "checks", ["--out", "{T}/r"], 1, registry="fail"),
    Row("checks bad only", "checks", ["--only", "nothing.*", "--out", "{T}/r"], 2, r"error: argument --only"),
    Row("checks /proc", "checks", ["--out", "/proc/cnnverify-x"], 2, r"error: argument '--out'.*not writable"),
    Row("checks read-only", "checks", ["--out", "{T}/ro/r"], 2, r"not writable", skip="root"),
    Row("checks force foreign", "checks", ["--out", "{T}/foreign", "--force"], 2, r"no \.cnnverify marker"),
    Row("checks compare bad", "checks", ["--compare", "{T}/spec/spec.json", "{T}/spec/spec.json"], 2, r"error: "),
]


def _no_search(*args, **kwargs):
    raise AssertionError("the certifier ran before the output path was checked")


def _workspace(tmp: Path, row: Row) -> None:
    theory.save(NET, tmp / "spec")
    (tmp / "foreign").mkdir()
    (tmp / "foreign" / "notes.txt").write_text("mine")
    wrong = theory.Certificate(
        claim="sup |net - x0*x15| <= 1/1000 (planted, wrong)",
        status="proved",
        method="interval-bnb",
        spec_hash=NET.content_hash,
        upper=Fraction(1, 1000),
    )
    wrong.save(tmp / "wrong.json")
    if "{T}/ro" in " ".join(row.argv):
        (tmp / "ro").mkdir()
        theory.save(NET, tmp / "ro" / "spec")
        (tmp / "ro").chmod(0o555)


def _call(row: Row, argv: list[str], capsys) -> tuple[int, str, str]:
    if row.package == "checks":
        code = checks.main(argv, registry=REGISTRIES[row.registry]())
    else:
        main = theory._main.main if row.package == "theory" else numerics._cli.main
        try:
            code = main(argv)
        except SystemExit as e:  # the argument parser's own usage errors
            code = e.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.filterwarnings("ignore:UNSOUND")  # the planted unsound certificate warns, as it should
@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_contract(row, tmp_path, capsys, monkeypatch):
    if row.skip == "root" and ROOT:
        pytest.skip("root can write into a read-only directory")
    if row.skip == "cuda" and CUDA:
        pytest.skip("CUDA is present")
    _workspace(tmp_path, row)
    if "cwd" in row.extra:
        monkeypatch.chdir(tmp_path / row.extra["cwd"])
    argv = [a.replace("{T}", str(tmp_path)) for a in row.argv]
    if row.no_search:
        monkeypatch.setattr(theory._main, "certify_sup_error", _no_search)
    try:
        code, out, err = _call(row, argv, capsys)
    finally:
        if (tmp_path / "ro").exists():
            (tmp_path / "ro").chmod(0o755)
    assert code == row.code, f"exit {code}, expected {row.code}\nstdout: {out}\nstderr: {err}"
    assert "Traceback" not in err
    if row.err:
        assert re.search(row.err, err, re.MULTILINE), err
    if row.code == 2 and row.package != "checks":
        assert err.startswith(("error: ", "usage: ")), err
    assert (tmp_path / "foreign" / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "foreign").iterdir()) == ["notes.txt"]
    assert not [p for p in Path("/proc").glob("cnnverify-x*")]
    if row.code == 2 and "{T}/ro" in " ".join(row.argv):
        assert sorted(p.name for p in (tmp_path / "ro").iterdir()) == ["spec"], "nothing left on disk"


# ------------------------------------------------------------------ the real entry points, as subprocesses


def _run(module: str, *args: str, cwd: Path = REPO, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )


def test_subprocess_usage_error_is_one_line(tmp_path):
    res = _run("theory", *BUILD[:4], "--support", "0,,1", "--out", str(tmp_path / "b"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and res.stderr.startswith("error: argument '--support'")
    assert not (tmp_path / "b").exists()


def test_subprocess_certify_checks_out_before_computing(tmp_path):
    theory.save(NET, tmp_path / "spec")
    res = _run("theory", "certify", str(tmp_path / "spec"), "--time-limit", "30", "--out", "/proc/x/c.json")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "boxes" not in res.stderr, "the search ran (its progress line was printed) before --out was checked"
    assert res.stderr.startswith("error: argument '--out': got '/proc/x/c.json'")


@pytest.mark.skipif(CUDA, reason="CUDA is present")
def test_subprocess_separation_without_cuda(tmp_path):
    res = _run(
        "numerics",
        "separation",
        "--task",
        "patch-quadratic",
        "--profile",
        "quick",
        "--device",
        "cuda",
        "--out",
        str(tmp_path / "x"),
    )
    assert res.returncode == 2 and "CUDA is not available" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "x").exists()


def test_subprocess_checks_unwritable_out():
    res = _run("checks", "--only", "ww.select.exact", "--out", "/proc/cnnverify-x")
    assert res.returncode == 2 and "not writable" in res.stderr and "Traceback" not in res.stderr
    assert "running" not in res.stderr  # refused before any claim ran


@pytest.mark.parametrize("module, args", [("checks", ["--list"]), ("theory", ["show", "{T}/spec"])])
def test_subprocess_closed_stdout_is_quiet(tmp_path, module, args):
    """``python -m checks --list | head``: the reader is gone before the writer starts (the worst case)."""
    theory.save(NET, tmp_path / "spec")
    r, w = os.pipe()
    os.close(r)
    try:
        res = _run(module, *[a.replace("{T}", str(tmp_path)) for a in args], stdout=w)
    finally:
        os.close(w)
    assert res.returncode == theory.cli.EXIT_PIPE and res.stderr == "", res.stderr
