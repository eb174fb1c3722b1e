"""Atomic writes: a file or a whole directory appears complete or not at all, and carries the tool's marker."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from .._errors import TheoryError, bad
from ._outputs import MARKER_FILE, check_replaceable, foreign_entries, holds_cwd, marker_bytes, read_marker


def atomic_write_dir(
    out_dir: str | os.PathLike,
    files: Mapping[str, bytes],
    force: bool = False,
    *,
    tool: str = "cnnverify",
    update: bool = False,
    written: Iterable[str] | None = None,
) -> Path:
    """Write ``files`` (name -> bytes) as the directory ``out_dir``, all or nothing, with its marker.

    The files go to a temporary sibling directory that is renamed into place, so a crash leaves either the
    old state or the complete new one. Every directory written here gets the marker :data:`MARKER_FILE`
    (``tool`` and the names written), so that a later ``force`` can tell it was written by cnnverify.

    Args:
        out_dir: the directory; its parent is created if needed.
        files: name -> bytes of every file of the new directory (the marker's name is reserved).
        force: replace an existing ``out_dir``, only when it is replaceable
            (:func:`theory.spec.check_replaceable`: it has the marker and holds nothing the marker does not list).
        tool: who writes, recorded in the marker (e.g. ``"python -m theory build"``).
        update: rewrite the existing directory ``out_dir`` in place: ``files`` must carry over every entry it
            holds (so nothing is lost); the marker then lists what it listed plus ``written``, and a directory
            without a marker gets none.
        written: the names of ``files`` this call produces (default: all of them); the rest are carried over.
    Returns:
        ``Path(out_dir)``.
    Raises:
        TheoryError: ``out_dir`` exists (without ``force``), is a file or a symbolic link, is not replaceable,
            is the current directory or an ancestor of it; with ``update``: missing, or holding an entry ``files``
            lacks; entries it may not delete appeared in it during the swap (it is then put back untouched).
        OSError: the file system refused the write (nothing is left behind).
    """
    out = Path(out_dir)
    if MARKER_FILE in files:
        raise bad("files", sorted(files), f"file names other than the reserved marker {MARKER_FILE!r}")
    if out.is_symlink():  # replacing it would replace the link by a directory and orphan the link's target
        raise TheoryError(
            f"argument 'out': got {str(out)!r}: it is a symbolic link (to {os.readlink(out)!r}), "
            "which writing would replace by a real directory; allowed: a real directory path "
            "(the link's target itself, or another path)"
        )
    if holds_cwd(out):
        check_replaceable(out, "out")  # raises: the current directory or an ancestor of it
    if update:
        if not out.is_dir():
            raise bad("out", str(out), "an existing directory to rewrite in place")
        lost = sorted(e.name for e in out.iterdir() if e.name != MARKER_FILE and e.name not in files)
        if lost:
            raise bad("files", sorted(files), f"every entry of {out} carried over (missing {lost})")
        marker = read_marker(out)
        files = dict(files)
        if marker is not None:
            files[MARKER_FILE] = marker_bytes(tool, [*marker["files"], *(files if written is None else written)])
    else:
        if out.exists() and not force:
            raise bad("out", str(out), "a path that does not exist yet (pass force=True / --force to replace it)")
        if out.exists() and not out.is_dir():
            raise bad("out", str(out), "a directory path (a file is in the way)")
        if out.exists():
            check_replaceable(out, "out")
        files = {**files, MARKER_FILE: marker_bytes(tool, files if written is None else written)}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _fresh_dir(out.parent, f".{out.name}.tmp-")  # os.mkdir: the umask gives the ordinary mode
    old: Path | None = None  # holds the previous directory (as old/x) while it is swapped out
    try:
        for name, data in files.items():
            with open(tmp / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        if out.exists():
            os.chmod(tmp, out.stat().st_mode & 0o7777)  # a replaced directory keeps its mode
            old = _fresh_dir(out.parent, f".{out.name}.old-")
            _swap_out(out, old / "x")
            _check_nothing_appeared(out, old / "x", files if update else None)
        try:
            os.rename(tmp, out)
        except BaseException as swap_error:
            if old is not None:
                try:  # put the previous directory back: all or nothing
                    os.rename(old / "x", out)
                except BaseException as restore_error:
                    if hasattr(swap_error, "add_note"):
                        swap_error.add_note(
                            f"restoring {out} failed too ({restore_error}); its previous contents are in {old / 'x'}"
                        )
            raise
    except _Appeared as e:  # put the previous directory back untouched, with what appeared in it
        assert old is not None  # raised only after the swap-out set it
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            os.rename(old / "x", out)
        except OSError as restore_error:
            raise TheoryError(
                f"{e} (restoring {out} failed: {restore_error}; its contents are in {old / 'x'})"
            ) from None
        shutil.rmtree(old, ignore_errors=True)
        raise TheoryError(str(e)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not (old / "x").exists():  # never delete the only copy of the old directory
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(out.parent)
    return out


class _Appeared(Exception):
    """Entries the replacement may not delete appeared in the old directory after it was checked."""


def _swap_out(out: Path, dest: Path) -> None:
    """Rename the existing directory ``out`` to ``dest`` (one step, so that tests can interpose)."""
    os.rename(out, dest)


def _check_nothing_appeared(out: Path, old: Path, carried: Mapping[str, bytes] | None) -> None:
    """Re-check the renamed-away directory ``old`` (formerly ``out``) before it is deleted.

    Between the first check and the rename, someone may have added a file: it must not be deleted with the
    rest. ``carried``: for an in-place rewrite, the entries copied into the new directory (anything else is new);
    otherwise the old directory's marker decides, as in :func:`check_replaceable`.

    Raises:
        _Appeared: naming the entries.
    """
    foreign: list[str] | None
    if carried is not None:
        foreign = sorted(e.name for e in old.iterdir() if e.name != MARKER_FILE and e.name not in carried)
    else:
        foreign = foreign_entries(old)
        if foreign is None:
            foreign = [f"{MARKER_FILE} (now missing or unreadable)"]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise _Appeared(
            f"argument 'out': got {str(out)!r}: entries cnnverify did not write appeared in it while it "
            f"was being replaced ({shown}); it was left as it is; allowed: move them away and retry"
        )


def atomic_write_file(path: str | os.PathLike, data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to the file ``path`` all or nothing (temp file in the same directory, fsync, rename).

    An existing file is refused unless ``force``.
    """
    p = Path(path)
    if p.exists() and not force:
        raise bad("out", str(p), "a path that does not exist yet (pass force=True / --force to replace it)")
    if p.is_dir():
        raise bad("out", str(p), "a file path (a directory is in the way)")
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.parent / f".{p.name}.tmp-{secrets.token_hex(6)}"
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(p.parent)
    return p


def _fresh_dir(parent: Path, prefix: str) -> Path:
    """Create a new, uniquely named directory in ``parent`` with the umask's ordinary mode."""
    for _ in range(100):
        path = parent / f"{prefix}{secrets.token_hex(6)}"
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue
    raise TheoryError(f"could not create a temporary directory in {parent}")


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (best effort where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_marker(directory: str | os.PathLike, tool: str, files: Iterable[str]) -> Path:
    """Write (atomically) the marker of ``directory``, listing ``files`` (names or fnmatch patterns)."""
    return atomic_write_file(Path(directory) / MARKER_FILE, marker_bytes(tool, files), force=True)
