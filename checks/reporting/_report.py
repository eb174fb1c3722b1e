"""Reports of a check run: the JSON document, reading it back, and writing the report directory atomically."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Collection, Mapping, Sequence

import theory

from .._errors import ChecksError, bad
from ..claims import STATUSES, Claim, Result, counts_as_failure, finding_state
from ._markdown import render_markdown

SCHEMA = "cnnverify.checks.report"
SCHEMA_VERSION = 1
REPO_ROOT = Path(__file__).resolve().parents[2]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_state() -> dict[str, Any]:
    """``{'commit': sha or None, 'dirty': bool or None}`` of the repository holding this package."""

    def git(*args: str) -> str | None:
        try:
            res = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout.strip() if res.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def environment() -> dict[str, Any]:
    """Library versions, platform and git state for the report header."""
    versions = {"python": platform.python_version()}
    for name, dist in (
        ("torch", "torch"),
        ("numpy", "numpy"),
        ("sympy", "sympy"),
        ("z3", "z3-solver"),
        ("matplotlib", "matplotlib"),
        ("cnnverify", "cnnverify"),
    ):
        versions[name] = _version(dist)
    return {"versions": versions, "platform": platform.platform(), "git": git_state()}


def exit_code(outcomes: Sequence[tuple[str, Result]]) -> int:
    """0 when no ``(recorded finding, result)`` pair :func:`counts_as_failure <checks.claims.counts_as_failure>`:
    every result is pass or not-testable, or a fail its recorded finding foresees; else 1."""
    return 1 if any(counts_as_failure(finding, r.status) for finding, r in outcomes) else 0


def build_document(
    runs: Sequence[tuple[Claim, Result]],
    *,
    profile: str,
    seed: int,
    started: str,
    finished: str,
    env: Mapping[str, Any],
    cached: Collection[str] = (),
    origins: Mapping[str, str] | None = None,
    rehashed: Mapping[str, Sequence[str]] | None = None,
    rechecked: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """The machine-readable report (``report.json``), schema :data:`SCHEMA` version :data:`SCHEMA_VERSION`;
    ``cached``: ids whose results were reused from the cache; ``rehashed``: per cached id, the files it read that
    were re-hashed (unchanged) before it was served; ``rechecked``: per cached id, the certificates the independent
    checker re-checked before it was served; ``origins``: where each claim was found. Each claim
    entry carries its recorded ``finding`` for the profile ('' when none); ``findings`` lists the ids whose
    recorded finding reproduced (``known``) and those whose finding no longer does (``stale``)."""
    results = [r for _, r in runs]
    found = [(c.findings.get(profile, ""), r) for c, r in runs]
    states = {c.id: finding_state(f, r.status) for (c, _), (f, r) in zip(runs, found)}
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "profile": profile,
        "seed": seed,
        "started_utc": started,
        "finished_utc": finished,
        **dict(env),
        "summary": {s: sum(r.status == s for r in results) for s in STATUSES},
        "findings": {k: [cid for cid, v in states.items() if v == k] for k in ("known", "stale")},
        "exit_code": exit_code(found),
        "seconds": round(sum(r.seconds for r in results), 3),
        "claims": [
            {
                "id": c.id,
                "statement": c.statement,
                "source": c.source,
                "kind": c.kind,
                "cost": dict(c.cost),
                "origin": (origins or {}).get(c.id, ""),
                "cached": c.id in cached,
                "cache_rehashed": list((rehashed or {}).get(c.id, ())),
                "cache_rechecked": list((rechecked or {}).get(c.id, ())),
                "finding": f,
                "result": r.to_json(),
            }
            for (c, r), (f, _) in zip(runs, found)
        ],
    }


def load_document(path: str | os.PathLike) -> tuple[dict[str, Any], list[tuple[dict[str, Any], Result]]]:
    """Read ``report.json`` back: the document and ``(claim info, Result)`` per claim.

    Raises:
        ChecksError: unreadable file, wrong schema or version, malformed results.
    """
    try:
        doc = theory.io.read_json(path, "report")
    except theory.TheoryError as e:
        raise bad("path", str(path), f"a readable report.json ({e})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise bad("path", str(path), f"a {SCHEMA} document")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise bad("schema_version", doc.get("schema_version"), f"{SCHEMA_VERSION} (the version this library reads)")
    out = []
    try:
        for entry in doc.get("claims", []):
            info = {k: v for k, v in entry.items() if k != "result"}
            out.append((info, Result.from_json(entry["result"])))
    except (KeyError, TypeError, AttributeError, RecursionError) as e:
        raise bad(
            "path", str(path), f"a {SCHEMA} document with well-formed claims ({type(e).__name__}: a corrupted file)"
        ) from None
    ids = [str(info.get("id")) for info, _ in out]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise bad("path", str(path), f"a {SCHEMA} document with distinct claim ids ({', '.join(twice[:5])} repeated)")
    return doc, out


def check_out_dir(out: Path, force: bool) -> None:
    """Raise ChecksError unless the report directory ``out`` can be written (``theory.io.check_writable``): its
    parent is or can be made a writable directory, and ``out`` does not exist, or ``force`` is set and ``out`` is
    a report directory cnnverify wrote (its ``.cnnverify`` marker, nothing foreign in it)."""
    try:
        theory.io.check_writable(out, "directory", force=force, flag="--out")
    except theory.TheoryError as e:
        raise ChecksError(str(e)) from None


def staging_dir(out: Path) -> Path:
    """A fresh temporary directory next to ``out`` (same file system, so the final rename is atomic)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))


def finish(doc: Mapping[str, Any], staging: Path, out: Path, force: bool, pages: Mapping[str, str] = {}) -> Path:
    """Write report.json, report.md and ``pages`` (file name -> text, e.g. report.html) into ``staging`` (already
    holding the plots), then rename it to ``out``.

    An existing ``out`` is replaced only with ``force`` and only when cnnverify wrote it (:func:`check_out_dir`;
    moved aside first, then deleted), so a crash leaves either the old directory or the complete new one. The
    new directory gets the ``.cnnverify`` marker listing what it holds. Returns ``out``.
    """
    (staging / "report.json").write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    (staging / "report.md").write_text(render_markdown(doc))
    for name, text in pages.items():
        (staging / name).write_text(text)
    theory.io.write_marker(staging, "python -m checks", [p.name for p in staging.iterdir()])
    check_out_dir(out, force)
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rename(out, old / "previous")
        try:  # checked again once moved aside: a file added since the first check must not be deleted
            theory.io.check_replaceable(old / "previous", "--out", in_place=True)
        except theory.TheoryError as e:
            os.rename(old / "previous", out)
            shutil.rmtree(old, ignore_errors=True)
            raise ChecksError(
                f"{e} (entries appeared in {out} while it was being replaced; it was left as it is)"
            ) from None
        os.rename(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staging, out)
    return out


def discard(staging: Path) -> None:
    """Remove a staging directory after a failure."""
    shutil.rmtree(staging, ignore_errors=True)
