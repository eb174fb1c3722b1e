"""Replacing a directory (``force``, or the in-place rewrite of ``update``) never deletes a file that appeared after
the first check, and a symbolic link is never replaced by a real directory."""

from __future__ import annotations

import os

import pytest

import theory
from theory.io import _atomic as _files


def _adding_swap(name: str):
    """A rename step that lets a file appear in the directory just before it is moved aside (the race)."""
    real = _files._swap_out

    def swap(out, dest):
        (out / name).write_text("the user's own")
        real(out, dest)

    return swap


def _leftovers(parent):
    return sorted(p.name for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


def test_force_keeps_a_file_added_during_the_replacement(tmp_path, monkeypatch):
    out = tmp_path / "out"
    theory.io.atomic_write_dir(out, {"a.txt": b"old"})
    monkeypatch.setattr(_files, "_swap_out", _adding_swap("mine.txt"))
    with pytest.raises(theory.TheoryError, match=r"appeared in it while it was being replaced \(mine.txt\)"):
        theory.io.atomic_write_dir(out, {"a.txt": b"new"}, force=True)
    assert (out / "mine.txt").read_text() == "the user's own"
    assert (out / "a.txt").read_bytes() == b"old"  # left as it was
    assert _leftovers(tmp_path) == []


def test_update_keeps_a_file_added_during_the_rewrite(tmp_path, monkeypatch):
    out = tmp_path / "out"
    theory.io.atomic_write_dir(out, {"a.txt": b"old"})
    monkeypatch.setattr(_files, "_swap_out", _adding_swap("mine.txt"))
    with pytest.raises(theory.TheoryError, match="mine.txt"):
        theory.io.atomic_write_dir(out, {"a.txt": b"old", "b.txt": b"new"}, update=True, written=["b.txt"])
    assert (out / "mine.txt").read_text() == "the user's own" and not (out / "b.txt").exists()
    assert _leftovers(tmp_path) == []


def test_without_a_race_the_replacement_goes_through(tmp_path):
    out = tmp_path / "out"
    theory.io.atomic_write_dir(out, {"a.txt": b"old"})
    theory.io.atomic_write_dir(out, {"a.txt": b"new"}, force=True)
    theory.io.atomic_write_dir(out, {"a.txt": b"new", "b.txt": b"b"}, update=True, written=["b.txt"])
    assert (out / "a.txt").read_bytes() == b"new" and (out / "b.txt").read_bytes() == b"b"
    assert _leftovers(tmp_path) == []


def test_a_symlinked_out_is_refused(tmp_path):
    target = tmp_path / "real"
    theory.io.atomic_write_dir(target, {"a.txt": b"old"})
    link = tmp_path / "link"
    os.symlink(target, link)
    for kwargs in ({"force": True}, {"update": True}):
        with pytest.raises(theory.TheoryError, match="symbolic link"):
            theory.io.atomic_write_dir(link, {"a.txt": b"new"}, **kwargs)
    assert link.is_symlink() and (target / "a.txt").read_bytes() == b"old"
    with pytest.raises(theory.TheoryError, match=r"argument '--out': got .*link.*symbolic link"):
        theory.io.check_writable(link, "directory", force=True, flag="--out")
    with pytest.raises(theory.TheoryError, match="symbolic link"):
        theory.io.check_writable(link, "directory", flag="path", existing="rewrite")
    # a dangling link too
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    with pytest.raises(theory.TheoryError, match="symbolic link"):
        theory.io.atomic_write_dir(tmp_path / "dangling", {"a.txt": b"x"}, force=True)


def test_save_and_the_build_command_refuse_a_symlinked_out(tmp_path, capsys):
    from theory._main import main as cli_main

    net = theory.select(8, [1, 6])
    theory.save(net, tmp_path / "real")
    os.symlink(tmp_path / "real", tmp_path / "link")
    with pytest.raises(theory.TheoryError, match="symbolic link"):
        theory.save(net, tmp_path / "link", force=True)
    assert cli_main(["build", "gather", "--d", "8", "--s", "2", "--out", str(tmp_path / "link"), "--force"]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert (tmp_path / "link").is_symlink()
