"""Output paths of the command lines: checked before any computation, and replaced only when cnnverify wrote them.

Every directory the tools create holds a marker file, :data:`MARKER_FILE` (``.cnnverify``), that says which tool
wrote it and which entries it wrote (names or ``fnmatch`` patterns). ``--force`` replaces an existing directory
only when it has that marker and nothing else in it (:func:`check_replaceable`); a directory the user made, or one
where the user has since put files of their own, is refused and left alone. The current directory and its
ancestors are never replaced (renaming them away would pull the working directory out from under the shell).

:func:`check_writable` is what every command line calls on its output paths before it computes anything: the
parent exists or can be created, is a directory, and is writable (a temporary file is created and removed
there); the target does not exist unless ``--force`` (and then is replaceable). It leaves nothing on disk.
"""

from __future__ import annotations

import fnmatch
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .._errors import TheoryError, bad

MARKER_FILE = ".cnnverify"
"""Name of the marker file in every output directory a cnnverify tool created."""
MARKER_FORMAT = "cnnverify.output"
KINDS = ("directory", "file")
EXISTING = ("refuse", "append", "rewrite")
"""What an existing target directory means: ``refuse`` (replace only with force), ``append`` (the tool adds files
inside it: the directory itself must be writable), ``rewrite`` (the tool rewrites it in place through a sibling
temporary directory: its parent must be writable)."""


def _refuse(flag: str, path: Any, why: str, allowed: str) -> TheoryError:
    """A TheoryError in the house style, with the reason: ``argument '--out': got 'v': why; allowed: ...``."""
    return TheoryError(f"argument {flag!r}: got {str(path)!r}: {why}; allowed: {allowed}")


def marker_bytes(tool: str, files: Iterable[str]) -> bytes:
    """The content of a marker file: which ``tool`` wrote the directory and the entries it wrote (sorted)."""
    if not isinstance(tool, str) or not tool:
        raise bad("tool", tool, "a non-empty name of the writing tool, e.g. 'python -m theory build'")
    names = sorted({str(f) for f in files} - {MARKER_FILE})
    return (json.dumps({"format": MARKER_FORMAT, "written_by": tool, "files": names}, indent=1) + "\n").encode()


def read_marker(directory: str | os.PathLike) -> dict[str, Any] | None:
    """The marker of ``directory`` as ``{"format", "written_by", "files"}``, or None when it has none (or an
    unreadable one, which counts as none)."""
    path = Path(directory) / MARKER_FILE
    try:  # a marker is a few hundred bytes: anything else (a link to /dev/zero, a huge file) is no marker
        if not path.is_file() or path.is_symlink() or path.stat().st_size > 1 << 20:
            return None
        obj = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):  # ValueError: not JSON or not UTF-8
        return None
    if (
        not isinstance(obj, dict)
        or obj.get("format") != MARKER_FORMAT
        or not isinstance(obj.get("files"), list)
        or not all(isinstance(f, str) for f in obj["files"])
    ):
        return None
    return obj


def holds_cwd(path: str | os.PathLike) -> bool:
    """Whether ``path`` is the current directory or one of its ancestors."""
    try:
        cwd = Path.cwd().resolve()
        target = Path(path).resolve()
    except (OSError, RuntimeError):
        return False
    return target == cwd or target in cwd.parents


def foreign_entries(directory: str | os.PathLike) -> list[str] | None:
    """Entries of ``directory`` its marker does not list (None when it has no marker)."""
    marker = read_marker(directory)
    if marker is None:
        return None
    return sorted(
        e.name
        for e in Path(directory).iterdir()
        if e.name != MARKER_FILE and not any(fnmatch.fnmatchcase(e.name, p) for p in marker["files"])
    )


