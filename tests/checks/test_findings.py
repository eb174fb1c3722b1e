"""Recorded findings (``Claim.findings``): a claim known to fail in a profile still runs and still reports ``fail``;
the run's exit status does not count that fail, counts a pass (the finding went stale) and counts an ``unknown``.
Checked through the command line, the reports and the pytest plugin."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap

import pytest

import checks
from checks import ChecksError, Claim, Registry
from checks.claims import counts_as_failure, finding_state, status_label
from tests.checks.helpers import fail_check, make_claim, ok_check, raising_check
from tests.helpers import REPO

FINDING = "not reproduced: measured 1.01 against <= 0.1; docs/example.md"


def recorded(id: str, check, profiles=("quick",)) -> Claim:
    return Claim(
        id,
        "a statement",
        "test source (reconstruction)",
        "numerical",
        {"quick": 0.1, "full": 0.1},
        check,
        findings={p: FINDING for p in profiles},
    )


def run_main(argv, registry):
    out, err = io.StringIO(), io.StringIO()
    code = checks.main(argv, registry=registry, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


# (finding, status) -> (state, counts as a failure of the run): the whole rule as a table
RULE = [
    ("", "pass", "", False),
    ("", "not-testable", "", False),
    ("", "fail", "", True),
    ("", "unknown", "", True),
    (FINDING, "fail", "known", False),
    (FINDING, "pass", "stale", True),
    (FINDING, "unknown", "", True),
]


@pytest.mark.parametrize("finding, status, state, counts", RULE)
def test_the_rule(finding, status, state, counts):
    assert finding_state(finding, status) == state
    assert counts_as_failure(finding, status) is counts
    assert status_label(status, finding).startswith(status)


@pytest.mark.parametrize(
    "findings, message",
    [
        ({"nightly": FINDING}, "profiles"),
        ({"quick": "  "}, "non-empty"),
        ({"quick": 3}, "non-empty"),
        ("quick", "a dict"),
    ],
)
def test_bad_findings_are_clear_errors(findings, message):
    with pytest.raises(ChecksError, match="findings") as e:
        Claim("t.x", "s", "t", "exact", {"quick": 0, "full": 0}, ok_check, findings=findings)
    assert message in str(e.value)


def test_a_not_testable_claim_cannot_record_a_finding():
    with pytest.raises(ChecksError, match="not-testable"):
        Claim(
            "t.x",
            "s",
            "t",
            "not-testable",
            {"quick": 0, "full": 0},
            checks.not_testable("why"),
            findings={"quick": FINDING},
        )


def test_known_finding_is_reported_as_a_fail_and_does_not_fail_the_run(tmp_path):
    reg = Registry([make_claim("t.ok"), recorded("t.known", fail_check)])
    code, out, err = run_main(["--out", str(tmp_path / "r")], reg)
    assert code == 0, out + err
    assert "fail (recorded finding)" in out and "1 fail as recorded" in out
    assert "t.known: fail (recorded finding)" in err
    doc, runs = checks.load_document(tmp_path / "r" / "report.json")
    assert [r.status for _, r in runs] == ["pass", "fail"]  # the result itself is unchanged: a fail
    assert doc["summary"]["fail"] == 1 and doc["findings"] == {"known": ["t.known"], "stale": []}
    assert runs[1][0]["finding"] == FINDING and runs[0][0]["finding"] == ""
    md = (tmp_path / "r" / "report.md").read_text()
    assert "## t.known: fail (recorded finding)" in md and f"- recorded finding: {FINDING}" in md
    assert "fail (recorded finding)" in (tmp_path / "r" / "report.html").read_text()


@pytest.mark.parametrize(
    "check, profiles, argv, why",
    [
        (ok_check, ("quick",), [], "stale"),  # it passes: the recorded finding is out of date
        (raising_check, ("quick",), [], "unknown"),  # a crash is never a finding
        (fail_check, ("full",), [], "other profile"),  # recorded for full only, fails in quick
        (fail_check, ("quick",), ["--profile", "full"], "other profile"),
    ],
)
def test_what_still_fails_the_run(tmp_path, check, profiles, argv, why):
    code, out, err = run_main(["--out", str(tmp_path / "r"), *argv], Registry([recorded("t.x", check, profiles)]))
    assert code == 1, (why, out, err)
    doc = json.loads((tmp_path / "r" / "report.json").read_text())
    assert doc["exit_code"] == 1
    if why == "stale":
        assert doc["findings"]["stale"] == ["t.x"] and "no longer reproduce" in out and "pass (finding stale)" in out


def test_the_catalogue_records_the_fig2_finding_in_both_profiles():
    claim = checks.REGISTRY["ww.fig2.cnn_learns_sparse"]
    assert set(claim.findings) == {"quick", "full"}
    assert all("docs/separation.md" in text for text in claim.findings.values())


def test_list_shows_recorded_findings(tmp_path):
    code, out, _ = run_main(["--list"], Registry([recorded("t.x", fail_check, ("quick", "full"))]))
    assert code == 0 and "(recorded finding: fails in quick, full)" in out


@pytest.mark.parametrize("status, outcome", [("fail", "1 xfailed"), ("pass", "1 failed")])
def test_pytest_plugin_treats_a_finding_as_a_strict_xfail(tmp_path, status, outcome):
    src = tmp_path / "found.py"
    src.write_text(
        textwrap.dedent(f'''
        import checks

        @checks.claim("t.found", statement="s", source="t", kind="numerical", cost={{"quick": 0, "full": 0}},
                      findings={{"quick": "{FINDING}"}})
        def found(ctx):
            return checks.Result("{status}")
    ''')
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
            "--rootdir",
            str(tmp_path),
            "--basetemp",
            str(tmp_path / "bt"),
            "-rxf",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=600,
    )
    assert outcome in res.stdout, res.stdout + res.stderr
    assert ("fails as recorded" if status == "fail" else "no longer reproduces") in res.stdout
