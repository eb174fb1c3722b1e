"""Reading a certificate's cover tree (format ``cnnverify.cover`` 1, docs/certificates.md) as untrusted data.

Three little-endian arrays in creation order, concatenated, zlib-compressed, base64 text: ``parent`` int32
(``-1 - piece`` for a root), ``axis`` int8 (split axis; ``-1`` leaf; ``-2`` a part claimed to miss the claim's
region), ``value`` float64 (split coordinate; a leaf's claimed bound; NaN). :func:`walk` rebuilds every region
from its root by the recorded splits: a region is never read from the file, only derived, so the leaves of a
well-formed tree partition each root.
"""

from __future__ import annotations

import base64
import binascii
import math
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from flint import fmpq

MAX_NODES = 20_000_000
"""Most nodes of a cover tree the checker reads (about 260 MB decompressed)."""
LEAF, MISSED = -1, -2


class Rejected(Exception):
    """The certificate is rejected: ``step`` (what was being checked) and a message naming the region or fact."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step


def decode(tree: Any, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(parent, axis, value)`` of a tree record, validated (sizes, axes, parents before children, two
    children per inner node). Raises Rejected."""
    if not isinstance(tree, dict) or type(tree.get("nodes")) is not int or not isinstance(tree.get("data"), str):
        raise Rejected("cover", "the proof's tree is not {'nodes': int, 'data': base64 text}")
    n = tree["nodes"]
    if not 1 <= n <= MAX_NODES:
        raise Rejected("cover", f"the tree has {n} nodes (allowed: 1 to {MAX_NODES})")
    size = 13 * n
    try:
        packed = base64.b64decode(tree["data"].encode("ascii"), validate=True)
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, size + 1)
    except (binascii.Error, ValueError, zlib.error) as e:
        raise Rejected("cover", f"the tree's data does not decode ({e})") from None
    if len(raw) != size or inflater.unconsumed_tail:
        raise Rejected("cover", f"the tree's data holds {len(raw)}+ bytes, not 13 per node ({size})")
    parent = np.frombuffer(raw[: 4 * n], dtype="<i4").astype(np.int64)
    axis = np.frombuffer(raw[4 * n : 5 * n], dtype="<i1").astype(np.int64)
    value = np.frombuffer(raw[5 * n :], dtype="<f8").astype(np.float64)
    idx = np.arange(n)
    if np.any((parent >= 0) & (parent >= idx)):
        raise Rejected(
            "cover", f"node {int(np.flatnonzero((parent >= 0) & (parent >= idx))[0])} comes before its parent"
        )
    if np.any((axis < MISSED) | (axis >= k)):
        raise Rejected("cover", f"node {int(np.flatnonzero((axis < MISSED) | (axis >= k))[0])} has no valid axis")
    kids = np.bincount(parent[parent >= 0], minlength=n)
    wrong = np.flatnonzero(kids != np.where(axis >= 0, 2, 0))
    if wrong.size:
        i = int(wrong[0])
        raise Rejected(
            "cover", f"node {i} has {int(kids[i])} children (a split has 2, a leaf none): a region is missing"
        )
    return parent, axis, value


def walk(
    parent: np.ndarray, axis: np.ndarray, value: np.ndarray, root_box: Callable[[int], tuple[list, list]]
) -> Iterator[tuple[int, int, int, list[fmpq], list[fmpq], float]]:
    """Every leaf and missed part, derived from its root: ``(node, piece, kind, lo, hi, value)`` with ``kind``
    LEAF or MISSED and the box exact. ``root_box(piece)`` gives a root's box. Raises Rejected on a split outside
    its region or a leaf bound that is not a number >= 0."""
    children: dict[int, list[int]] = {}
    for i in np.flatnonzero(parent >= 0).tolist():
        children.setdefault(int(parent[i]), []).append(i)
    for r in np.flatnonzero(parent < 0).tolist():
        piece = int(-1 - parent[r])
        lo, hi = root_box(piece)
        stack = [(r, lo, hi)]
        while stack:
            i, lo, hi = stack.pop()
            a = int(axis[i])
            v = float(value[i])
            if a == MISSED:
                yield i, piece, MISSED, lo, hi, v
                continue
            if a == LEAF:
                if math.isnan(v) or v < 0:
                    raise Rejected("cover", f"leaf {i} claims the bound {v}, not a number >= 0")
                yield i, piece, LEAF, lo, hi, v
                continue
            at = fmpq(*v.as_integer_ratio()) if math.isfinite(v) else None
            if at is None or not lo[a] < at < hi[a]:
                raise Rejected("cover", f"node {i} splits axis {a} at {v}, outside its region [{lo[a]}, {hi[a]}]")
            c0, c1 = children[i]
            stack.append((c1, [*lo[:a], at, *lo[a + 1 :]], hi))
            stack.append((c0, lo, [*hi[:a], at, *hi[a + 1 :]]))
