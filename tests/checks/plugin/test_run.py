"""Running claims from outside the package: the command line with --claims, worker processes, the result cache,
report.html, and the pytest plugin on the example project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import checks
from checks import Cache, Context, Result
from tests.helpers import REPO

EXAMPLE = REPO / "examples" / "my_lemma"
CLAIMS = EXAMPLE / "my_lemma" / "claims.py"

COUNTING = """
import os, checks

@checks.claim("count.a", statement="s", source="t", kind="exact", cost={"quick": 1, "full": 1})
def a(ctx):
    with open(os.environ["COUNT_FILE"], "a") as f:
        f.write("a\\n")
    ctx.artifact("plot.png").write_bytes(b"png")
    return checks.Result("pass", observed={"x": 1}, evidence={"plots": ["count.a.plot.png"]})

@checks.claim("count.b", statement="s", source="t", kind="exact", cost={"quick": 2, "full": 2})
def b(ctx):
    with open(os.environ["COUNT_FILE"], "a") as f:
        f.write("b\\n")
    return checks.Result("{status_b}")
"""


def run_cli(*args, cwd=REPO, env=None):
    return subprocess.run(
        [sys.executable, "-m", "checks", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        timeout=600,
    )


def test_cli_runs_a_claims_file_and_reports_the_planted_failure(tmp_path):
    listed = run_cli("--claims", CLAIMS, "--only", "mylab.*", "--list")
    assert listed.returncode == 0 and f"[{CLAIMS.resolve()}]" in listed.stdout
    res = run_cli("--claims", CLAIMS, "--only", "mylab.*", "--out", tmp_path / "r", "-j", "1")
    assert res.returncode == 1, res.stderr
    doc = json.loads((tmp_path / "r" / "report.json").read_text())
    status = {e["id"]: e["result"]["status"] for e in doc["claims"]}
    assert status == {"mylab.square.bound": "pass", "mylab.square.planted": "fail"}
    assert all(e["origin"] == str(CLAIMS.resolve()) for e in doc["claims"])
    assert "mylab.square.planted" in (tmp_path / "r" / "report.html").read_text()


def test_cli_duplicate_ids_are_a_usage_error(tmp_path):
    copy = tmp_path / "copy.py"
    copy.write_text(CLAIMS.read_text())
    res = run_cli("--claims", CLAIMS, "--claims", copy, "--list")
    assert res.returncode == 2 and "duplicate claim id 'mylab.square.bound'" in res.stderr
    assert str(CLAIMS.resolve()) in res.stderr and str(copy) in res.stderr


def test_workers_and_cache(tmp_path):
    """-j 2 gives the results of -j 1 in catalogue order; a second run reuses every result (the check does not run
    again, the plot comes back); --no-cache and an edited claims file recompute; unknown results are not kept."""
    src, count = tmp_path / "counting.py", tmp_path / "count.txt"
    src.write_text(COUNTING.replace("{status_b}", "pass"))
    env = {"COUNT_FILE": str(count), "CNNVERIFY_CACHE": str(tmp_path / "cache")}
    base = ["--claims", src, "--only", "count.*"]
    first = run_cli(*base, "-j", "2", "--out", tmp_path / "r1", env=env)
    assert first.returncode == 0, first.stderr
    assert sorted(count.read_text().split()) == ["a", "b"]
    doc1 = json.loads((tmp_path / "r1" / "report.json").read_text())
    assert [e["id"] for e in doc1["claims"]] == ["count.a", "count.b"] and not any(e["cached"] for e in doc1["claims"])
    second = run_cli(*base, "-j", "2", "--out", tmp_path / "r2", env=env)
    assert second.returncode == 0 and sorted(count.read_text().split()) == ["a", "b"]  # nothing ran again
    doc2 = json.loads((tmp_path / "r2" / "report.json").read_text())
    assert all(e["cached"] for e in doc2["claims"]) and "(2 cached)" in second.stdout
    assert [e["result"] for e in doc2["claims"]] == [e["result"] for e in doc1["claims"]]
    assert (tmp_path / "r2" / "count.a.plot.png").read_bytes() == b"png"
    assert run_cli(*base, "--no-cache", "-j", "1", "--out", tmp_path / "r3", env=env).returncode == 0
    assert count.read_text().split().count("a") == 2
    src.write_text(COUNTING.replace("{status_b}", "unknown"))  # edited: new key
    assert run_cli(*base, "-j", "1", "--out", tmp_path / "r4", env=env).returncode == 1
    assert run_cli(*base, "-j", "1", "--out", tmp_path / "r5", env=env).returncode == 1
    assert count.read_text().split().count("b") == 4 and count.read_text().split().count("a") == 3  # a: cached in r5


def test_cache_ignores_damaged_entries(tmp_path):
    cache = Cache(tmp_path / "c")
    key = cache.key("t.x", str(CLAIMS), "quick", 0)
    assert cache.put(key, Result("pass", observed={"v": 1}), [])
    assert cache.get(key, tmp_path / "into") == (Result("pass", observed={"v": 1}), ())
    (cache.root / key[:2] / key / "result.json").write_text("{not json")
    assert cache.get(key, tmp_path / "into") is None
    assert not cache.put(key, Result("unknown"), [])
    assert cache.key("t.x", str(CLAIMS), "quick", 1) != key and cache.key("t.x", str(CLAIMS), "full", 0) != key


def test_html_report_is_self_contained_and_compares(tmp_path):
    from checks.reporting import build_document, environment, render_html

    claim = checks.claim("t.h", statement="<b>x</b> & y", source="s", kind="exact", cost={"quick": 0, "full": 0})(
        lambda ctx: Result("pass")
    )
    (tmp_path / "t.h.p.png").write_bytes((REPO / "docs" / "img").glob("*.png").__next__().read_bytes())
    runs_old = [(claim, Result("pass", observed={"slope": 1.0}, tolerance="exact"))]
    runs_new = [(claim, Result("fail", observed={"slope": 1.5}, tolerance="exact", evidence={"plots": ["t.h.p.png"]}))]
    kw = dict(profile="quick", seed=0, started="a", finished="b", env=environment())
    old, new = build_document(runs_old, **kw), build_document(runs_new, **kw)
    page = render_html(new, tmp_path, baseline=old)
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in page and "<b>x</b>" not in page
    assert "data:image/png;base64," in page and "status pass -&gt; fail" in page
    assert "http://" not in page and "https://" not in page and 'src="http' not in page


@pytest.mark.parametrize(
    "tol, old, new, moved",
    [
        ("exact", {"a": 1}, {"a": 1}, []),
        ("exact", {"a": 1}, {"a": 2}, [("a", 1, 2)]),
        ("rate:sample_slope_lcn", {"s": 1.0}, {"s": 1.3}, []),
        ("rate:sample_slope_lcn", {"s": 1.0}, {"s": 1.5}, [("s", 1.0, 1.5)]),
        (None, {"a": [1, "x"]}, {"a": [1, "y"]}, [("a[1]", "x", "y")]),
        ("exact", {"a": 1, "seconds": 3}, {"a": 1, "seconds": 9}, []),
        ("exact", {"a": 1}, {"a": 1, "b": 2}, [("b", None, 2)]),
    ],
)
def test_moved_uses_the_named_tolerance(tol, old, new, moved):
    assert checks.moved(old, new, tol) == moved


def test_pytest_plugin_on_the_example_project(tmp_path):
    """The example project's pytest run: one claim passes, the planted false claim fails with its witness."""
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "--basetemp",
            str(tmp_path / "bt"),
        ],
        capture_output=True,
        text=True,
        cwd=EXAMPLE,
        env={**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{EXAMPLE}"},
        timeout=600,
    )
    assert res.returncode == 1, res.stdout + res.stderr
    assert "1 failed, 1 passed" in res.stdout
    assert "FAILED ::claims/mylab.square.planted" in res.stdout and "witness" in res.stdout


