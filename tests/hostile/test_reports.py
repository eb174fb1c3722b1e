"""Reports and JSON files handed back to the toolkit: bounded, validated, and rendered inert."""

from __future__ import annotations

import io
import json
import os
import re

import pytest

import checks
import theory
from checks import ChecksError, Claim, Registry, Result
from tests.checks.helpers import make_claim


def _report(tmp_path, name, claims):
    out = tmp_path / name
    checks.main(["--out", str(out)], registry=Registry(claims), stdout=io.StringIO(), stderr=io.StringIO())
    return out / "report.json"


@pytest.fixture()
def good(tmp_path):
    return _report(tmp_path, "a", [make_claim("t.a"), make_claim("t.b")])


def _edited(tmp_path, good, edit):
    doc = json.loads(good.read_text())
    text = edit(doc)
    path = tmp_path / "edited.json"
    path.write_text(text if isinstance(text, str) else json.dumps(doc))
    return path


@pytest.mark.parametrize(
    "edit, why",
    [
        (lambda d: json.dumps(d).replace('"seed": 0', '"seed": ' + "9" * 100_000), "not valid JSON"),
        (lambda d: d["claims"].append(d["claims"][0]), "distinct claim ids"),
        (lambda d: "[" * 100_000, "not valid JSON"),
    ],
)
def test_compare_refuses_hostile_reports(tmp_path, good, edit, why):
    with pytest.raises(ChecksError, match=why):
        checks.compare_reports(good, _edited(tmp_path, good, edit))


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_special_file_is_refused_before_reading():
    with pytest.raises(theory.TheoryError, match="not a regular file"):
        theory.io.read_json("/dev/zero")
    out = io.StringIO()
    assert checks.main(["--compare", "/dev/zero", "/dev/zero"], stdout=out, stderr=out) == 2


def test_report_md_shows_claim_text_as_typed_never_as_markup(tmp_path):
    hostile = "<script>alert(1)</script> [link](javascript:alert(1)) ![img](http://x/y.png) `code` &amp;"

    def check(ctx):
        return Result("pass", observed={"html": "```\n<img src=x onerror=alert(1)>"}, note=hostile)

    claim = Claim("t.h", hostile, hostile, "exact", {"quick": 0.1, "full": 0.1}, check)
    report = _report(tmp_path, "h", [claim])
    md = (report.parent / "report.md").read_text()
    assert md.count("```") == 2  # the table's own fence, which no value closes early
    md = md.split("```")[0] + md.split("```")[2]  # inside the fence nothing renders
    for live in (r"(?<!\\)<(script|img|/script)", r"(?<!\\)\]\(javascript", r"(?<!\\)!\[", r"(?<!\\)&amp;"):
        assert re.search(live, md) is None, live  # nothing a Markdown renderer would act on
    assert "\\<script>alert(1)\\</script>" in md  # shown as typed once rendered
