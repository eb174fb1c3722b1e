"""The results store of a separation sweep: config, one line per evaluated point, summary.

Layout of an out directory::

    out/
        config.json    the SweepConfig (SweepConfig.to_dict()), written once, atomically
        points.jsonl   one JSON object per evaluated (arch, d, n), appended, flushed and fsynced per line;
                       an evaluator failure is a line with an "error" key (retried on resume)
        summary.json   run_separation's summary, written atomically at the end of each run
        n_star.png, cnn_log2.png, error_curves.png
                       plots (numerics.learning._plots, PLOT_FILES), written atomically
        .cnnverify     the marker (theory.io.MARKER_FILE) of a store this tool created, listing the names above;
                       only a store with it may have its results discarded (force)

A crash can leave at most the last line of ``points.jsonl`` half written: opening the store cuts it off with
a warning, so later appends start on a fresh line. Any other unreadable line is an error (the file was edited
or corrupted), never silently skipped.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Callable

import theory

from .._errors import NumericsError, bad, theory_errors

CONFIG_FILE = "config.json"
POINTS_FILE = "points.jsonl"
SUMMARY_FILE = "summary.json"
PLOT_FILES = ("n_star.png", "cnn_log2.png", "error_curves.png")
"""The plots the sweep writes (numerics.learning._plots.write_plots), in that order."""
STORE_FILES = (CONFIG_FILE, POINTS_FILE, SUMMARY_FILE, *PLOT_FILES)
"""What a store holds, as its marker lists them: exact names, so a file of the user's own (a PNG too) is never
taken for the tool's."""

Key = tuple[str, int, int]
"""``(arch, d, n)``."""


def write_atomic(path: Path, data: bytes) -> None:
    """Replace the file ``path`` with ``data`` all or nothing (``theory.io.atomic_write_file``)."""
    with theory_errors():
        theory.io.atomic_write_file(path, data, force=True)


class SweepStore:
    """An out directory opened for one sweep configuration.

    Args:
        out: the directory: created if missing (with its marker); an existing one must be empty (it is then
            adopted and marked) or a store (it holds ``config.json``).
        config: the plain-dict configuration (``SweepConfig.to_dict()``).
        force: start afresh when ``out`` holds a different configuration (its points and summary are removed),
            only in a store this tool created (``theory.io.check_replaceable``: its marker, nothing foreign).
        upgrade: maps a stored configuration written by an earlier version to today's form before comparing
            (e.g. a renamed evaluator path); a configuration it rejects counts as different.

    Raises:
        NumericsError: ``out`` is a file, a non-empty directory that is not a store, or holds a different
            configuration (without ``force``, or with it in a store cnnverify did not create), or a
            ``points.jsonl`` line other than a torn last one is unreadable.
        OSError: the file system refuses a read or write.
    """

    def __init__(
        self,
        out: str | os.PathLike,
        config: dict[str, Any],
        *,
        force: bool = False,
        upgrade: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ):
        self.out = Path(out)
        if self.out.exists() and not self.out.is_dir():
            raise bad("out", str(self.out), "a directory (a file is in the way)")
        config_path = self.out / CONFIG_FILE
        if (
            self.out.is_dir()
            and not config_path.exists()
            and any(e.name != theory.io.MARKER_FILE for e in self.out.iterdir())
        ):
            raise bad(
                "out",
                str(self.out),
                f"a new or empty directory, or a sweep store (holding {CONFIG_FILE}); this one holds other files",
            )
        if not self.out.is_dir() or not any(self.out.iterdir()):
            self.out.mkdir(parents=True, exist_ok=True)
            theory.io.write_marker(self.out, "numerics separation", STORE_FILES)
        self.points_path = self.out / POINTS_FILE
        text = json.dumps(config, indent=2, sort_keys=True) + "\n"
        if config_path.exists():
            try:
                old = theory.io.read_json(config_path, "sweep configuration")
                old = upgrade(old) if upgrade is not None else old
            except (ValueError, TypeError, AttributeError):  # corrupted (TheoryError is a ValueError), or not a
                old = None  # configuration the upgrade accepts: a different one
            if old != json.loads(text):
                if not force:
                    raise bad(
                        "out",
                        str(self.out),
                        "a new directory, or the one holding this same configuration "
                        f"(its {CONFIG_FILE} differs; pass force=True / --force to discard its results)",
                    )
                with theory_errors():
                    theory.io.check_replaceable(self.out, "out", in_place=True)
                for name in (POINTS_FILE, SUMMARY_FILE, *PLOT_FILES):  # the old configuration's results
                    (self.out / name).unlink(missing_ok=True)
                theory.io.write_marker(self.out, "numerics separation", STORE_FILES)
        write_atomic(config_path, text.encode())
        self.points: dict[Key, dict] = {}
        self.errors: list[dict] = []
        self._load()

    def _load(self) -> None:
        if not self.points_path.exists():
            return
        if not self.points_path.is_file() or self.points_path.stat().st_size > theory.io.MAX_JSON_BYTES:
            raise bad("out", str(self.out), f"a sweep store whose {POINTS_FILE} is a regular file of at most 1 GiB")
        data = self.points_path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            warnings.warn(
                f"{self.points_path}: ignoring a torn last line of {len(data) - end} bytes "
                "(an interrupted write); that point will be evaluated again",
                stacklevel=3,
            )
            with open(self.points_path, "r+b") as fh:
                fh.truncate(end)
                fh.flush()
                os.fsync(fh.fileno())
        for i, line in enumerate(data[:end].splitlines(), 1):
            try:
                rec = theory.io.parse_json(line, f"{self.points_path}, line {i}", "point record")
                key = (str(rec["arch"]), int(rec["d"]), int(rec["n"]))
            except (ValueError, KeyError, TypeError):  # corrupted (TheoryError is a ValueError) or not a record
                raise NumericsError(
                    f"{self.points_path}, line {i}: not a point record ({line[:80]!r}); "
                    "the file was edited or corrupted: move it away to start afresh"
                ) from None
            if "error" in rec:
                self.errors.append(rec)
            else:
                self.points[key] = rec

    def append(self, record: dict) -> None:
        """Append one point (or error) record as a line, flushed and fsynced before returning."""
        line = json.dumps(record, sort_keys=True) + "\n"
        with open(self.points_path, "ab") as fh:
            fh.write(line.encode())
            fh.flush()
            os.fsync(fh.fileno())
        if "error" in record:
            self.errors.append(record)
        else:
            self.points[(record["arch"], record["d"], record["n"])] = record

    def write_summary(self, summary: dict) -> Path:
        """Write ``summary.json`` atomically; returns its path."""
        path = self.out / SUMMARY_FILE
        write_atomic(path, (json.dumps(summary, indent=2, sort_keys=True, allow_nan=False) + "\n").encode())
        return path
