"""Claims declared outside the package: the decorator, discovery by module name, file path and entry point,
unique ids, and the one-line checks (each planted violation must be caught with a witness that really violates)."""

from __future__ import annotations

import textwrap
from fractions import Fraction

import pytest

import checks
import theory
from checks import ChecksError, Result
from tests.helpers import REPO

EXAMPLE = REPO / "examples" / "my_lemma" / "my_lemma" / "claims.py"

CLAIMS_FILE = """
import checks

@checks.claim("lab.one", statement="s", source="lab", kind="exact", cost={{"quick": 0, "full": 0}})
def one(ctx):
    return checks.Result("{status}")
"""


def write(tmp_path, name="claims.py", status="pass", body=None):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body if body is not None else CLAIMS_FILE.format(status=status)))
    return path


def test_claims_in_finds_top_level_claims_and_tables_in_order():
    origin, found = checks.load_source("checks.ww")
    assert origin == "checks.ww" and [c.id for c in found] == [c.id for c in checks.ww.CLAIMS]
    origin, found = checks.load_source(str(EXAMPLE))
    assert origin == str(EXAMPLE.resolve())
    assert [c.id for c in found] == ["mylab.square.bound", "mylab.square.planted"]


@pytest.mark.parametrize(
    "source, message",
    [
        ("no/such/file.py", "no such file"),
        ("no_such_module_xyz", "failed to import: ModuleNotFoundError"),
        ("json", "defines no claim"),
        ("", "a module name or a .py file path"),
    ],
)
def test_bad_sources_are_clear_errors(source, message):
    with pytest.raises(ChecksError, match=message):
        checks.load_source(source)


def test_import_error_in_a_claims_file_is_reported(tmp_path):
    path = write(tmp_path, body="import checks\nraise RuntimeError('boom in user code')\n")
    with pytest.raises(ChecksError, match="failed to import: RuntimeError: boom in user code"):
        checks.load_source(str(path))


def test_duplicate_ids_name_both_sources(tmp_path):
    a, b = write(tmp_path, "a.py"), write(tmp_path, "b.py")
    with pytest.raises(ChecksError, match=rf"duplicate claim id 'lab.one': defined in {a} and again in {b}"):
        checks.build_registry([str(a), str(b)], builtin=False)
    with pytest.raises(ChecksError, match="duplicate claim id 'ww.gather.exact': defined in checks.ww"):
        checks.build_registry([str(write(tmp_path, "c.py", body="from checks.ww import CLAIMS\n"))])


def test_entry_points_are_discovered(monkeypatch, tmp_path):
    write(tmp_path, "ep_claims.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(checks.claims._discover, "entry_point_sources", lambda: ["ep_claims"])
    reg = checks.build_registry(entry_points=True)
    assert reg.ids()[-1] == "lab.one" and reg.origin("lab.one") == "ep_claims"
    assert "lab.one" not in checks.build_registry()  # entry points only when asked


# ---------------------------------------------------------------------------------------------- one-line checks


def test_expect_routing_proves_and_refutes_with_a_real_witness():
    net = theory.select(64, [3, 60], 2)
    assert checks.expect_routing(net).status == "pass"
    assert checks.expect_routing(theory.to_lcn(net), [3, 60]).status == "pass"  # no tree: monolithic z3
    wrong = checks.expect_routing(net, [3, 59])
    assert wrong.status == "fail"
    x = [Fraction(wrong.evidence["witness"].get(f"x{i}", "0")) for i in range(64)]
    assert list(theory.evaluate_exact(net, x)) != [x[3], x[59]]


def test_expect_sup_error_pass_fail_and_the_witness_violates():
    net = theory.compose(theory.select(16, [5], 2), theory.square_head(m=3))  # error 1/256 on [0, 1]
    assert checks.expect_sup_error(net, "x5**2", (0, 1), "1/128").status == "pass"
    r = checks.expect_sup_error(net, "x5**2", (0, 1), "1/1024")
    assert r.status == "fail" and Fraction(r.observed["lower"]) > Fraction(1, 1024)
    x5 = Fraction(r.evidence["witness"]["x5"])
    x = [Fraction(0)] * 16
    x[5] = x5
    assert abs(theory.evaluate_exact(net, x)[0] - x5**2) > Fraction(1, 1024)


def test_expect_rate_checks_the_declared_window(tmp_path):
    params = lambda d: theory.select(d, [0, d - 1], 2).param_count()
    ok = checks.expect_rate(params, [64, 256, 1024, 4096], (0, 0.4))  # Theta(log d): slope -> 0
    assert ok.status == "pass" and 0 < ok.observed["slope"] < 0.4
    lcn = lambda d: theory.to_lcn(theory.select(d, [0, d - 1], 2)).param_count()
    bad = checks.expect_rate(lcn, [64, 256, 1024], (0, 0.4))  # Theta(d): slope ~ 1
    assert bad.status == "fail" and bad.observed["slope"] > 0.9
    ctx = checks.Context(out_dir=tmp_path, claim_id="t.rate")
    plotted = checks.expect_rate(params, [64, 256], (0, 1), ctx=ctx)
    assert (tmp_path / plotted.evidence["plots"][0]).stat().st_size > 0
    with pytest.raises(ChecksError, match="argument 'window'"):
        checks.expect_rate(params, [64, 256], (1, 0))


def test_expect_equal_on_a_box():
    net = theory.select(16, [1, 14], 2)
    assert checks.expect_equal(net, theory.to_lcn(net), (-1, 1)).status == "pass"
    other = theory.select(16, [1, 13], 2)
    r = checks.expect_equal(net, other, (-1, 1))
    assert r.status == "fail"
    x = [Fraction(v) for v in r.evidence["witness"]]
    assert all(-1 <= v <= 1 for v in x) and theory.evaluate_exact(net, x) != theory.evaluate_exact(other, x)
    assert checks.expect_equal(net, other, ("1/2", "1/2")).status == "pass"  # equal where x13 = x14
    with pytest.raises(ChecksError, match="the same sizes as net_a"):
        checks.expect_equal(net, theory.select(32, [1, 14], 2))


def test_claim_decorator_rejects_bad_records():
    with pytest.raises(ChecksError, match="argument 'group'"):
        checks.claim("a.b", statement="s", source="x", kind="exact", cost={"quick": 0, "full": 0}, group="no spaces")(
            lambda ctx: Result("pass")
        )
