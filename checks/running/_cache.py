"""A content-addressed cache of claim results, so a run on an unchanged tree reuses what it computed before.

Key (sha256 of a JSON record): claim id, profile, seed, the hash of the code the claim depends on, and the
versions of the libraries that compute (python, numpy, scipy, sympy, torch, z3, cnnverify). "The code" is every
``.py`` file of the toolkit's packages (theory, numerics, checks) plus the claim's own source: its file, or every
``.py`` file of the top-level package its module belongs to. Code the claim imports from elsewhere is covered only
through the library versions; after editing such code, run with ``--no-cache``.

The files a claim read through the toolkit's readers (spec files, weight files, ONNX files, any JSON read by
``theory.io.read_json``) are not in the key, since they are known only after the claim ran: the entry records each
one's path and sha256 (``theory.io.FileRead``), and :meth:`Cache.get` re-hashes them before serving it. A file
that changed, vanished or cannot be read makes the entry stale: it is not served, the claim runs again
(:attr:`Cache.stale` says why) and its new result replaces the entry. Networks a claim's helpers saw (their content
hashes, recorded beside the reads) may have been built in memory, so such an entry is not served either: the
claim runs again and reuses each kept certificate the checker accepts against the network built now
(:attr:`Cache.replay`).

An entry holds the :class:`Result` as JSON, the files it read, and the claim's artifact files (plots), and a
digest over all of them: an entry whose files no longer match it (a result edited by hand), or that holds a
symbolic link or special file, is never served;
``unknown`` results are never stored (a timeout or crash is retried on the next run). Entries are written to a temporary directory and
renamed into place, so a reader sees a whole entry or none. Default location: ``$CNNVERIFY_CACHE``, else
``$XDG_CACHE_HOME/cnnverify/checks``, else ``~/.cache/cnnverify/checks``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Iterable

import theory
from theory.io import FileRead, changed_reads

from .._errors import bad
from ..claims import Result

_TOOLKIT = ("theory", "numerics", "checks")
_LIBRARIES = ("numpy", "scipy", "sympy", "torch", "z3-solver", "cnnverify")


def default_cache_dir() -> Path:
    """``$CNNVERIFY_CACHE``, else ``$XDG_CACHE_HOME/cnnverify/checks``, else ``~/.cache/cnnverify/checks``."""
    if os.environ.get("CNNVERIFY_CACHE"):
        return Path(os.environ["CNNVERIFY_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cnnverify" / "checks"


def _hash_files(paths: Iterable[Path], root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


@lru_cache(maxsize=None)
def _tree_hash(directory: Path) -> str:
    return _hash_files((p for p in directory.rglob("*.py") if "__pycache__" not in p.parts), directory)


@lru_cache(maxsize=None)
def code_hash(origin: str) -> str:
    """Hash of the toolkit's sources and of the claim source ``origin`` (a file path or a module name)."""
    parts = [_tree_hash(d) for d in map(_package_dir, _TOOLKIT) if d is not None]
    path = Path(origin)
    if path.is_file():
        parts.append(_hash_files([path], path.parent))
    else:
        top = origin.split(".")[0]
        pkg = _package_dir(top)
        if pkg is not None and top not in _TOOLKIT:
            parts.append(_tree_hash(pkg))
        elif pkg is None:
            module = sys.modules.get(origin)
            file = getattr(module, "__file__", None)
            if file:
                parts.append(_hash_files([Path(file)], Path(file).parent))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@lru_cache(maxsize=1)
def library_versions() -> tuple[tuple[str, str], ...]:
    """``(name, version)`` of python and the computing libraries (part of every key)."""
    out = [("python", sys.version.split()[0])]
    for dist in _LIBRARIES:
        try:
            out.append((dist, metadata.version(dist)))
        except metadata.PackageNotFoundError:
            out.append((dist, "not installed"))
    return tuple(out)


def _recheck(result: Result, into: Path) -> tuple[list[str], list[str]]:
    """Re-check every certificate a cached result kept (evidence ``certificates``: a certificate file and its spec
    directory among the entry's files, now in ``into``) with the independent checker; ``(rejections, accepted
    file names)``. A certificate that is missing, unreadable or rejected is a rejection: the entry is recomputed."""
    bad_, ok = [], []
    for c in result.evidence.get("certificates") or []:
        if not isinstance(c, dict) or not c.get("certificate"):
            continue
        name = str(c["certificate"])
        try:
            cert = theory.Certificate.load(into / name)
            report = theory.check_certificate(cert, theory.load(into / str(c.get("spec", ""))))
        except (theory.TheoryError, OSError) as e:
            bad_.append(f"certificate {name} does not re-check ({e})")
            continue
        if report.verdict == "rejected":
            bad_.append(f"certificate {name} rejected by the checker ({report.step}: {report.message})")
        else:
            ok.append(f"{name} ({report.verdict})")
    return bad_, ok


