"""The written interface of a sup-norm search: what :func:`theory.certify_sup_error` reads from one.

Two searches bound ``sup_{x in box} |net(x) - g(x)|``:

* :class:`theory.certify._branch_and_bound.Search` (method ``"interval-bnb"``): the general interval branch and
  bound over sub-boxes, for any network;
* :class:`theory.certify.pieces.PieceResult` (method ``"kuhn-pieces"``): the piecewise certificate of a network
  proved affine on the simplices of its construction's grid.

Both are :class:`SupSearch` subclasses. Once a search has run, :func:`theory.certify_sup_error` assembles the
:class:`theory.prove.Certificate` from the members below only (``upper``, ``lower`` and the witness become the
certificate's bounds; the counters go into ``details``). A subclass must implement every abstract member;
one that misses any cannot be instantiated (:class:`TypeError`). Source: the abstract-base pattern of solver
interfaces (e.g. diffrax's ``AbstractSolver``); the members are ours.

Budgets (:class:`Budget`): a search stops at its wall-clock deadline or once its work reaches ``max_work``,
whichever comes first. One unit of work is one box taken from the open set to be refined (split in two, or
settled when too narrow to split): a sub-box of the general search, a simplex (or a part of one) of the
piecewise one. The first bound of the whole box (of every simplex) is not counted: no sound bound exists
without it. Work does not depend on the machine, so a search stopped by work (or finished) gives the same
certificate on any machine and under any load; one stopped by time does not.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ._cover import CoverLog

BUDGET_KEYS = ("work", "max_work", "stopped_by")
"""The keys of a sup-norm certificate's ``details`` that say which budget stopped its search (summaries and
claim evidence copy them)."""


@dataclass(eq=False)
class Budget:
    """The two budgets of one search and what it spent (mutable: the search counts into it).

    Attributes:
        deadline: the ``time.perf_counter()`` time at which the time budget ends.
        max_work: the work budget in units (module docstring); None: no work budget.
        work: units done so far.
        stopped_by: ``"time"`` or ``"work"`` when the search stopped on that budget unfinished; None otherwise.
    """

    deadline: float
    max_work: int | None = None
    work: int = 0
    stopped_by: str | None = None

    def take(self, n: int = 1) -> int:
        """Count up to ``n`` more units of work, as many as the work budget leaves; returns how many."""
        if self.max_work is not None:
            n = max(0, min(n, self.max_work - self.work))
        self.work += n
        return n

    def spent(self) -> str | None:
        """Which budget is spent now: ``"time"`` (checked first), ``"work"``, or None (the search may go on)."""
        if time.perf_counter() >= self.deadline:
            return "time"
        if self.max_work is not None and self.work >= self.max_work:
            return "work"
        return None


class SupSearch(abc.ABC):
    """A finished (or stopped) search for ``sup_box |net - g|``: a sound upper bound, an exact lower bound.

    The witness and the counters are per search: a *box* is a sub-box of the general search or a simplex of
    the piecewise one.
    """

    @property
    @abc.abstractmethod
    def method(self) -> str:
        """The certificate's ``method``: ``"interval-bnb"`` or ``"kuhn-pieces"``."""

    @abc.abstractmethod
    def upper(self) -> float:
        """The sound upper bound of ``sup_box |net - g|`` (float64, rounded up; ``inf`` when none is finite)."""

    @property
    @abc.abstractmethod
    def lower(self) -> Fraction | None:
        """``|net(w) - g(w)|`` at the witness ``w``, rigorously (exact network, enclosed ``g``); None: none found."""

    @property
    @abc.abstractmethod
    def witness(self) -> np.ndarray | Sequence[Fraction] | None:
        """The point of :attr:`lower`, ``k`` coordinates in the order of the search variables (a float array, or
        Fractions where the point is exact); None while no witness is known."""

    @property
    @abc.abstractmethod
    def boxes(self) -> int:
        """Boxes (or simplices) bounded."""

    @property
    @abc.abstractmethod
    def open_boxes(self) -> int:
        """Boxes (or simplices) still open, their bound above the stopping threshold, when the search stopped."""

    @property
    @abc.abstractmethod
    def max_unstable(self) -> int:
        """The largest number of unstable ReLUs left on one box (0 where the network is affine on every piece)."""

    @property
    @abc.abstractmethod
    def exact_evals(self) -> int:
        """Candidate points evaluated exactly for the lower bound."""

    @property
    @abc.abstractmethod
    def min_width_hit(self) -> bool:
        """Whether a box was too narrow to split (its bound was kept as it was)."""

    @property
    @abc.abstractmethod
    def deadline(self) -> float:
        """The ``time.perf_counter()`` time at which the search's time budget ends."""

    @abc.abstractmethod
    def done(self) -> bool:
        """Whether the search finished: nothing left to refine (all bounds settled, or ``eps`` refuted)."""

    @property
    @abc.abstractmethod
    def structure(self) -> dict[str, Any] | None:
        """What the certificate's ``details["structure"]`` records about the method (None: the caller's note)."""

    cover: CoverLog | None = None
    """The search's final cover (:class:`~theory.certify._cover.CoverLog`); None: the search records none."""

    frame: dict[str, Any] | None = None
    """What the cover's roots are, for the proof object (:mod:`theory.certify._cover`): ``{"kind": "box",
    "root": [[lo, hi] as float.hex() per variable]}`` or the Kuhn grid with its exact vertex values."""

    def timed_out(self) -> bool:
        """Whether the budget is spent and the search is not finished (read at the time of the call)."""
        return bool(time.perf_counter() >= self.deadline and not self.done())

    budget: Budget | None = None
    """The search's :class:`Budget` (None: a search that counts no work; the members below then say 0, None)."""

    @property
    def work(self) -> int:
        """Units of work done (module docstring): the same on every machine for the same call."""
        return 0 if self.budget is None else self.budget.work

    @property
    def max_work(self) -> int | None:
        """The work budget (None: none)."""
        return None if self.budget is None else self.budget.max_work

    @property
    def stopped_by(self) -> str | None:
        """``"work"`` or ``"time"``: the budget that stopped the unfinished search; None: it finished."""
        if self.budget is None:
            return "time" if self.timed_out() else None
        return None if self.done() else self.budget.stopped_by


def witness_fractions(witness: Any, names: list[str]) -> dict[str, Fraction] | None:
    """The witness as exact rationals per name (exact points stay exact; floats are read at their binary value)."""
    if witness is None:
        return None
    return {
        n: v if isinstance(v, Fraction) else Fraction(float(v))
        for n, v in zip(names, np.asarray(witness, dtype=object))
    }
