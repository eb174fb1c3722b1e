"""Exact specs on disk: JSON round trips, content hashes, corruption detection, atomic directory writes."""

from __future__ import annotations

import json
import os
import random
from fractions import Fraction
from pathlib import Path

import pytest

import theory
from theory import ConvLayer, DenseLayer, LocalLayer, Network, PointwiseLayer, SparseArray


def mixed_network() -> Network:
    """All four layer kinds, two input channels, non-dyadic rationals, a nonzero bias, mixed activations."""
    rng = random.Random(1)

    def q():
        return Fraction(rng.randint(-9, 9), rng.choice((1, 3, 7)))

    def arr(shape):
        n = 1
        for s in shape:
            n *= s
        flat = [q() if rng.random() < 0.6 else 0 for _ in range(n)]
        return SparseArray.from_coo(shape, [divmod_all(i, shape) for i in range(n)], flat)

    def divmod_all(i, shape):
        out = []
        for s in reversed(shape):
            i, r = divmod(i, s)
            out.append(r)
        return tuple(reversed(out))

    layers = (
        ConvLayer(arr((3, 2, 2)), arr((3,))),
        LocalLayer(arr((2, 2, 3, 2)), arr((2, 2)), relu=False),
        PointwiseLayer(arr((2, 2)), arr((2,))),
        DenseLayer(arr((1, 2, 2, 2)), arr((1, 2)), relu=False),
    )
    return Network(d=8, c_in=2, layers=layers, meta={"construction": "mixed", "note": [1, "two", {"x": 3}]})


def networks():
    head = theory.TwoLayerHead([[1, 0], [-1, 0], [0, 1], [0, -1]], [0] * 4, [[1, 1, -1, -1]], [0])
    return {
        "select": theory.select(64, [0, 63, 17]),
        "select-lcn": theory.select(27, [26, 1], 3, architecture="lcn"),
        "select-fcn": theory.select(16, [3, 9], architecture="fcn"),
        "gather": theory.gather(16, 2),
        "tree_sum": theory.tree_sum(16, 2, head, signs=(1, -1)),
        "compose": theory.compose(
            theory.gather(9, 3), theory.TwoLayerHead([[Fraction(1, 3)] * 9], [-1], [[2]], [Fraction(5, 7)])
        ),
        "mixed": mixed_network(),
    }


NETS = networks()


@pytest.mark.parametrize("name", sorted(NETS))
def test_json_round_trip(name):
    net = NETS[name]
    doc = theory.to_json(net)
    text = json.dumps(doc)
    back = theory.from_json(json.loads(text))
    assert back == net
    assert back.content_hash == net.content_hash == doc["content_hash"]
    assert back.kinds == net.kinds and back.positions == net.positions and back.channels == net.channels
    assert [layer.relu for layer in back.layers] == [layer.relu for layer in net.layers]
    assert json.loads(json.dumps(theory.to_json(back))) == json.loads(text)
    assert theory.spec.spec_bytes(net) == theory.spec.spec_bytes(back)
    x = [[Fraction(i - 3 * c, 5) for i in range(net.d)] for c in range(net.c_in)]
    arg = x[0] if net.c_in == 1 else x
    assert theory.evaluate_exact(back, arg) == theory.evaluate_exact(net, arg)


@pytest.mark.parametrize("name", sorted(NETS))
def test_save_load_round_trip(tmp_path, name):
    net = NETS[name]
    out = theory.save(net, tmp_path / "spec")
    assert Path(out) == tmp_path / "spec"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec"]
    assert sorted(p.name for p in (tmp_path / "spec").iterdir()) == [theory.io.MARKER_FILE, "spec.json"]
    assert theory.io.read_marker(out)["files"] == ["spec.json"]
    for path in (out, out / "spec.json", str(out)):
        back = theory.load(path)
        assert back == net and back.content_hash == net.content_hash
        assert dict(back.meta).keys() == dict(net.meta).keys()


def test_content_hash_identifies_the_weights():
    net = theory.select(16, [2, 9])
    same = theory.select(16, [2, 9])
    assert same.content_hash == net.content_hash and same == net
    assert theory.select(16, [9, 2]).content_hash != net.content_hash
    assert theory.select(16, [2, 10]).content_hash != net.content_hash
    # meta is not part of the hash
    renamed = Network(d=net.d, layers=net.layers, meta={"construction": "other"})
    assert renamed.content_hash == net.content_hash and renamed == net
    # activation flag and a single weight value are
    flipped = Network(
        d=net.d, layers=net.layers[:-1] + (PointwiseLayer(net.layers[-1].weight, net.layers[-1].bias, relu=True),)
    )
    assert flipped.content_hash != net.content_hash and flipped != net
    w = net.layers[0].weight
    vals = w.values.copy()
    vals[0] = vals[0] + Fraction(1, 10**9)
    tweaked = Network(
        d=net.d, layers=(ConvLayer(SparseArray(w.shape, w.keys, vals), net.layers[0].bias),) + net.layers[1:]
    )
    assert tweaked.content_hash != net.content_hash and tweaked != net
    assert len(net.content_hash) == 64 and int(net.content_hash, 16) >= 0


