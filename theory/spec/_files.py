"""Exact specs on disk: JSON with rationals as strings, sparse, written atomically, verified on load."""

from __future__ import annotations

import json
import os
import shutil
import secrets
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from .._errors import TheoryError, bad
from ._layers import LAYER_KINDS
from ._network import Network, thaw
from ._outputs import MARKER_FILE, check_replaceable, foreign_entries, holds_cwd, marker_bytes, read_marker
from ._rational import as_rational
from ._sparse import SparseArray

FORMAT = "cnnverify.network"
VERSION = 2
"""Version 2 records ``meta_hash`` (:attr:`Network.meta_hash`) next to ``content_hash``; version 1 files, whose
``meta`` no hash covers, still load (with a :class:`MetaNotCoveredWarning`)."""
READABLE_VERSIONS = (1, 2)


class MetaNotCoveredWarning(UserWarning):
    """A spec file of format version 1: its ``meta`` (target, box, bounds) is not covered by a hash."""


SPEC_FILE = "spec.json"


def uncovered_meta_error(path: str | os.PathLike, flags: str = "--target and --box") -> TheoryError:
    """The error of a command asked to act on the meta of a spec file that no hash covers (format version 1,
    ``Network.meta_covered`` False): it names the file and the ``flags`` that replace the meta's fields."""
    p = Path(path)
    p = p / SPEC_FILE if p.is_dir() else p
    return TheoryError(f"{p}: format version 1, its meta is not covered by a hash: pass {flags} explicitly, or "
                       "re-save it with theory.save to cover it")


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
    """Read the JSON file ``path`` (the one reader of JSON files of all three packages).

    Raises:
        TheoryError: ``path`` cannot be read, or is not valid JSON (:func:`parse_json`: syntax, encoding, or
            nesting too deep), naming the path and ``what`` (e.g. ``"certificate"``).
    """
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise TheoryError(f"{path}: cannot read {what} ({e.strerror or e})") from None
    return parse_json(data, path, what)


def _array_json(a: SparseArray) -> dict[str, Any]:
    return {"shape": list(a.shape), "keys": a.keys.tolist(), "values": [str(v) for v in a.values]}


def _array_from_json(obj: Any, where: str) -> SparseArray:
    if not isinstance(obj, Mapping) or set(obj) != {"shape", "keys", "values"}:
        raise TheoryError(f"{where}: expected an object with 'shape', 'keys', 'values'")
    keys, values = obj["keys"], obj["values"]
    if not isinstance(keys, list) or not all(isinstance(k, int) and not isinstance(k, bool) for k in keys):
        raise TheoryError(f"{where}.keys: expected a list of ints")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise TheoryError(f"{where}.values: expected a list of rational strings such as '-1/2'")
    vals = np.empty(len(values), dtype=object)
    vals[:] = [as_rational(v, f"{where}.values") for v in values]
    return SparseArray(tuple(obj["shape"]), np.asarray(keys, dtype=np.int64), vals)


