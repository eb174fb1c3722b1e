"""Exact specs on disk: JSON with rationals as strings, sparse, written atomically, verified on load."""

from __future__ import annotations

import json
import os
import shutil
import secrets
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .._errors import TheoryError, bad
from ._layers import LAYER_KINDS
from ._network import Network, thaw
from ._rational import as_rational
from ._sparse import SparseArray

FORMAT = "cnnverify.network"
VERSION = 1
SPEC_FILE = "spec.json"


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
    """The spec as a JSON-ready dict (exact: rationals as strings, sparse keys/values, content hash)."""
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
    }


def from_json(obj: Any) -> Network:
    """Rebuild a spec from :func:`to_json` output; the content hash must match the weights.

    Raises:
        TheoryError: wrong format or version, malformed arrays, invalid network, or hash mismatch
            (a corrupted or edited file).
    """
    if not isinstance(obj, Mapping) or obj.get("format") != FORMAT:
        raise TheoryError(f"not a {FORMAT} document (missing or wrong 'format' field)")
    if type(obj.get("version")) is not int or obj.get("version") != VERSION:
        raise TheoryError(f"unsupported {FORMAT} version {obj.get('version')!r}; this library reads version {VERSION}")
    try:
        layers = []
        for i, lj in enumerate(obj["layers"]):
            cls = LAYER_KINDS.get(lj.get("kind"))
            if cls is None:
                raise TheoryError(f"layers[{i}].kind: {lj.get('kind')!r} is not one of {sorted(LAYER_KINDS)}")
            layers.append(cls(_array_from_json(lj["weight"], f"layers[{i}].weight"),
                              _array_from_json(lj["bias"], f"layers[{i}].bias"), relu=lj["relu"]))
        net = Network(d=obj["d"], c_in=obj["c_in"], layers=tuple(layers), meta=obj.get("meta") or {})
    except (KeyError, TypeError, AttributeError, ValueError, OverflowError) as e:
        if isinstance(e, TheoryError):
            raise
        raise TheoryError(f"malformed spec document: {type(e).__name__}: {e}") from None
    if net.content_hash != obj.get("content_hash"):
        raise TheoryError("content hash mismatch: the weights do not match the recorded hash (corrupted or edited file)")
    return net


def atomic_write_dir(out_dir: str | os.PathLike, files: Mapping[str, bytes], force: bool = False) -> Path:
    """Write ``files`` (name -> bytes) as the directory ``out_dir``, all or nothing.

    The files go to a temporary sibling directory that is renamed into place, so a crash leaves either the
    old state or the complete new one. An existing ``out_dir`` is refused unless ``force`` (then replaced).
    """
    out = Path(out_dir)
    if out.exists() and not force:
        raise bad("out", str(out), "a path that does not exist yet (pass force=True / --force to replace it)")
    if out.exists() and not out.is_dir():
        raise bad("out", str(out), "a directory path (a file is in the way)")
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
            os.rename(out, old / "x")
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
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not (old / "x").exists():  # never delete the only copy of the old directory
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(out.parent)
    return out


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
    """Save the exact spec as ``out_dir/spec.json`` (atomically). Returns the directory."""
    return atomic_write_dir(out_dir, {SPEC_FILE: spec_bytes(net)}, force=force)


def load(path: str | os.PathLike) -> Network:
    """Load a spec saved by :func:`save` (a directory holding ``spec.json``, or the JSON file itself)."""
    p = Path(path)
    if p.is_dir():
        p = p / SPEC_FILE
    if not p.is_file():
        raise bad("path", str(path), f"a directory containing {SPEC_FILE} or a spec JSON file")
    try:
        obj = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TheoryError(f"{p}: not valid JSON ({e}); the file is corrupted") from None
    try:
        return from_json(obj)
    except TheoryError as e:
        raise TheoryError(f"{p}: {e}") from None