def check_replaceable(path: str | os.PathLike, flag: str = "out", *, in_place: bool = False) -> Path:
    """Raise unless the existing directory ``path`` may be replaced as a whole (``--force``).

    Replaceable: a cnnverify tool wrote it (it has the :data:`MARKER_FILE` marker), it holds nothing the marker
    does not list, and it is neither the current directory nor an ancestor of it. ``in_place``: the caller
    discards files inside the directory instead of replacing the directory itself (the current directory is
    then allowed).

    Raises:
        TheoryError: naming ``flag``, the path and the reason.
    """
    p = Path(path)
    if not in_place and holds_cwd(p):
        raise _refuse(
            flag,
            path,
            "it is the current directory or contains it, and replacing it would pull the working directory away",
            "a directory outside the current one (cd elsewhere first)",
        )
    foreign = foreign_entries(p)
    if foreign is None:
        raise _refuse(
            flag,
            path,
            f"it exists and was not written by cnnverify (no {MARKER_FILE} marker)",
            "remove it yourself or choose another path",
        )
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise _refuse(
            flag,
            path,
            f"it holds entries cnnverify did not write ({shown}), which --force would delete",
            "move them away, remove the directory yourself, or choose another path",
        )
    return p


def _probe(directory: Path, flag: str, path: Any) -> None:
    """Create and remove a temporary file in ``directory``; raise naming ``flag`` when that fails."""
    try:
        fd, name = tempfile.mkstemp(prefix=".cnnverify-probe-", dir=directory)
    except OSError as e:
        raise _refuse(
            flag,
            path,
            f"{directory} is not writable (creating a file there failed: {e.strerror or e})",
            "a path in a directory you can write to",
        ) from None
    os.close(fd)
    os.unlink(name)


def _nearest_existing(p: Path) -> Path:
    """The closest existing ancestor of the absolute path ``p``."""
    for q in p.parents:
        if q.exists():
            return q
    return Path(p.anchor)


def check_writable(
    path: Any, kind: str = "directory", *, force: bool = False, flag: str = "out", existing: str = "refuse"
) -> Path:
    """Check, before any computation, that a tool can write its output at ``path``; leave nothing on disk.

    Args:
        path: the output path (str or os.PathLike).
        kind: ``"directory"`` (written as a whole by :func:`theory.io.atomic_write_dir` or a staging rename) or
            ``"file"`` (written by :func:`theory.io.atomic_write_file`).
        force: an existing target may be replaced (a directory only when :func:`check_replaceable`).
        flag: the command-line flag or argument name used in messages, e.g. ``"--out"``.
        existing: for a directory, what an existing one means (:data:`EXISTING`).
    Returns:
        ``Path(path)``.
    Raises:
        TheoryError: the parent is a file or not writable, the target is in the way (a file where a directory
            goes or the reverse), exists without ``force``, is not replaceable, is a symbolic link (a directory
            written as a whole), or is the current directory or one of its ancestors; the message names ``flag``,
            the path and why.
    """
    if kind not in KINDS:
        raise bad("kind", kind, " | ".join(KINDS))
    if existing not in EXISTING:
        raise bad("existing", existing, " | ".join(EXISTING))
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise bad(flag, path, "a non-empty path")
    p = Path(path)
    absolute = Path(os.path.abspath(p))
    if kind == "directory" and existing != "append" and holds_cwd(p):
        raise _refuse(
            flag,
            path,
            "it is the current directory or contains it, and writing it replaces the directory as a whole",
            "a directory outside the current one (cd elsewhere first)",
        )
    if kind == "directory" and existing != "append" and p.is_symlink():
        raise _refuse(
            flag,
            path,
            "it is a symbolic link, which writing would replace by a real directory (leaving the link's target behind)",
            "a real directory path (the link's target itself, or another path)",
        )
    if p.exists() or p.is_symlink():
        if kind == "file":
            if p.is_dir():
                raise _refuse(flag, path, "a directory is in the way", "a file path")
            if not force:
                raise _refuse(flag, path, "it exists", "a path that does not exist yet (or pass --force to replace it)")
        else:
            if not p.is_dir():
                raise _refuse(flag, path, "a file is in the way", "a directory path")
            if existing == "append":
                _probe(p, flag, path)
                return p
            if existing == "refuse":
                if not force:
                    raise _refuse(
                        flag, path, "it exists", "a path that does not exist yet (or pass --force to replace it)"
                    )
                check_replaceable(p, flag)
        _probe(absolute.parent, flag, path)
        return p
    parent = _nearest_existing(absolute)
    if not parent.is_dir():
        raise _refuse(
            flag,
            path,
            f"{parent} is a file, so the parent directory cannot be created",
            "a path whose parent is (or can be created as) a directory",
        )
    _probe(parent, flag, path)
    return p
