"""The final cover of a sup-norm search, recorded as it splits: the proof object a checker re-verifies.

Both searches refine a root region (the box of the search variables; for the piecewise search one root per Kuhn
simplex, its cell) by halving along one axis. :class:`CoverLog` records every node as the search creates it and,
at the end, every leaf's claimed bound. :meth:`CoverLog.encode` writes the tree in the format that
:mod:`theory.check` reads (documented there, in ``docs/certificates.md`` and below); nothing here is used by the
checker, which decodes and re-derives everything itself.

Format ``cnnverify.cover`` version 1, nodes in creation order (a node's parent comes before it, children in
order: the lower half first). Three little-endian arrays, concatenated, zlib-compressed, base64 text:

* ``parent`` int32: the parent's node index; for a root ``-1 - piece`` (``piece`` 0 for the box search; for
  the piecewise search ``cell * k! + rank`` with cells in C order and permutations in lexicographic order);
* ``axis`` int8: the split axis of an inner node, ``-1`` for a leaf, ``-2`` for a part proved to miss its
  simplex or the box (no bound claimed);
* ``value`` float64: the split coordinate of an inner node (the box search may split off-centre at a kink), the
  claimed upper bound of ``|net - g|`` on a leaf, NaN for a missed part.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

import numpy as np

COVER_FORMAT, COVER_VERSION = "cnnverify.cover", 1
LEAF, MISSED = -1, -2


class CoverLog:
    """The tree of regions a search created (mutable: the search appends to it)."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.axis: list[int] = []
        self.value: list[float] = []

    def _new(self, parent: int) -> int:
        self.parent.append(parent)
        self.axis.append(LEAF)
        self.value.append(float("nan"))
        return len(self.parent) - 1

    def root(self, piece: int = 0) -> int:
        """A new root region (``piece`` numbered as in the module docstring); returns its node index."""
        return self._new(-1 - piece)

    def split(self, node: int, axis: int, at: float) -> tuple[int, int]:
        """Halve ``node`` along ``axis`` at ``at``; returns the node indices of the lower and the upper half."""
        lo, hi = self.split_many(np.array([node]), np.array([axis]), np.array([at]))
        return int(lo[0]), int(hi[0])

    def split_many(self, nodes: np.ndarray, axes: np.ndarray, ats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`split` for each row; returns the lower halves' and the upper halves' node indices."""
        n0 = len(self.parent)
        for i, a, v in zip(nodes.tolist(), axes.tolist(), ats.tolist()):
            self.axis[i], self.value[i] = int(a), float(v)
        for i in nodes.tolist():
            self.parent += [i, i]
        self.axis += [LEAF] * (2 * nodes.size)
        self.value += [float("nan")] * (2 * nodes.size)
        lower = n0 + 2 * np.arange(nodes.size)
        return lower, lower + 1

    def leaf(self, node: int, bound: float) -> None:
        """Claim ``|net - g| <= bound`` on ``node`` (a leaf of the final cover)."""
        self.value[node] = float(bound)

    def leaves(self, nodes: np.ndarray, bounds: np.ndarray) -> None:
        """:meth:`leaf` for each row."""
        for i, b in zip(nodes.tolist(), bounds.tolist()):
            self.value[i] = float(b)

    def missed(self, nodes: np.ndarray) -> None:
        """Each of ``nodes`` misses its simplex or the box: no point of the claim lies in it."""
        for i in nodes.tolist():
            self.axis[i] = MISSED

    def encode(self) -> dict[str, Any]:
        """``{"nodes": n, "data": base64 text}`` (module docstring); the checker validates it as data."""
        parent = np.asarray(self.parent, dtype="<i4")
        axis = np.asarray(self.axis, dtype="<i1")
        value = np.asarray(self.value, dtype="<f8")
        raw = parent.tobytes() + axis.tobytes() + value.tobytes()
        return {"nodes": int(parent.size), "data": base64.b64encode(zlib.compress(raw, 6)).decode("ascii")}


def proof_object(log: CoverLog, names: list[str], frame: dict[str, Any], target: str) -> dict[str, Any]:
    """The certificate's ``proof`` member of a sup-norm search: the frame (``{"kind": "box"}`` or the Kuhn grid
    with its vertex values), the variables, the target it was searched against and the cover tree."""
    return {
        "format": COVER_FORMAT,
        "version": COVER_VERSION,
        "variables": list(names),
        "target": target,
        "frame": frame,
        "tree": log.encode(),
    }
