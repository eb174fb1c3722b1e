"""Declaring claims: the ``@claim`` decorator on a check function, and :func:`not_testable` checks.

The decorator turns a check function into the :class:`Claim` record (``_claim.py``) that the catalogue tables
hold too; :func:`not_testable` is the check of a statement no computation can confirm or refute.
"""

from __future__ import annotations

from typing import Callable, Mapping

from .._errors import bad
from ._claim import Claim
from ._result import Context, Result


def not_testable(reason: str) -> Callable[[Context], Result]:
    """A check that reports status ``not-testable`` with ``reason`` (why no computation can confirm or refute it).

    Raises:
        ChecksError: unless ``reason`` is a non-empty string.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise bad("reason", reason, "a non-empty string saying why the claim cannot be tested")

    def check(ctx: Context) -> Result:
        return Result("not-testable", note=reason)

    check.__doc__ = f"Not testable: {reason}"
    return check


def claim(
    id: str,
    *,
    statement: str,
    source: str,
    kind: str,
    cost: Mapping[str, float],
    group: str = "",
    findings: Mapping[str, str] | None = None,
) -> Callable[[Callable[[Context], Result]], Claim]:
    """Declare a claim on its check function: ``@checks.claim(id=..., statement=..., ...)`` over ``def f(ctx)``.

    The decorated name becomes the :class:`Claim` record (the same record the papers' catalogue tables hold), so a
    module's claims are the :class:`Claim` objects at its top level (:func:`checks.claims_in`); ``python -m checks
    --claims MODULE`` and the pytest plugin find them there. Arguments as :class:`Claim`.

    Example::

        @checks.claim(id="mylab.lemma3", statement="select(64, [3, 60]) routes exactly.",
                      source="our lab notes, lemma 3", kind="formal", cost={"quick": 2, "full": 2})
        def lemma3(ctx):
            return checks.expect_routing(theory.select(64, [3, 60], 2))

    Raises:
        ChecksError: as :class:`Claim` (bad id, empty text, unknown kind, bad cost table, non-callable check, bad
            group or findings).
    """

    def wrap(check: Callable[[Context], Result]) -> Claim:
        return Claim(id, statement, source, kind, cost, check, group, dict(findings or {}))

    return wrap
