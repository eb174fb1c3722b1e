"""Certificates a check passes on are re-checked by the independent checker, kept beside the report with the
command that re-checks them, re-checked again before a cached result is served, and a rejection fails the claim."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

import checks
import theory
from checks import Cache, Context, Result
from checks.expect import _expect
from checks.expect._certificates import keep_certificate
from checks.running._cache import DIGEST, _digest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def net():
    return theory.approximate_sparse(16, [2, 9], "x0*x1", (-1, 1), Fraction(1, 20))


def _ctx(tmp_path):
    return dataclasses.replace(Context(out_dir=tmp_path / "out"), claim_id="my.claim")


def test_expect_sup_error_keeps_and_rechecks_its_certificate(net, tmp_path):
    result = checks.expect_sup_error(net, "x2*x9", (-1, 1), "1/20", ctx=_ctx(tmp_path))
    assert result.status == "pass"
    (kept,) = result.evidence["certificates"]
    assert kept["check"] == "accepted"
    out = tmp_path / "out"
    assert kept["certificate"] == "my.claim.cert.certificate.json" and (out / kept["certificate"]).is_file()
    assert (out / kept["spec"] / "spec.json").is_file()
    assert kept["recheck"] == f"python -m theory check {kept['certificate']} {kept['spec']}"
    done = subprocess.run(
        [sys.executable, "-m", "theory", *kept["recheck"].split()[3:]],
        cwd=out,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    assert done.returncode == 0 and "accepted" in done.stdout, done.stdout + done.stderr


def test_a_certificate_the_checker_rejects_fails_the_claim(net, monkeypatch):
    honest = theory.certify_sup_error

    def forged(*args, **kwargs):
        cert = honest(*args, **kwargs)
        return dataclasses.replace(cert, witness={k: Fraction(0) for k in cert.witness})  # error 0 there

    monkeypatch.setattr(_expect.theory, "certify_sup_error", forged)
    result = checks.expect_sup_error(net, "x2*x9", (-1, 1), "1/20")
    assert result.status == "fail"
    assert result.evidence["certificates"][0]["check"] == "rejected"
    assert result.evidence["certificates"][0]["check_step"] == "witness"


def test_a_cached_certificate_is_rechecked_before_it_is_served(net, tmp_path):
    cert = theory.certify_sup_error(net, "x2*x9", (-1, 1))
    kept = keep_certificate(cert, net, _ctx(tmp_path))
    result = Result("pass", evidence={"certificates": [kept]})
    out = tmp_path / "out"
    files = [out / kept["certificate"], out / kept["spec"]]
    cache = Cache(tmp_path / "c")
    key = "ef" + "0" * 62
    assert cache.put(key, result, files)
    served = cache.get(key, tmp_path / "into1")
    assert served is not None and cache.rechecked[key] == [f"{kept['certificate']} (accepted)"]
    # the stored certificate tampered with (its witness moved): the entry is not served, the claim recomputes
    stored = cache.root / key[:2] / key / "files" / kept["certificate"]
    doc = json.loads(stored.read_text())
    doc["witness"] = {k: "0" for k in doc["witness"]}
    stored.write_text(json.dumps(doc))
    assert cache.get(key, tmp_path / "into2") is None
    assert "do not match its digest" in cache.stale[key][0]
    # ... and with the entry's digest forged to match: the checker still rejects the certificate
    entry = cache.root / key[:2] / key
    (entry / DIGEST).write_text(_digest(entry))
    assert cache.get(key, tmp_path / "into3") is None
    assert "rejected by the checker (witness" in cache.stale[key][0]


def test_reports_link_the_certificate_and_its_command(net, tmp_path):
    from checks.reporting._text import certificates_of

    cert = theory.certify_sup_error(net, "x2*x9", (-1, 1))
    kept = keep_certificate(cert, net, _ctx(tmp_path))
    (c,) = certificates_of(Result("pass", evidence={"certificates": [kept]}))
    assert c == {k: kept[k] for k in ("certificate", "spec", "check", "recheck")}
    assert certificates_of(Result("pass", evidence={"certificates": "not a list"})) == []
