"""Two reports compared claim by claim (checks.compare_reports, ``python -m checks --compare OLD NEW``).

The reports are written by the real command line from isolated registries whose checks return planted results,
so every kind of difference is one the comparison must find, and a timing-only difference one it must not.
"""

from __future__ import annotations

import io
import json

import pytest

import checks
from checks import ChecksError, Registry, Result
from tests.checks.helpers import make_claim


def result(status="pass", observed=None):
    def check(ctx):
        return Result(
            status, observed=observed if observed is not None else {"x": 1}, expected={"x": 1}, tolerance="exact"
        )

    return check


def report(tmp_path, name, claims):
    out = tmp_path / name
    code = checks.main(["--out", str(out)], registry=Registry(claims), stdout=io.StringIO(), stderr=io.StringIO())
    assert code in (0, 1)
    return out / "report.json"


def test_identical_runs_and_timings_are_equal(tmp_path):
    a = report(
        tmp_path, "a", [make_claim("t.a", result(observed={"cases": [{"n": 1, "seconds": 0.5}]})), make_claim("t.b")]
    )
    b = report(
        tmp_path,
        "b",
        [
            make_claim("t.b"),  # order does not matter
            make_claim("t.a", result(observed={"cases": [{"n": 1, "seconds": 0.7}]})),
        ],
    )
    diff = checks.compare_reports(a, b)
    assert diff.identical and diff.same == ("t.b", "t.a")
    strict = checks.compare_reports(a, b, ignore=())
    assert not strict.identical and list(strict.observed) == ["t.a"]


def test_every_kind_of_difference_is_reported(tmp_path):
    a = report(
        tmp_path, "a", [make_claim("t.same"), make_claim("t.status"), make_claim("t.value"), make_claim("t.gone")]
    )
    b = report(
        tmp_path,
        "b",
        [
            make_claim("t.same"),
            make_claim("t.status", result("fail")),
            make_claim("t.value", result(observed={"x": "1/3"})),
            make_claim("t.new"),
        ],
    )
    diff = checks.compare_reports(a, b)
    assert not diff.identical
    assert diff.same == ("t.same",)
    assert diff.status == {"t.status": ("pass", "fail")}
    assert diff.observed == {"t.value": ({"x": 1}, {"x": "1/3"})}
    assert diff.only_old == ("t.gone",) and diff.only_new == ("t.new",)
    text = diff.render()
    assert "status   t.status: pass -> fail" in text and "removed  t.gone" in text and "added    t.new" in text


def test_command_line_exit_codes(tmp_path):
    a = report(tmp_path, "a", [make_claim("t.a")])
    b = report(tmp_path, "b", [make_claim("t.a", result("fail"))])
    run = lambda *args: checks.main(
        ["--compare", *map(str, args)],
        stdout=io.StringIO(),  # noqa: E731
        stderr=io.StringIO(),
    )
    assert run(a, a) == 0
    assert run(a, b) == 1
    (tmp_path / "junk.json").write_text("{not json")
    assert run(a, tmp_path / "junk.json") == 2
    assert run(a, tmp_path / "missing.json") == 2


def test_bad_report_is_a_clear_error(tmp_path):
    a = report(tmp_path, "a", [make_claim("t.a")])
    (tmp_path / "other.json").write_text('{"schema": "something else"}')
    with pytest.raises(ChecksError, match="argument 'path'"):
        checks.compare_reports(a, tmp_path / "other.json")


@pytest.mark.parametrize("ignore", ["seconds", [1], None])
def test_bad_ignore_is_a_clear_error(tmp_path, ignore):
    a = report(tmp_path, "a", [make_claim("t.a")])
    with pytest.raises(ChecksError, match="ignore"):
        checks.compare_reports(a, a, ignore=ignore)


@pytest.mark.parametrize("reason", ["", "  ", None, 3])
def test_not_testable_needs_a_reason(reason):
    with pytest.raises(ChecksError, match="reason"):
        checks.not_testable(reason)


@pytest.mark.parametrize("kind", ["deep file", "deep observed", "claims not a list of objects"])
def test_corrupted_report_is_a_clear_error(tmp_path, kind):
    """A deeply nested or malformed report.json is 'not a report' (exit 2), never a RecursionError traceback."""
    a = report(tmp_path, "a", [make_claim("t.a")])
    bad = tmp_path / "bad.json"
    if kind == "deep file":
        bad.write_text("[" * 100_000)
    else:
        doc = json.loads(a.read_text())
        if kind == "deep observed":
            doc["claims"][0]["result"]["observed"] = "DEEP"
            bad.write_text(json.dumps(doc).replace('"DEEP"', '{"a":' * 900 + "1" + "}" * 900))
        else:
            doc["claims"] = [1, 2]
            bad.write_text(json.dumps(doc))
    try:
        with pytest.raises(ChecksError, match="argument 'path'"):
            checks.compare_reports(a, bad)
    except RecursionError:
        pytest.fail("RecursionError escaped")
    err = io.StringIO()
    assert checks.main(["--compare", str(a), str(bad)], stdout=io.StringIO(), stderr=err) == 2
    assert "Traceback" not in err.getvalue()
