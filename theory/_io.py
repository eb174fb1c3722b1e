"""Exact specs on disk: JSON with rationals as strings, sparse, written atomically, verified on load."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ._errors import TheoryError, bad
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
    if obj.get("version") != VERSION:
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
    except (KeyError, TypeError, AttributeError) as e:
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
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    mode = (out.stat().st_mode & 0o7777) if out.exists() else (0o777 & ~umask)
    old: Path | None = None
    try:
        for name, data in files.items():
            with open(tmp / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp / name, 0o666 & ~umask)
        os.chmod(tmp, mode)  # mkdtemp makes 0700; give the directory its ordinary (or previous) mode
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.rename(out, old / "x")
        try:
            os.rename(tmp, out)
        except BaseException:
            if old is not None:  # put the previous directory back: all or nothing
                os.rename(old / "x", out)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(out.parent)
    return out


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
