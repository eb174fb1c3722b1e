"""Exact specs on disk: JSON with rationals as strings, sparse, written atomically, verified on load."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import TheoryError, bad
from ..io import atomic_write_dir, read_json
from ._layers import LAYER_KINDS
from ._network import Network, thaw
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
    return TheoryError(
        f"{p}: format version 1, its meta is not covered by a hash: pass {flags} explicitly, or "
        "re-save it with theory.save to cover it"
    )


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
        raise TheoryError(
            f"unsupported {FORMAT} version {version!r}; this library reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}"
        )
    try:
        layers = []
        for i, lj in enumerate(obj["layers"]):
            cls = LAYER_KINDS.get(lj.get("kind"))
            if cls is None:
                raise TheoryError(f"layers[{i}].kind: {lj.get('kind')!r} is not one of {sorted(LAYER_KINDS)}")
            layers.append(
                cls(
                    _array_from_json(lj["weight"], f"layers[{i}].weight"),
                    _array_from_json(lj["bias"], f"layers[{i}].bias"),
                    relu=lj["relu"],
                )
            )
        meta = obj.get("meta") or {}
        net = Network(
            d=obj["d"], c_in=obj["c_in"], layers=tuple(layers), meta=meta, meta_covered=version >= 2 or not meta
        )
    except (KeyError, TypeError, AttributeError, ValueError, OverflowError) as e:
        if isinstance(e, TheoryError):
            raise
        raise TheoryError(f"malformed spec document: {type(e).__name__}: {e}") from None
    except RecursionError:
        raise TheoryError("malformed spec document: nested too deeply (a corrupted file)") from None
    if net.content_hash != obj.get("content_hash"):
        raise TheoryError(
            "content hash mismatch: the weights do not match the recorded hash (corrupted or edited file)"
        )
    if version >= 2 and net.meta_hash != obj.get("meta_hash"):
        raise TheoryError(
            "modified file: meta does not match its hash (meta_hash); the target, box or bounds "
            "were edited or the file is corrupted (rebuild it, or load the weights and save again)"
        )
    if not net.meta_covered:
        warnings.warn(
            "meta not covered by a hash (format version 1): the tools use its target, box, support, "
            "bounds and eps only when given explicitly; re-save to cover it (theory.save)",
            MetaNotCoveredWarning,
            stacklevel=2,
        )
    return net


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
