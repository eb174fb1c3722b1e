"""The claim registry: an ordered, duplicate-free collection of claims, selectable by fnmatch pattern."""

from __future__ import annotations

import fnmatch
from typing import Iterator, Sequence

from .._errors import ChecksError, bad
from ._claim import ID_PATTERN, Claim


class Registry:
    """Claims by id, in registration order.

    Build an isolated one for tests (``Registry()``); :data:`checks.REGISTRY` holds every claim of the
    project (built by :func:`checks.default_registry`).
    """

    def __init__(self, claims: Sequence[Claim] = (), origin: str = "") -> None:
        self._claims: dict[str, Claim] = {}
        self._origins: dict[str, str] = {}
        for claim in claims:
            self.register(claim, origin)

    def register(self, claim: Claim, origin: str = "") -> Claim:
        """Add ``claim``, found in ``origin`` (a module name or file path, shown by ``--list``); returns it.

        Raises:
            ChecksError: when ``claim`` is not a :class:`Claim`, its id is invalid, or its id is already registered
                (the message names both origins).
        """
        if not isinstance(claim, Claim):
            raise bad("claim", type(claim).__name__, "a checks.Claim")
        if not ID_PATTERN.match(claim.id):  # Claim validates on creation; this guards hand-mutated records
            raise bad("claim.id", claim.id, "a dotted id such as 'ww.select.exact'")
        if claim.id in self._claims:
            raise ChecksError(
                f"duplicate claim id {claim.id!r}: defined in {self._origins[claim.id] or '<unnamed>'} "
                f"and again in {origin or '<unnamed>'}; claim ids must be unique"
            )
        self._claims[claim.id] = claim
        self._origins[claim.id] = origin
        return claim

    def origin(self, id: str) -> str:
        """Where the claim ``id`` was found (module name or file path; ``''`` when registered without one)."""
        return self._origins[self[id].id]

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
