"""What the branch-and-bound search keeps per box: a rep to bound by propagation, or enumerated patterns.

* :class:`RepState`: a :class:`~theory.certify._cone.Rep` valid on the box (bounded by
  :func:`theory.certify._propagate.propagate`, simplified per box by :func:`theory.certify._simplify.simplify`);
* :class:`PatState`: once the rep is small enough, its enumerated activation patterns
  (:func:`theory.certify._patterns.enumerate_patterns`): ``P`` affine pieces ``F`` with errors ``E`` and the
  constraints ``CF``, ``CE``, ``CS`` saying where each applies. Patterns enumerated on a box stay valid on its
  sub-boxes; there they are only filtered (:meth:`PatState.feasible`);
* :class:`Node`: a bounded box of the search's heap.

Shapes: ``k`` box variables, ``K1 = k + 1`` (coefficients then constant); ``F (P, K1)``, ``E (P,)``,
``CF (P, J, K1)``, ``CE (P, J)``, ``CS (P, J)`` (``J`` constraints per pattern, sign 0 for padding).
Source: reconstruction (see :mod:`theory.certify._certify`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._cone import Rep, to_local
from ._intervals import TINY, slack, up


@dataclass(eq=False)
class PatState:
    """A rep small enough to enumerate: its affine pieces on the box where they were enumerated (valid on
    every sub-box), with the constraints describing where each applies."""

    rep: Rep
    F: np.ndarray
    E: np.ndarray
    CF: np.ndarray
    CE: np.ndarray
    CS: np.ndarray

    @property
    def P(self) -> int:
        return self.F.shape[0]

    def subset(self, keep: np.ndarray) -> "PatState":
        return PatState(self.rep, self.F[keep], self.E[keep], self.CF[keep], self.CE[keep], self.CS[keep])

    def feasible(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """``(B, P)``: False where a constraint proves that no point of box b follows pattern p."""
        B = lo.shape[1]
        if not self.CS.shape[1]:
            return np.ones((B, self.P), dtype=bool)
        k = self.rep.k
        lo, hi = to_local(self.rep, lo, hi)
        sf = self.CS[:, :, None] * self.CF  # (P, J, K1)
        a = sf[None, :, :, :k]
        l, h = lo.T[:, None, None, :], hi.T[:, None, None, :]
        mx = sf[None, :, :, k] + np.maximum(a * l, a * h).sum(axis=3)
        X = np.maximum(np.abs(l), np.abs(h))
        err = slack(k + 1) * (np.abs(sf[None, :, :, k]) + (np.abs(a) * X).sum(axis=3)) + TINY
        ok = up(up(mx + err) + self.CE[None]) >= 0
        ok |= (self.CS == 0)[None]
        return ok.all(axis=2)


@dataclass(eq=False)
class RepState:
    """A rep valid on the box, bounded by propagation (and pattern enumeration, once it is small enough)."""

    rep: Rep
    failed: int = 1 << 30  # unstable count at which pattern enumeration last failed (skip until it shrinks)


@dataclass(eq=False)
class Node:
    """A bounded box ``[lo, hi]`` (shape ``(k,)``) with its state, bound, depth in the split tree and node index."""

    lo: np.ndarray
    hi: np.ndarray
    upper: float
    state: RepState | PatState
    depth: int
    nid: int = -1  # the box's node in the search's CoverLog
