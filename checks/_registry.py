"""The claim registry: an ordered, duplicate-free collection of claims, selectable by fnmatch pattern."""

from __future__ import annotations

import fnmatch
from typing import Callable, Iterator, Sequence

from ._claim import ID_PATTERN, Claim, Context, Result
from ._errors import ChecksError, bad


class Registry:
    """Claims by id, in registration order.

    Build an isolated one for tests (``Registry()``); :data:`checks.REGISTRY` holds every claim of the
    project (built by :func:`checks.default_registry`).
    """

    def __init__(self, claims: Sequence[Claim] = ()) -> None:
        self._claims: dict[str, Claim] = {}
        for claim in claims:
            self.register(claim)

    def register(self, claim: Claim) -> Claim:
        """Add ``claim``; returns it.

        Raises:
            ChecksError: when ``claim`` is not a :class:`Claim`, its id is invalid, or it is already registered.
        """
        if not isinstance(claim, Claim):
            raise bad("claim", type(claim).__name__, "a checks.Claim")
        if not ID_PATTERN.match(claim.id):  # Claim validates on creation; this guards hand-mutated records
            raise bad("claim.id", claim.id, "a dotted id such as 'ww.select.exact'")
        if claim.id in self._claims:
            raise bad("claim.id", claim.id, f"an id not yet registered (it is: {self._claims[claim.id].statement[:60]!r})")
        self._claims[claim.id] = claim
        return claim

    def claim(self, id: str, statement: str, source: str, kind: str, cost: dict[str, float]
              ) -> Callable[[Callable[[Context], Result]], Callable[[Context], Result]]:
        """Decorator form of :meth:`register`: ``@registry.claim('a.b', ...)`` on a ``check(ctx)`` function."""
        def wrap(check: Callable[[Context], Result]) -> Callable[[Context], Result]:
            self.register(Claim(id, statement, source, kind, cost, check))
            return check
        return wrap

    def __len__(self) -> int:
        return len(self._claims)

    def __iter__(self) -> Iterator[Claim]:
        return iter(list(self._claims.values()))

    def __contains__(self, id: object) -> bool:
        return id in self._claims

    def __getitem__(self, id: str) -> Claim:
        try:
            return self._claims[id]
        except KeyError:
            raise bad("id", id, f"a registered claim id: {self.ids()}") from None

    def ids(self) -> list[str]:
        """All ids, in registration order."""
        return list(self._claims)

    def select(self, pattern: str | None = None) -> list[Claim]:
        """Claims whose id matches the fnmatch ``pattern`` (e.g. ``'ww.select.*'``); all when None.

        Matching is case-sensitive. Returns an empty list when nothing matches (the CLI turns that into a
        usage error).

        Raises:
            ChecksError: when ``pattern`` is not a non-empty string.
        """
        if pattern is None:
            return list(self._claims.values())
        if not isinstance(pattern, str) or not pattern:
            raise bad("pattern", pattern, "a non-empty fnmatch pattern such as 'ww.select.*'")
        return [c for c in self._claims.values() if fnmatch.fnmatchcase(c.id, pattern)]

    def run(self, ctx: Context, pattern: str | None = None) -> list[tuple[Claim, Result]]:
        """Run the selected claims in order (see :meth:`Claim.run`: never raises for a crashing check)."""
        claims = self.select(pattern)
        if not claims:
            raise ChecksError(f"argument 'pattern': got {pattern!r}; allowed: a pattern matching one of {self.ids()}")
        return [(c, c.run(ctx)) for c in claims]
