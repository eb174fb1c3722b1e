"""Corrupted JSON files (bad syntax, bad UTF-8, nesting too deep for the parser) are a clear TheoryError naming the
file, never a RecursionError traceback; a spec's meta nests at most ``MAX_META_DEPTH`` levels."""

from __future__ import annotations

import json

import pytest

import theory
from theory._main import main as cli_main
from theory.spec._network import MAX_META_DEPTH

DEEP_ARRAY = "[" * 100_000
DEEP_OBJECT = '{"a":' * 100_000


def _nested(depth: int) -> dict:
    meta: dict = {}
    inner = meta
    for _ in range(depth - 1):
        inner["a"] = {}
        inner = inner["a"]
    return meta


@pytest.mark.parametrize("text", [DEEP_ARRAY, DEEP_OBJECT, "{", "[1, 2", b"\xff\xfe{}"])
def test_read_json_says_corrupted(tmp_path, text):
    path = tmp_path / "f.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(theory.TheoryError, match=r"f\.json: corrupted thing: not valid JSON"):
        theory.io.read_json(path, "thing")


def test_read_json_reads_and_names_unreadable_files(tmp_path):
    (tmp_path / "ok.json").write_text('{"a": [1, 2]}')
    assert theory.io.read_json(tmp_path / "ok.json") == {"a": [1, 2]}
    with pytest.raises(theory.TheoryError, match="missing.json: cannot read report"):
        theory.io.read_json(tmp_path / "missing.json", "report")


def test_show_of_a_deeply_nested_spec_file(tmp_path, capsys):
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / theory.spec.SPEC_FILE).write_text(DEEP_ARRAY)
    assert cli_main(["show", str(tmp_path / "spec")]) == 2
    err = capsys.readouterr().err
    assert "corrupted spec file" in err and "Traceback" not in err
    with pytest.raises(theory.TheoryError, match="corrupted spec file"):
        theory.load(tmp_path / "spec")


def test_meta_depth_limit(tmp_path, capsys):
    net = theory.select(8, [1, 6])
    theory.Network(d=net.d, layers=net.layers, meta={"m": _nested(MAX_META_DEPTH - 1)})  # 32 levels: allowed
    with pytest.raises(theory.TheoryError, match=f"nested more than {MAX_META_DEPTH} levels"):
        theory.Network(d=net.d, layers=net.layers, meta={"m": _nested(MAX_META_DEPTH)})
    with pytest.raises(theory.TheoryError, match="nested more than"):
        theory.Network(d=net.d, layers=net.layers, meta={"m": json.loads("[" * 40 + "]" * 40)})
    # a file whose meta nests 900 deep: parsed by json, refused before any recursive pass
    doc = theory.to_json(net)
    doc["meta"] = "DEEP"
    theory.save(net, tmp_path / "spec")
    (tmp_path / "spec" / theory.spec.SPEC_FILE).write_text(
        json.dumps(doc).replace('"DEEP"', '{"a":' * 900 + "1" + "}" * 900)
    )
    assert cli_main(["show", str(tmp_path / "spec")]) == 2
    err = capsys.readouterr().err
    assert "nested more than 32 levels" in err and "Traceback" not in err


def test_certificate_load_of_corrupted_files(tmp_path):
    path = tmp_path / "cert.json"
    path.write_text(DEEP_OBJECT)
    with pytest.raises(theory.TheoryError, match="cert.json: corrupted certificate"):
        theory.Certificate.load(path)
    # valid JSON, but details nested deeper than any recursive pass allows
    cert = theory.prove_routing(theory.select(8, [1, 6]))
    doc = cert.to_json()
    doc["details"] = "DEEP"
    path.write_text(json.dumps(doc).replace('"DEEP"', '{"a":' * 900 + "1" + "}" * 900))
    try:
        with pytest.raises(theory.TheoryError, match="cert.json"):
            theory.Certificate.load(path)
    except RecursionError:
        pytest.fail("RecursionError escaped")
    with pytest.raises(theory.TheoryError, match="cannot read certificate"):
        theory.Certificate.load(tmp_path / "missing.json")
