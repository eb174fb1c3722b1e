"""Spec files cover ``meta`` by a hash (format version 2); version 1 files, without one, still load."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import pytest

import theory
from tests.helpers import format_1_document
from theory import Network


def _approx() -> Network:
    return theory.approximate_sparse(16, [0, 9], "x0*x1", (-1, 1), "1/100")


def _edit(path: Path, fn) -> None:
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))


def test_meta_hash_is_recorded_and_independent():
    net = _approx()
    doc = theory.to_json(net)
    assert doc["version"] == 2 and doc["meta_hash"] == net.meta_hash
    canonical = json.dumps(json.loads(json.dumps(doc["meta"])), sort_keys=True, separators=(",", ":"))
    want = hashlib.sha256(f"cnnverify.meta|{net.content_hash}|{canonical}".encode()).hexdigest()
    assert net.meta_hash == want
    other = Network(d=net.d, layers=net.layers, meta={**doc["meta"], "target": "x0*x9 + 1"})
    assert other.content_hash == net.content_hash and other.meta_hash != net.meta_hash


def test_round_trip_keeps_both_hashes(tmp_path):
    net = _approx()
    out = theory.save(net, tmp_path / "s")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = theory.load(out)
    assert back == net and back.content_hash == net.content_hash and back.meta_hash == net.meta_hash
    assert dict(back.meta) == dict(net.meta)
    assert theory.spec.spec_bytes(back) == theory.spec.spec_bytes(net)


@pytest.mark.parametrize(
    "field, value",
    [
        ("target", "x5*x6"),
        ("box", {"x0": ["-2", "2"], "x9": ["-1", "1"]}),
        ("a_priori_bound", "1"),
        ("support", [0, 10]),
        ("eps", "1"),
    ],
)
def test_edited_meta_is_a_clear_error(tmp_path, field, value):
    out = theory.save(_approx(), tmp_path / "s")
    _edit(out / "spec.json", lambda doc: doc["meta"].__setitem__(field, value))
    with pytest.raises(theory.TheoryError, match="modified file: meta does not match its hash"):
        theory.load(out)


@pytest.mark.parametrize(
    "edit",
    [
        lambda doc: doc.pop("meta_hash"),
        lambda doc: doc.__setitem__("meta_hash", "0" * 64),
        lambda doc: doc["meta"].pop("target"),
        lambda doc: doc["meta"].__setitem__("note", "added"),
        lambda doc: doc.pop("meta"),
    ],
    ids=["no-hash", "zero-hash", "removed-field", "added-field", "no-meta"],
)
def test_missing_or_wrong_meta_hash(tmp_path, edit):
    out = theory.save(_approx(), tmp_path / "s")
    _edit(out / "spec.json", edit)
    with pytest.raises(theory.TheoryError, match="meta"):
        theory.load(out)


def test_meta_of_another_spec_does_not_fit():
    """The meta hash binds meta to the weights: a (meta, meta_hash) pair moved to other weights is refused."""
    a, b = _approx(), theory.approximate_sparse(16, [0, 9], "x0*x1", (-1, 1), "1/1000")
    doc = theory.to_json(b)
    doc["meta"], doc["meta_hash"] = theory.to_json(a)["meta"], a.meta_hash
    with pytest.raises(theory.TheoryError, match="meta does not match"):
        theory.from_json(doc)


def test_version_1_files_load_and_say_meta_is_not_covered(tmp_path):
    net = _approx()
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(format_1_document(net)))
    with pytest.warns(theory.spec.MetaNotCoveredWarning, match="re-save to cover it"):
        back = theory.load(path)
    assert back == net and dict(back.meta) == dict(net.meta)
    notes = []
    assert theory.load(path, note=notes.append) == net
    assert len(notes) == 1 and "format version 1" in notes[0] and str(path) in notes[0]
    theory.save(back, tmp_path / "resaved")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert theory.load(tmp_path / "resaved").meta_hash == net.meta_hash


def test_version_1_without_meta_loads_quietly():
    doc = format_1_document(theory.select(8, [1, 6]))
    doc["meta"] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert theory.from_json(doc) == theory.select(8, [1, 6])


def test_version_1_meta_cannot_run_code(tmp_path, monkeypatch):
    """An old file's meta is not covered, but its formulas go through the whitelist parser: no code runs."""
    monkeypatch.chdir(tmp_path)
    doc = format_1_document(_approx())
    doc["meta"]["target"] = "__import__('os').system('touch F') or x0*x9"
    doc["meta"]["a_priori_bound"] = "__import__('os').system('touch G')"
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "spec.json").write_text(json.dumps(doc))
    with pytest.warns(theory.spec.MetaNotCoveredWarning):
        net = theory.load(tmp_path / "s")
    with pytest.raises(theory.TheoryError, match="not covered by a hash"):  # its fields are never defaults
        theory.certify_sup_error(net, time_limit_s=1)
    cert = theory.certify_sup_error(net, target="x0*x9", box=(-1, 1), time_limit_s=1)  # the uncovered bound is unread
    assert cert.details["a_priori_bound"] is None
    with pytest.raises(theory.TheoryError, match="not allowed"):  # and parsing it would refuse it anyway
        theory.parse_formula(doc["meta"]["a_priori_bound"], variables="parameters")
    assert not (tmp_path / "F").exists() and not (tmp_path / "G").exists()