def to_json(net: Network) -> dict[str, Any]:
    """The spec as a JSON-ready dict (exact: rationals as strings, sparse keys/values, content hash of the
    weights, meta hash of ``meta``; format version :data:`VERSION`)."""
    if not isinstance(net, Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    return {
        "format": FORMAT,
        "version": VERSION,
        "d": net.d,
        "c_in": net.c_in,
        "meta": thaw(net.meta),
        "layers": [
            {"kind": l.kind, "relu": l.relu, "weight": _array_json(l.weight), "bias": _array_json(l.bias)}
            for l in net.layers
        ],
        "content_hash": net.content_hash,
        "meta_hash": net.meta_hash,
    }


def from_json(obj: Any) -> Network:
    """Rebuild a spec from :func:`to_json` output; the content hash must match the weights, the meta hash
    (format version 2) the ``meta``.

    Version 1 documents (no meta hash) still load; when their ``meta`` is not empty the network has
    ``meta_covered=False`` and a :class:`MetaNotCoveredWarning` says so (re-save to cover it): the tools then
    act on none of its fields (target, box, support, bounds, eps) unless given them explicitly. Their formulas are parsed by the same
    whitelist parser as any other, so an edited ``meta`` cannot run code, only change what is checked.

    Raises:
        TheoryError: wrong format or version, malformed arrays, invalid network, or hash mismatch
            (a corrupted or edited file: weights or ``meta``).
    """
    if not isinstance(obj, Mapping) or obj.get("format") != FORMAT:
        raise TheoryError(f"not a {FORMAT} document (missing or wrong 'format' field)")
    version = obj.get("version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise TheoryError(f"unsupported {FORMAT} version {version!r}; this library reads versions "
                          f"{', '.join(map(str, READABLE_VERSIONS))}")
    try:
        layers = []
        for i, lj in enumerate(obj["layers"]):
            cls = LAYER_KINDS.get(lj.get("kind"))
            if cls is None:
                raise TheoryError(f"layers[{i}].kind: {lj.get('kind')!r} is not one of {sorted(LAYER_KINDS)}")
            layers.append(cls(_array_from_json(lj["weight"], f"layers[{i}].weight"),
                              _array_from_json(lj["bias"], f"layers[{i}].bias"), relu=lj["relu"]))
        meta = obj.get("meta") or {}
        net = Network(d=obj["d"], c_in=obj["c_in"], layers=tuple(layers), meta=meta,
                      meta_covered=version >= 2 or not meta)
    except (KeyError, TypeError, AttributeError, ValueError, OverflowError) as e:
        if isinstance(e, TheoryError):
            raise
        raise TheoryError(f"malformed spec document: {type(e).__name__}: {e}") from None
    except RecursionError:
        raise TheoryError("malformed spec document: nested too deeply (a corrupted file)") from None
    if net.content_hash != obj.get("content_hash"):
        raise TheoryError("content hash mismatch: the weights do not match the recorded hash (corrupted or edited file)")
    if version >= 2 and net.meta_hash != obj.get("meta_hash"):
        raise TheoryError("modified file: meta does not match its hash (meta_hash); the target, box or bounds "
                          "were edited or the file is corrupted (rebuild it, or load the weights and save again)")
    if not net.meta_covered:
        warnings.warn("meta not covered by a hash (format version 1): the tools use its target, box, support, "
                      "bounds and eps only when given explicitly; re-save to cover it (theory.save)",
                      MetaNotCoveredWarning, stacklevel=2)
    return net


def atomic_write_dir(out_dir: str | os.PathLike, files: Mapping[str, bytes], force: bool = False, *,
                     tool: str = "cnnverify", update: bool = False, written: Iterable[str] | None = None) -> Path:
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
        raise TheoryError(f"argument 'out': got {str(out)!r}: it is a symbolic link (to {os.readlink(out)!r}), "
                          "which writing would replace by a real directory; allowed: a real directory path "
                          "(the link's target itself, or another path)")
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
                        swap_error.add_note(f"restoring {out} failed too ({restore_error}); "
                                            f"its previous contents are in {old / 'x'}")
            raise
    except _Appeared as e:  # put the previous directory back untouched, with what appeared in it
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            os.rename(old / "x", out)
        except OSError as restore_error:
            raise TheoryError(f"{e} (restoring {out} failed: {restore_error}; its contents are in "
                              f"{old / 'x'})") from None
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
    if carried is not None:
        foreign = sorted(e.name for e in old.iterdir() if e.name != MARKER_FILE and e.name not in carried)
    else:
        foreign = foreign_entries(old)
        if foreign is None:
            foreign = [f"{MARKER_FILE} (now missing or unreadable)"]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise _Appeared(f"argument 'out': got {str(out)!r}: entries cnnverify did not write appeared in it while it "
                        f"was being replaced ({shown}); it was left as it is; allowed: move them away and retry")


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


def spec_bytes(net: Network) -> bytes:
    """The JSON document of :func:`to_json`, encoded."""
    return json.dumps(to_json(net), separators=(",", ":")).encode()


def save(net: Network, out_dir: str | os.PathLike, *, force: bool = False) -> Path:
    """Save the exact spec as ``out_dir/spec.json`` (atomically, with the ``.cnnverify`` marker). Returns the
    directory. ``force`` replaces only a directory cnnverify wrote (see :func:`atomic_write_dir`)."""
    return atomic_write_dir(out_dir, {SPEC_FILE: spec_bytes(net)}, force=force, tool="theory.save")


def load(path: str | os.PathLike, *, note: Callable[[str], None] | None = None) -> Network:
    """Load a spec saved by :func:`save` (a directory holding ``spec.json``, or the JSON file itself).

    Args:
        path: the directory or the file.
        note: called with the message instead of issuing a :class:`MetaNotCoveredWarning` (a command line
            prints it as ``warning: ...``).
    Raises:
        TheoryError: no such file, a corrupted file (:func:`read_json`), or any error of :func:`from_json`
            (prefixed with the path).
    """
    p = Path(path)
    if p.is_dir():
        p = p / SPEC_FILE
    if not p.is_file():
        raise bad("path", str(path), f"a directory containing {SPEC_FILE} or a spec JSON file")
    obj = read_json(p, "spec file")
    try:
        if note is None:
            return from_json(obj)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MetaNotCoveredWarning)
            net = from_json(obj)
    except TheoryError as e:
        raise TheoryError(f"{p}: {e}") from None
    for w in caught:
        if issubclass(w.category, MetaNotCoveredWarning):
            note(f"{p}: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return net
