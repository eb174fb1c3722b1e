"""The claim model: the :class:`Claim` record, which runs its check, and how a result stands to recorded findings.

A claim is a statement of a paper (or of our reconstruction of its construction) with an executable check.
Running a claim never raises for a failing or crashing check: an exception becomes status ``"unknown"``
with the exception in the evidence, never ``"pass"`` (docs/soundness.md). The :class:`Context` a check runs in
and the :class:`Result` it returns are in ``_result.py``; the ``@claim`` decorator in ``_declare.py``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
import traceback
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

from .._errors import bad
from ._result import PROFILES, Context, Result

KINDS = ("exact", "formal", "numerical", "empirical-rate", "not-testable")
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)+$")
"""Claim ids: dotted lower-case prefix then segments, e.g. ``ww.select.exact``, ``duat.E1``."""


@dataclass(frozen=True)
class Claim:
    """A claim and its executable check.

    Attributes:
        id: dotted id, e.g. ``'ww.select.exact'`` (the project's ids: docs/catalogue.md).
        statement: the claim in one or two sentences, with its formula.
        source: where it comes from, e.g. ``'Wang & Wu 2023, universality (reconstruction)'``.
        kind: ``'exact'``, ``'formal'``, ``'numerical'``, ``'empirical-rate'`` or ``'not-testable'``.
        cost: estimated seconds per profile, ``{'quick': s, 'full': s}``.
        check: ``check(ctx) -> Result``.
        group: claims with the same non-empty group share work (e.g. one training sweep): they run one after
            another in one process and one artifact directory, so the first computes and the others reuse.
        findings: recorded findings, ``{profile: text}``: in that profile the claim is known to fail (a paper's
            claim that our reconstruction does not reproduce), and the text says what was measured and where it is
            documented. The check still runs and still reports ``fail``; the run's exit status does not count
            that fail, but counts a *pass* (the finding no longer reproduces: the docs are out of date), as
            pytest's strict xfail does (:func:`finding_state`).
    Raises:
        ChecksError: on a bad id, empty text, unknown kind, bad cost table, a non-callable check, a bad group or a
            bad findings table.
    """

    id: str
    statement: str
    source: str
    kind: str
    cost: Mapping[str, float]
    check: Callable[[Context], Result] = field(compare=False, repr=False)
    group: str = ""
    findings: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not ID_PATTERN.match(self.id):
            raise bad("id", self.id, "a dotted id such as 'ww.select.exact' (lower-case prefix, [A-Za-z0-9_] segments)")
        for name in ("statement", "source"):
            v = getattr(self, name)
            if not isinstance(v, str) or not v.strip():
                raise bad(name, v, "a non-empty string")
        if self.kind not in KINDS:
            raise bad("kind", self.kind, f"one of {KINDS}")
        if (
            not isinstance(self.cost, Mapping)
            or set(self.cost) != set(PROFILES)
            or any(
                isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0
                for v in self.cost.values()
            )
        ):
            raise bad("cost", self.cost, f"estimated seconds >= 0 for each profile {PROFILES}")
        if not callable(self.check):
            raise bad("check", self.check, "a callable check(ctx) -> Result")
        if not isinstance(self.group, str) or not re.fullmatch(r"[A-Za-z0-9_.-]*", self.group):
            raise bad("group", self.group, "'' or a name of letters, digits, '_', '.', '-'")
        if (
            not isinstance(self.findings, Mapping)
            or not set(self.findings) <= set(PROFILES)
            or any(not isinstance(v, str) or not v.strip() for v in self.findings.values())
        ):
            raise bad(
                "findings",
                self.findings,
                f"a dict from profiles {PROFILES} to a non-empty text saying what "
                "was measured and where it is documented",
            )
        if self.findings and self.kind == "not-testable":
            raise bad("findings", dict(self.findings), "none on a not-testable claim (it cannot fail)")
        object.__setattr__(self, "cost", MappingProxyType({p: float(self.cost[p]) for p in PROFILES}))
        object.__setattr__(self, "findings", MappingProxyType(dict(self.findings)))

    def run(self, ctx: Context) -> Result:
        """Run the check; never raises for a failing or crashing check.

        Returns the check's Result with ``seconds`` measured here. An exception, a non-Result return value,
        or a status inconsistent with the kind (only ``not-testable`` claims may return ``not-testable``, and
        they may return nothing else) gives status ``'unknown'`` with the reason in the evidence.
        """
        ctx = dataclasses.replace(ctx, claim_id=self.id)
        start = time.perf_counter()
        try:
            result = self.check(ctx)
        except Exception as e:  # noqa: BLE001 -- any crash of a check is an 'unknown', reported with its cause
            tb = traceback.format_exc(limit=8)
            return Result(
                "unknown",
                evidence={"exception": type(e).__name__, "message": str(e), "traceback": tb},
                seconds=time.perf_counter() - start,
                note="the check raised; nothing was decided",
            )
        seconds = time.perf_counter() - start
        if not isinstance(result, Result):
            return Result(
                "unknown",
                evidence={"returned": type(result).__name__},
                seconds=seconds,
                note="the check did not return a checks.Result",
            )
        if (result.status == "not-testable") != (self.kind == "not-testable"):
            return Result(
                "unknown",
                observed=result.observed,
                expected=result.expected,
                evidence={"returned_status": result.status, "kind": self.kind},
                seconds=seconds,
                note="status inconsistent with the claim's kind",
            )
        return dataclasses.replace(result, seconds=seconds)


def finding_state(finding: str, status: str) -> str:
    """How a result stands to the claim's recorded finding for the profile (``finding``, '' when none).

    Returns ``''`` (no finding recorded, or the check could not decide), ``'known'`` (it failed, as recorded) or
    ``'stale'`` (it passed: the recorded finding no longer reproduces).
    """
    if not finding or status not in ("pass", "fail"):
        return ""
    return "known" if status == "fail" else "stale"


def counts_as_failure(finding: str, status: str) -> bool:
    """Whether a result makes the run exit 1: ``fail`` or ``unknown``, except a fail its recorded ``finding``
    foresees; and a pass that a recorded finding says should fail (the finding is stale)."""
    state = finding_state(finding, status)
    return state == "stale" or (state == "" and status not in ("pass", "not-testable"))


def status_label(status: str, finding: str) -> str:
    """The status as the tables show it: ``'fail (recorded finding)'``, ``'pass (finding stale)'`` or the status."""
    return {"known": f"{status} (recorded finding)", "stale": f"{status} (finding stale)"}.get(
        finding_state(finding, status), status
    )
