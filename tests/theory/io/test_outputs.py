"""Output paths (theory.io._outputs): check_writable before any computation, the .cnnverify marker, and --force
replacing only what cnnverify wrote (never a foreign directory, the current directory or an ancestor of it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import theory
from theory import TheoryError
from theory.io import MARKER_FILE, check_replaceable, check_writable

ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def _ours(path: Path) -> Path:
    return theory.io.atomic_write_dir(path, {"a.txt": b"a"}, tool="test")


def _file(path: Path, below: str = "") -> Path:
    path.write_text("{}")
    return path / below if below else path


def _foreign(path: Path) -> Path:
    path.mkdir()
    (path / "notes.txt").write_text("hi")
    return path


# (name, make the target under tmp_path -> path, kind, force, error fragment or None when writable)
ROWS = [
    ("new dir", lambda t: t / "new", "directory", False, None),
    ("new dir, parents to create", lambda t: t / "a" / "b" / "c", "directory", False, None),
    ("new file", lambda t: t / "c.json", "file", False, None),
    ("existing dir", lambda t: _ours(t / "o"), "directory", False, "it exists"),
    ("existing dir, force, ours", lambda t: _ours(t / "o"), "directory", True, None),
    ("existing dir, force, foreign", lambda t: _foreign(t / "f"), "directory", True, "no .cnnverify marker"),
    ("existing file", lambda t: _file(t / "x.json"), "file", False, "it exists"),
    ("existing file, force", lambda t: _file(t / "x.json"), "file", True, None),
    ("file in the way of a dir", lambda t: _file(t / "x"), "directory", True, "file is in the way"),
    ("dir in the way of a file", lambda t: _ours(t / "o"), "file", True, "directory is in the way"),
    ("parent is a file", lambda t: _file(t / "x", "sub"), "directory", False, "is a file"),
    ("unwritable /proc", lambda t: Path("/proc/cnnverify-x"), "directory", False, "not writable"),
    ("unwritable /proc file", lambda t: Path("/proc/cnnverify-x.json"), "file", False, "not writable"),
]


@pytest.mark.parametrize("name, make, kind, force, error", ROWS, ids=[r[0] for r in ROWS])
def test_check_writable_table(tmp_path, name, make, kind, force, error):
    target = make(tmp_path)
    if str(target).startswith("/proc") and not Path("/proc").is_dir():
        pytest.skip("no /proc on this system")
    before = _tree(tmp_path)
    if error is None:
        assert check_writable(target, kind, force=force, flag="--out") == Path(target)
    else:
        with pytest.raises(TheoryError, match=error) as e:
            check_writable(target, kind, force=force, flag="--out")
        assert "'--out'" in str(e.value) and str(target) in str(e.value)
    assert _tree(tmp_path) == before, "check_writable must leave nothing on disk"


@pytest.mark.skipif(ROOT, reason="root can write into a read-only directory")
def test_read_only_parent_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(TheoryError, match="not writable"):
            check_writable(ro / "out", "directory", flag="--out")
    finally:
        ro.chmod(0o755)


def test_current_directory_and_ancestors_are_refused(tmp_path, monkeypatch):
    here = _ours(tmp_path / "here")
    monkeypatch.chdir(here)
    for target in (".", here, tmp_path, ".."):
        with pytest.raises(TheoryError, match="current directory"):
            check_writable(target, "directory", force=True, flag="--out")
        with pytest.raises(TheoryError, match="current directory"):
            theory.io.atomic_write_dir(target, {"a.txt": b"b"}, force=True)
    assert (here / "a.txt").read_bytes() == b"a"
    # appending inside the current directory replaces nothing: allowed
    assert check_writable(".", "directory", flag="--out", existing="append") == Path(".")


def test_force_replaces_only_marked_directories_without_foreign_entries(tmp_path):
    foreign = _foreign(tmp_path / "v")
    (foreign / "keep").mkdir()
    with pytest.raises(TheoryError, match="not written by cnnverify"):
        theory.save(theory.select(8, [1]), foreign, force=True)
    assert _tree(foreign) == ["keep", "notes.txt"]
    ours = theory.save(theory.select(8, [1]), tmp_path / "s")
    assert theory.io.read_marker(ours)["written_by"] == "theory.save"
    (ours / "mine.txt").write_text("x")
    with pytest.raises(TheoryError, match="mine.txt"):
        theory.save(theory.gather(8), ours, force=True)
    with pytest.raises(TheoryError, match="mine.txt"):
        check_replaceable(ours, "--out")
    (ours / "mine.txt").unlink()
    theory.save(theory.gather(8), ours, force=True)
    assert theory.load(ours) == theory.gather(8)
    (ours / MARKER_FILE).write_text("not json")  # an unreadable marker counts as none
    with pytest.raises(TheoryError, match="no .cnnverify marker"):
        check_replaceable(ours, "--out")


def test_update_carries_every_entry_and_keeps_a_missing_marker_missing(tmp_path):
    ours = _ours(tmp_path / "o")
    with pytest.raises(TheoryError, match="carried over"):
        theory.io.atomic_write_dir(ours, {"b.txt": b"b"}, update=True)  # would lose a.txt
    theory.io.atomic_write_dir(ours, {"a.txt": b"a", "b.txt": b"b"}, update=True, written=["b.txt"])
    assert theory.io.read_marker(ours)["files"] == ["a.txt", "b.txt"]
    hand = _foreign(tmp_path / "h")
    theory.io.atomic_write_dir(hand, {"notes.txt": b"hi", "b.txt": b"b"}, update=True, written=["b.txt"])
    assert _tree(hand) == ["b.txt", "notes.txt"]
    with pytest.raises(TheoryError, match="reserved marker"):
        theory.io.atomic_write_dir(tmp_path / "n", {MARKER_FILE: b""})


def test_bad_arguments():
    with pytest.raises(TheoryError, match="'kind'"):
        check_writable("x", "folder")
    with pytest.raises(TheoryError, match="'existing'"):
        check_writable("x", existing="merge")
    with pytest.raises(TheoryError, match="'--out'"):
        check_writable("", flag="--out")
