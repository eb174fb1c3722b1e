"""theory.io: what every package writes and reads on disk, as data, never as commands (torch-free).

* JSON: :func:`read_json`, :func:`parse_json`, the one reader of JSON files (a corrupted file is a clear error);
* atomic writes: :func:`atomic_write_file`, :func:`atomic_write_dir` (all or nothing, with the marker);
* output paths of the command lines: :func:`check_writable` (checked before any computation),
  :func:`check_replaceable` (``--force`` replaces only what cnnverify wrote: the :data:`MARKER_FILE` marker),
  :func:`read_marker`, :func:`write_marker`;
* reads: :func:`note_read` (every reader of a user's file calls it), :func:`recording_reads` (collect the
  :class:`FileRead` records of a block), :func:`changed_reads` (which recorded files changed since),
  :func:`file_digest`.

Used by ``theory``, ``numerics`` and ``checks`` alike; errors are :class:`theory.TheoryError` (the other packages
re-raise them as their own). docs/cli.md describes the rules for output paths.
"""

from ._atomic import atomic_write_dir, atomic_write_file, write_marker
from ._json import MAX_JSON_BYTES, parse_json, read_json
from ._outputs import MARKER_FILE, check_replaceable, check_writable, read_marker
from ._reads import FileRead, changed_reads, file_digest, note_read, recording_reads

__all__ = [
    "read_json",
    "MAX_JSON_BYTES",
    "parse_json",
    "atomic_write_file",
    "atomic_write_dir",
    "MARKER_FILE",
    "check_writable",
    "check_replaceable",
    "read_marker",
    "write_marker",
    "FileRead",
    "note_read",
    "recording_reads",
    "changed_reads",
    "file_digest",
]
