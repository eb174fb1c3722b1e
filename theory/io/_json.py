"""The one reader of JSON files of all three packages: a corrupted file is a clear error, never a traceback."""

from __future__ import annotations

import json
import os
import stat
from typing import Any

from .._errors import TheoryError
from ._reads import note_read

MAX_JSON_BYTES = 1 << 30
"""Largest JSON file the toolkit reads (1 GiB): a bigger one, or one that is not a regular file (``/dev/zero``), is
refused before reading."""


def parse_json(data: bytes | str, where: str | os.PathLike, what: str = "file") -> Any:
    """Parse JSON text read from ``where``; anything that is not valid JSON is a clear error, never a traceback.

    Invalid syntax, invalid UTF-8, nesting deeper than the parser's recursion allows (``[[[[...``) and integers
    longer than Python converts (4,300 digits) all say that the file is corrupted.

    Raises:
        TheoryError: ``"{where}: corrupted {what}: not valid JSON (...)"``.
    """
    try:
        return json.loads(data)
    except RecursionError:
        reason = "nested too deeply to parse"
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError, as is a too-long integer
        reason = f"{type(e).__name__}: {str(e)[:200]}"
    raise TheoryError(f"{where}: corrupted {what}: not valid JSON ({reason})")


def read_json(path: str | os.PathLike, what: str = "file") -> Any:
    """Read the JSON file ``path`` (the one reader of JSON files of all three packages); the read is recorded
    (:func:`note_read`), so a result computed from it can tell later whether the file changed.

    Raises:
        TheoryError: ``path`` cannot be read, or is not valid JSON (:func:`parse_json`: syntax, encoding, or
            nesting too deep), naming the path and ``what`` (e.g. ``"certificate"``).
    """
    try:
        with open(path, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise TheoryError(f"{path}: cannot read {what} (not a regular file)")
            data = fh.read(MAX_JSON_BYTES + 1)
    except OSError as e:
        raise TheoryError(f"{path}: cannot read {what} ({e.strerror or e})") from None
    if len(data) > MAX_JSON_BYTES:
        raise TheoryError(f"{path}: cannot read {what} (larger than {MAX_JSON_BYTES >> 20} MiB)")
    note_read(path, data)
    return parse_json(data, path, what)