@pytest.mark.parametrize("policy, outcome", [("fail", "1 failed"), ("xfail", "1 xfailed")])
def test_pytest_plugin_maps_unknown(tmp_path, policy, outcome):
    src = tmp_path / "crash.py"
    src.write_text(
        textwrap.dedent("""
        import checks

        @checks.claim("t.crash", statement="s", source="t", kind="exact", cost={"quick": 0, "full": 0})
        def crash(ctx):
            raise RuntimeError("no decision")
    """)
    )
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "checks.pytest_plugin",
            "--claims",
            str(src),
            "--claims-unknown",
            policy,
            "--rootdir",
            str(tmp_path),
            "--basetemp",
            str(tmp_path / "bt"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=600,
    )
    assert outcome in res.stdout, res.stdout + res.stderr


def test_context_artifacts_are_private_per_unit(tmp_path):
    """Claims of one group share a directory (and so their work); others do not see it."""
    seen = {}

    def writer(ctx):
        ctx.artifact("shared.txt").write_text("w")
        return Result("pass")

    def reader(ctx):
        seen["reader"] = (ctx.out_dir / "g.w.shared.txt").exists()
        return Result("pass")

    def outsider(ctx):
        seen["outsider"] = (ctx.out_dir / "g.w.shared.txt").exists()
        return Result("pass")

    mk = lambda i, f, g: checks.claim(
        i, statement="s", source="t", kind="exact", cost={"quick": 0, "full": 0}, group=g
    )(f)
    reg = checks.Registry([mk("g.w", writer, "grp"), mk("g.r", reader, "grp"), mk("o.x", outsider, "")])
    out = checks.run_claims(reg, list(reg), Context(out_dir=tmp_path / "stage"))
    assert [o.result.status for o in out] == ["pass"] * 3 and seen == {"reader": True, "outsider": False}
    assert sorted(p.name for p in (tmp_path / "stage").iterdir()) == ["g.w.shared.txt"]


def test_runner_and_cache_arguments_are_checked(tmp_path):
    reg = checks.Registry()
    with pytest.raises(checks.ChecksError, match="argument 'jobs'"):
        checks.run_claims(reg, [], Context(out_dir=tmp_path), jobs=0)
    with pytest.raises(checks.ChecksError, match="argument 'cache'"):
        checks.run_claims(reg, [], Context(out_dir=tmp_path), cache="dir")
    with pytest.raises(checks.ChecksError, match="argument 'root'"):
        Cache(5)
