"""The one reader of JSON files of all three packages: a corrupted file is a clear error, never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .._errors import TheoryError
from ._reads import note_read


def parse_json(data: bytes | str, where: str | os.PathLike, what: str = "file") -> Any:
    """Parse JSON text read from ``where``; anything that is not valid JSON is a clear error, never a traceback.

    Invalid syntax, invalid UTF-8 and nesting deeper than the parser's recursion allows (``[[[[...``) all say
    that the file is corrupted.

    Raises:
        TheoryError: ``"{where}: corrupted {what}: not valid JSON (...)"``.
    """
    try:
        return json.loads(data)
    except RecursionError:
        reason = "nested too deeply to parse"
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        reason = f"{type(e).__name__}: {e}"
    raise TheoryError(f"{where}: corrupted {what}: not valid JSON ({reason})")


def read_json(path: str | os.PathLike, what: str = "file") -> Any:
    """Read the JSON file ``path`` (the one reader of JSON files of all three packages); the read is recorded
    (:func:`note_read`), so a result computed from it can tell later whether the file changed.

    Raises:
        TheoryError: ``path`` cannot be read, or is not valid JSON (:func:`parse_json`: syntax, encoding, or
            nesting too deep), naming the path and ``what`` (e.g. ``"certificate"``).
    """
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise TheoryError(f"{path}: cannot read {what} ({e.strerror or e})") from None
    note_read(path, data)
    return parse_json(data, path, what)
