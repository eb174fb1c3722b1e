"""The threshold search over training-set sizes: geometric steps, then bisection, as a resumable state machine.

Source: a binary search over n, after the protocol of Lahoti et al. (ICLR 2024), with a geometric phase and a
relative resolution added (reconstruction, docs/separation.md, "How n* is searched": a doubling grid alone
knows n* only to a factor 2).
"""

from __future__ import annotations

import math

from .._errors import NumericsError, bad


class ThresholdSearch:
    """Find the smallest n whose evaluation passes, for an outcome monotone in n (fail below, pass above).

    Phases: geometric (``n_min, 2 n_min, 4 n_min, ...``, the last step clipped to ``n_max``) until the first
    pass, then bisection between the last failing ``lo`` and the first passing ``hi``. With ``resolution == 0``
    the bisection is on the integers (``mid = (lo + hi) // 2``) and stops when ``hi - lo == 1``, so ``hi`` is
    the exact threshold; with ``resolution > 0`` it bisects in log space (``mid = round(sqrt(lo hi))``) and stops
    when ``hi / lo <= 1 + resolution`` (or ``hi - lo == 1``), so the threshold ``t`` satisfies
    ``lo < t <= hi < (1 + resolution) t``. The sweep passes ``resolution = stop_ratio - 1`` (SweepConfig; 1.0:
    stop on the geometric phase's ratio-2 bracket) and then fits n* on all evaluations (numerics.learning._nstar).

    The search is driven from outside: :meth:`next_n` says which n to evaluate (``None`` when finished), and
    :meth:`record` feeds the outcome of exactly that n back. Replaying recorded outcomes in order
    reproduces the same sequence, which is how a resumed sweep skips points already evaluated.

    Args:
        n_min: the first n tried (>= 1).
        n_max: the largest n tried (>= n_min).
        resolution: relative stopping width (>= 0; 0 means exact integer bisection).

    Raises:
        NumericsError: on bad arguments, or when :meth:`record` gets an n other than :meth:`next_n`.
    """

    def __init__(self, n_min: int, n_max: int, resolution: float = 0.0):
        if isinstance(n_min, bool) or not isinstance(n_min, int) or n_min < 1:
            raise bad("n_min", n_min, "an int >= 1")
        if isinstance(n_max, bool) or not isinstance(n_max, int) or n_max < n_min:
            raise bad("n_max", n_max, f"an int >= n_min = {n_min}")
        if (
            isinstance(resolution, bool)
            or not isinstance(resolution, (int, float))
            or not (math.isfinite(resolution) and resolution >= 0)
        ):
            raise bad("resolution", resolution, "a finite float >= 0 (0: exact integer bisection)")
        self.n_min, self.n_max, self.resolution = n_min, n_max, float(resolution)
        self.history: list[tuple[int, bool]] = []
        self._lo: int | None = None  # largest failing n so far
        self._hi: int | None = None  # smallest passing n so far
        self._next: int | None = n_min

    def next_n(self) -> int | None:
        """The next n to evaluate, or ``None`` when the search has finished."""
        return self._next

    @property
    def done(self) -> bool:
        """Whether the search has finished."""
        return self._next is None

    def record(self, n: int, passed: bool) -> None:
        """Feed back the outcome at ``n``, which must be the current :meth:`next_n`."""
        if self._next is None:
            raise NumericsError(f"record({n}, {passed}): the search has already finished")
        if n != self._next:
            raise bad("n", n, f"the n the search asked for, {self._next}")
        self.history.append((n, bool(passed)))
        if passed:
            self._hi = n
        else:
            self._lo = n
        self._next = self._advance()

    def _advance(self) -> int | None:
        lo, hi = self._lo, self._hi
        if hi is None:  # geometric phase: every n so far failed
            assert lo is not None  # _advance runs after record(); with no pass yet, that n failed and set _lo
            return None if lo >= self.n_max else min(2 * lo, self.n_max)
        if lo is None or hi - lo <= 1:  # first n passed (censored below), or bracket closed
            return None
        if self.resolution == 0:
            return (lo + hi) // 2
        if hi / lo <= 1 + self.resolution:
            return None
        return min(max(round(math.sqrt(lo * hi)), lo + 1), hi - 1)

    def _bisections(self, lo: int, hi: int, memo: dict | None = None) -> int:
        """Evaluations a bisection of the bracket ``(lo, hi)`` takes at most: the worse of both halves at every
        step (the larger half is not always the longer one to bisect, the midpoints being rounded)."""
        if hi - lo <= 1 or (self.resolution > 0 and hi / lo <= 1 + self.resolution):
            return 0
        memo = {} if memo is None else memo
        if (lo, hi) not in memo:
            mid = (lo + hi) // 2 if self.resolution == 0 else min(max(round(math.sqrt(lo * hi)), lo + 1), hi - 1)
            memo[lo, hi] = 1 + max(self._bisections(lo, mid, memo), self._bisections(mid, hi, memo))
        return memo[lo, hi]

    def remaining_bound(self) -> int:
        """An upper bound on the evaluations still to come, the current :meth:`next_n` included (0 when done).

        Worst case over the outcomes: in the geometric phase every n may fail up to ``n_max`` or pass at any step
        and then need its bisection; in the bisection phase the larger half is kept each time. Used for the
        sweep's progress total and ETA.
        """
        if self._next is None:
            return 0
        if self._hi is not None:  # bisecting (lo, hi); the pending mid is one of the steps counted
            assert self._lo is not None  # a pass with no failure below ends the search (_next is None)
            return self._bisections(self._lo, self._hi)
        worst, lo, n, steps = 0, self._lo, self._next, 0
        while True:
            steps += 1
            if lo is not None:  # n passes here: bisect (lo, n)
                worst = max(worst, steps + self._bisections(lo, n))
            else:
                worst = max(worst, steps)
            if n >= self.n_max:
                return worst
            lo, n = n, min(2 * n, self.n_max)

    @property
    def result(self) -> int | None:
        """The smallest passing n evaluated (``None`` while none passed: censored above when done)."""
        return self._hi

    @property
    def censored(self) -> str | None:
        """``'above'`` (finished without a pass up to n_max), ``'below'`` (n_min passed) or ``None``."""
        if not self.done:
            return None
        if self._hi is None:
            return "above"
        return "below" if self._lo is None else None
