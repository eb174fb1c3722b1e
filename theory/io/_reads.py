"""The files a computation read: recorded as they are read, re-hashed later to tell whether any changed.

Every reader of the toolkit that takes a user's file (spec files through :func:`theory.io.read_json`, weight files
and ONNX files in ``numerics``) calls :func:`note_read` with the bytes it read. Inside :func:`recording_reads`
(the claim runner wraps each claim in one) these reads are collected as :class:`FileRead` records: the resolved
path and the sha256 of the bytes. :func:`changed_reads` re-hashes each recorded file; a cached result about a file
that changed, vanished or cannot be read is stale (``checks``' cache then recomputes it). Outside a recording,
:func:`note_read` does nothing.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import bad

_CHUNK = 1 << 20
_READS: ContextVar[list[FileRead] | None] = ContextVar("cnnverify_file_reads", default=None)


@dataclass(frozen=True)
class FileRead:
    """One file a computation read: its resolved ``path`` and the ``sha256`` (hex) of the bytes read."""

    path: str
    sha256: str

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not os.path.isabs(self.path):
            raise bad("path", self.path, "an absolute path (str)")
        if (
            not isinstance(self.sha256, str)
            or len(self.sha256) != 64
            or not all(c in "0123456789abcdef" for c in self.sha256)
        ):
            raise bad("sha256", self.sha256, "64 lowercase hexadecimal digits")

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "sha256": self.sha256}

    @classmethod
    def from_json(cls, obj: Any) -> FileRead:
        """A record read back from JSON (validated like any other input)."""
        if not isinstance(obj, dict) or set(obj) != {"path", "sha256"}:
            raise bad("read", obj, "a JSON object with exactly 'path' and 'sha256'")
        return cls(obj["path"], obj["sha256"])


def file_digest(path: str | os.PathLike) -> str:
    """sha256 (hex) of the file's bytes, read in chunks. Raises OSError when it cannot be read."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def note_read(path: str | os.PathLike, data: bytes) -> None:
    """Record that ``data`` was read from ``path``, when a recording is active (else nothing)."""
    if not isinstance(path, (str, os.PathLike)):
        raise bad("path", path, "a path (str or os.PathLike)")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise bad("data", type(data).__name__, "the bytes read from the file")
    reads = _READS.get()
    if reads is not None:
        reads.append(FileRead(str(Path(path).resolve()), hashlib.sha256(data).hexdigest()))


@contextmanager
def recording_reads() -> Iterator[list[FileRead]]:
    """Collect the :class:`FileRead` of every file read inside the block (nested recordings see their own reads
    and pass them on to the enclosing one)."""
    outer = _READS.get()
    reads: list[FileRead] = []
    token = _READS.set(reads)
    try:
        yield reads
    finally:
        _READS.reset(token)
        if outer is not None:
            outer.extend(reads)


def changed_reads(reads: Iterable[FileRead]) -> list[str]:
    """The recorded files whose bytes are no longer those read: ``"<path> (changed)"``, ``"<path> (missing)"``;
    empty when every file still has its recorded hash."""
    out = []
    for read in reads:
        try:
            same = file_digest(read.path) == read.sha256
        except FileNotFoundError:
            out.append(f"{read.path} (missing)")
            continue
        except OSError:
            out.append(f"{read.path} (unreadable)")
            continue
        if not same:
            out.append(f"{read.path} (changed)")
    return out