def _edit(path: Path, fn) -> None:
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))


def test_edited_weight_is_a_hash_mismatch(tmp_path):
    out = theory.save(theory.select(16, [0, 15]), tmp_path / "s")
    _edit(out / "spec.json", lambda doc: doc["layers"][0]["weight"]["values"].__setitem__(0, "2"))
    with pytest.raises(theory.TheoryError, match="hash"):
        theory.load(out)


def test_edited_key_and_d_are_hash_mismatches(tmp_path):
    out = theory.save(theory.select(16, [0, 15]), tmp_path / "s")
    original = (out / "spec.json").read_text()
    _edit(
        out / "spec.json",
        lambda doc: doc["layers"][1]["weight"]["keys"].__setitem__(0, doc["layers"][1]["weight"]["keys"][0] + 1),
    )
    with pytest.raises(theory.TheoryError):
        theory.load(out)
    (out / "spec.json").write_text(original)
    _edit(out / "spec.json", lambda doc: doc.__setitem__("content_hash", "0" * 64))
    with pytest.raises(theory.TheoryError, match="hash"):
        theory.load(out)


def test_truncated_file(tmp_path):
    out = theory.save(theory.gather(8), tmp_path / "g")
    data = (out / "spec.json").read_bytes()
    for cut in (0, 1, len(data) // 2, len(data) - 1):
        (out / "spec.json").write_bytes(data[:cut])
        with pytest.raises(theory.TheoryError):
            theory.load(out)
    (out / "spec.json").write_bytes(b"\xff\xfe" + data)
    with pytest.raises(theory.TheoryError):
        theory.load(out)


@pytest.mark.parametrize(
    "edit",
    [
        lambda doc: doc.__setitem__("format", "something.else"),
        lambda doc: doc.pop("format"),
        lambda doc: doc.__setitem__("version", 3),
        lambda doc: doc.__setitem__("version", "1"),
        lambda doc: doc.pop("version"),
        lambda doc: doc.pop("layers"),
        lambda doc: doc.__setitem__("layers", []),
        lambda doc: doc.__setitem__("layers", 5),
        lambda doc: doc["layers"][0].__setitem__("kind", "rnn"),
        lambda doc: doc["layers"][0].__setitem__("relu", "yes"),
        lambda doc: doc["layers"][0]["weight"].__setitem__("values", [1, 2]),
        lambda doc: doc["layers"][0]["weight"].__setitem__("keys", "0,1"),
        lambda doc: doc["layers"][0]["weight"].__setitem__("shape", [4, 1]),
        lambda doc: doc["layers"][0]["weight"]["values"].__setitem__(0, "0"),
        lambda doc: doc["layers"][0]["weight"]["values"].__setitem__(0, "nan"),
        lambda doc: doc["layers"][0]["weight"]["keys"].reverse(),
        lambda doc: doc["layers"][0]["weight"].pop("keys"),
        lambda doc: doc.__setitem__("d", 9),
        lambda doc: doc.__setitem__("c_in", 0),
    ],
    ids=[
        "format",
        "no-format",
        "version-3",
        "version-str",
        "no-version",
        "no-layers",
        "empty-layers",
        "layers-int",
        "kind",
        "relu-str",
        "values-not-str",
        "keys-str",
        "shape",
        "explicit-zero",
        "nan-value",
        "unsorted-keys",
        "no-keys",
        "d",
        "c_in",
    ],
)
def test_malformed_documents(tmp_path, edit):
    out = theory.save(theory.select(4, [0, 3]), tmp_path / "s")
    _edit(out / "spec.json", edit)
    with pytest.raises(theory.TheoryError):
        theory.load(out)


@pytest.mark.parametrize(
    "doc", [None, [], "spec", 3, {"format": "cnnverify.network"}], ids=["none", "list", "str", "int", "bare"]
)
def test_from_json_rejects_non_documents(doc):
    with pytest.raises(theory.TheoryError):
        theory.from_json(doc)


def test_huge_key_is_a_theory_error():
    doc = theory.to_json(theory.select(8, [0, 7]))
    doc["layers"][0]["weight"]["keys"][0] = 2**70
    with pytest.raises(theory.TheoryError):
        theory.from_json(doc)


def test_malformed_meta_is_a_theory_error():
    doc = theory.to_json(theory.select(8, [0, 7]))
    doc["meta"] = [[1, 2, 3]]
    with pytest.raises(theory.TheoryError):
        theory.from_json(doc)


def test_load_missing_path(tmp_path):
    with pytest.raises(theory.TheoryError, match="path"):
        theory.load(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(theory.TheoryError, match="path"):
        theory.load(tmp_path / "empty")


def test_existing_output_needs_force(tmp_path):
    first, second = theory.select(8, [1]), theory.gather(8)
    out = tmp_path / "spec"
    theory.save(first, out)
    before = (out / "spec.json").read_bytes()
    with pytest.raises(theory.TheoryError, match="out"):
        theory.save(second, out)
    assert (out / "spec.json").read_bytes() == before
    theory.save(second, out, force=True)
    assert theory.load(out) == second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(theory.TheoryError, match="out"):
        theory.save(first, tmp_path / "file")
    with pytest.raises(theory.TheoryError, match="out"):
        theory.save(first, tmp_path / "file", force=True)
    assert (tmp_path / "file").read_text() == "x"


def test_save_creates_parents(tmp_path):
    out = theory.save(theory.select(8, [1]), tmp_path / "a" / "b" / "spec")
    assert theory.load(out) == theory.select(8, [1])


@pytest.mark.parametrize("where", ["write", "fsync", "rename"])
def test_failed_write_leaves_nothing(tmp_path, monkeypatch, where):
    parent = tmp_path / "parent"
    parent.mkdir()

    def boom(*args, **kwargs):
        raise OSError(f"injected failure in {where}")

    if where == "write":
        real_open = open

        def bad_open(path, mode="r", *args, **kwargs):
            if "w" in mode:
                raise OSError("injected failure in open for writing")
            return real_open(path, mode, *args, **kwargs)

        monkeypatch.setattr("builtins.open", bad_open)
    else:
        monkeypatch.setattr(os, where, boom)
    with pytest.raises(OSError, match="injected"):
        theory.save(theory.select(8, [1, 2]), parent / "spec")
    monkeypatch.undo()
    assert list(parent.iterdir()) == []


def test_failed_write_of_several_files_leaves_nothing(tmp_path, monkeypatch):
    calls = []
    real_fsync = os.fsync

    def fsync_then_fail(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError("injected failure on the second file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_then_fail)
    with pytest.raises(OSError, match="injected"):
        theory.io.atomic_write_dir(tmp_path / "out", {"a.txt": b"a", "b.txt": b"b", "c.txt": b"c"})
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
    theory.io.atomic_write_dir(tmp_path / "out", {"a.txt": b"a", "b.txt": b"b"})
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [theory.io.MARKER_FILE, "a.txt", "b.txt"]


def test_failed_forced_write_keeps_the_old_directory(tmp_path, monkeypatch):
    """A failure while writing the replacement leaves the old directory untouched."""
    out = theory.save(theory.select(8, [1]), tmp_path / "spec")
    before = (out / "spec.json").read_bytes()
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("injected")))
    with pytest.raises(OSError, match="injected"):
        theory.save(theory.gather(8), out, force=True)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec"]
    assert (out / "spec.json").read_bytes() == before


def test_failed_forced_swap_restores_the_old_directory(tmp_path, monkeypatch):
    out = theory.save(theory.select(8, [1]), tmp_path / "spec")
    before = (out / "spec.json").read_bytes()
    real_rename = os.rename
    calls = []

    def second_rename_fails(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise OSError("injected failure in the swap")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", second_rename_fails)
    with pytest.raises(OSError, match="injected"):
        theory.save(theory.gather(8), out, force=True)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec"]
    assert (out / "spec.json").read_bytes() == before


def test_failed_swap_and_failed_restore_never_delete_the_old_content(tmp_path, monkeypatch):
    out = theory.save(theory.select(8, [1]), tmp_path / "spec")
    before = (out / "spec.json").read_bytes()
    real_rename = os.rename
    calls = []

    def later_renames_fail(src, dst):
        calls.append((src, dst))
        if len(calls) >= 2:
            raise OSError("injected failure")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", later_renames_fail)
    with pytest.raises(OSError, match="injected"):
        theory.save(theory.gather(8), out, force=True)
    monkeypatch.undo()
    survivors = [p.read_bytes() for p in tmp_path.rglob("spec.json")]
    assert before in survivors


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_saved_files_have_ordinary_permissions(tmp_path):
    mask = _umask()
    out = theory.save(theory.select(8, [1]), tmp_path / "spec")
    assert out.stat().st_mode & 0o777 == 0o777 & ~mask
    assert (out / "spec.json").stat().st_mode & 0o777 == 0o666 & ~mask
    os.chmod(out, 0o750)
    theory.save(theory.gather(8), out, force=True)
    assert out.stat().st_mode & 0o777 == 0o750
    assert theory.load(out) == theory.gather(8)


def test_non_json_meta_is_a_theory_error(tmp_path):
    with pytest.raises(theory.TheoryError, match="meta"):
        net = Network(d=2, layers=theory.gather(2).layers, meta={"w": Fraction(1, 2)})
        theory.save(net, tmp_path / "spec")
    assert list(tmp_path.iterdir()) == []