class Cache:
    """Claim results by content key under ``root`` (see the module docstring)."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        if root is not None and not isinstance(root, (str, os.PathLike)):
            raise bad("root", root, "None (the default cache directory) or a path")
        self.root = Path(root) if root is not None else default_cache_dir()
        self.stale: dict[str, list[str]] = {}
        """Key -> the recorded files that changed (or the certificates the checker rejected), for every entry
        :meth:`get` refused as stale."""
        self.rechecked: dict[str, list[str]] = {}
        """Key -> the certificate files of a served entry that the independent checker re-checked (accepted)."""
        self.replay: dict[str, tuple[Result, dict[str, Path]]] = {}
        """Key -> for an entry whose claim's helpers saw networks (not served as it is: the claim runs again to
        build them now), its result and its certificates by helper call, which the new run may reuse once the
        checker accepts them against the networks built now (:mod:`checks.expect._replay`)."""

    @staticmethod
    def key(claim_id: str, origin: str, profile: str, seed: int) -> str:
        """The content key of one claim run."""
        record = {
            "id": claim_id,
            "profile": profile,
            "seed": seed,
            "code": code_hash(origin),
            "versions": library_versions(),
        }
        return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()

    def _dir(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get(self, key: str, into: Path) -> tuple[Result, tuple[str, ...]] | None:
        """The stored result of ``key`` and the paths of the files it read (each re-hashed: unchanged), with its
        artifacts copied into ``into``; None when absent, unreadable, or stale (a file it read changed:
        recorded in :attr:`stale`)."""
        entry = self._dir(key)
        damaged = _damage(entry)
        if damaged:  # edited by hand, truncated, or holding links: never served
            if damaged != "absent":
                self.stale[key] = [damaged]
            return None
        try:
            result = Result.from_json(json.loads((entry / "result.json").read_text()))
            reads_json = json.loads((entry / "reads.json").read_text())
            if not isinstance(reads_json, list):
                return None
            reads = [FileRead.from_json(r) for r in reads_json]
            networks = json.loads((entry / "networks.json").read_text())
            if not isinstance(networks, list):
                return None
        except (OSError, ValueError):  # absent, written by an older version, or damaged by hand: recompute
            return None
        changed = changed_reads(reads)
        if changed:
            self.stale[key] = changed
            return None
        if networks:  # networks built in memory are known only by building them: run again, reuse what holds
            calls = [c for c in result.evidence.get("certificates") or [] if isinstance(c, dict)]
            self.replay[key] = (
                result,
                {
                    str(c["call"]): entry / "files" / Path(str(c["certificate"])).name
                    for c in calls
                    if c.get("call") and c.get("certificate")
                },
            )
            return None
        try:
            for f in (entry / "files").iterdir():
                into.mkdir(parents=True, exist_ok=True)
                _copy(f, into / f.name)
        except OSError:
            return None
        rejected, checked = _recheck(result, into)
        if rejected:
            self.stale[key] = rejected
            return None
        self.rechecked[key] = checked
        return result, tuple(r.path for r in reads)

    def put(
        self,
        key: str,
        result: Result,
        files: Iterable[Path],
        reads: Iterable[FileRead] = (),
        networks: Iterable[str] = (),
    ) -> bool:
        """Store ``result``, the files it ``reads`` (path and sha256), the content hashes of the ``networks`` its
        helpers saw and its artifact ``files`` unless it is ``unknown``; returns whether it was stored. A cache that cannot be written (read-only, full disk) is
        skipped silently: the run's own report is unaffected."""
        if result.status == "unknown":
            return False
        entry, tmp = self._dir(key), None
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{key[:8]}.tmp-", dir=entry.parent))
            (tmp / "files").mkdir()
            for f in files:
                _copy(f, tmp / "files" / f.name)
            (tmp / "result.json").write_text(json.dumps(result.to_json(), allow_nan=False))
            (tmp / "reads.json").write_text(json.dumps([r.to_json() for r in reads]))
            (tmp / "networks.json").write_text(json.dumps(list(networks)))
            (tmp / DIGEST).write_text(_digest(tmp))
            if entry.exists():
                shutil.rmtree(entry)
            os.rename(tmp, entry)
        except OSError:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            return False
        return True


DIGEST = "digest"
"""The file of an entry holding the sha256 over every other file of it (relative path and bytes)."""


def _digest(entry: Path) -> str:
    return _hash_files((p for p in entry.rglob("*") if p.is_file() and p.name != DIGEST), entry)


def _damage(entry: Path) -> str:
    """Why the entry may not be read: ``"absent"``, a link or special file inside it, or a digest that does not
    match its files (an edited result, a truncated plot); ``""`` when it is whole."""
    if not (entry / DIGEST).is_file():
        return "absent"  # none yet, or written by a version without digests: computed afresh
    try:
        for p in entry.rglob("*"):
            if p.is_symlink() or not (p.is_file() or p.is_dir()):
                return f"the cache entry holds a link or special file ({p.name}), which is never followed"
        if (entry / DIGEST).read_text().strip() != _digest(entry):
            return "the cache entry's files do not match its digest (edited or damaged)"
    except OSError:
        return "the cache entry cannot be read"
    return ""


def _copy(src: Path, dst: Path) -> None:
    """Copy a file, or a folder merged into ``dst``."""
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True)
    else:
        shutil.copy2(src, dst)
