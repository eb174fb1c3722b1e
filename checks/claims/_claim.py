"""The claim model: a :class:`Claim` record, the :class:`Context` a check runs in, the :class:`Result` it returns.

A claim is a statement of a paper (or of our reconstruction of its construction) with an executable check.
Running a claim never raises for a failing or crashing check: an exception becomes status ``"unknown"``
with the exception in the evidence, never ``"pass"`` (docs/soundness.md).
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
import time
import traceback
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np

import numerics

from .._errors import bad
from ._json import normalise
from ._rates import RATE_BANDS

STATUSES = ("pass", "fail", "unknown", "not-testable")
KINDS = ("exact", "formal", "numerical", "empirical-rate", "not-testable")
PROFILES = ("quick", "full")
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)+$")
"""Claim ids: dotted lower-case prefix then segments, e.g. ``ww.select.exact``, ``duat.E1``."""


def valid_tolerance(tolerance: Any) -> bool:
    """Whether ``tolerance`` names a comparison rule: None, ``'exact'``, a ``numerics.TOLERANCES`` key or
    ``'rate:<key>'`` of :data:`checks.RATE_BANDS` (log-log slope bands, declared with their reason)."""
    if tolerance is None or tolerance == "exact":
        return True
    if not isinstance(tolerance, str):
        return False
    if tolerance.startswith("rate:"):
        return tolerance[5:] in RATE_BANDS
    return tolerance in numerics.TOLERANCES


@dataclass(frozen=True)
class Result:
    """The outcome of one claim check.

    Attributes:
        status: ``'pass'``, ``'fail'``, ``'unknown'`` (the check could not decide, e.g. it raised) or
            ``'not-testable'``.
        observed: what was measured (JSON-able; normalised to plain JSON on creation).
        expected: what the claim says (JSON-able).
        tolerance: ``'exact'``, a :data:`numerics.TOLERANCES` key, ``'rate:<band>'`` or None.
        evidence: JSON-able dict: counterexamples, plot file names (relative to the report directory), ...
        seconds: wall time of the check (filled in by :meth:`Claim.run`).
        note: free text (what was reduced in the quick profile, caveats).
    Raises:
        ChecksError: on an unknown status or tolerance, non-JSON-able data, or a negative/non-finite time.
    """

    status: str
    observed: Any = None
    expected: Any = None
    tolerance: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    note: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise bad("status", self.status, f"one of {STATUSES}")
        if not valid_tolerance(self.tolerance):
            raise bad(
                "tolerance",
                self.tolerance,
                f"None, 'exact', one of numerics.TOLERANCES {sorted(numerics.TOLERANCES)} or "
                f"'rate:<band>' with band in {sorted(RATE_BANDS)}",
            )
        if not isinstance(self.evidence, Mapping):
            raise bad("evidence", self.evidence, "a dict (JSON-able)")
        if (
            isinstance(self.seconds, bool)
            or not isinstance(self.seconds, (int, float))
            or not math.isfinite(self.seconds)
            or self.seconds < 0
        ):
            raise bad("seconds", self.seconds, "a finite number >= 0")
        if not isinstance(self.note, str):
            raise bad("note", self.note, "a string")
        for name in ("observed", "expected", "evidence"):
            object.__setattr__(self, name, normalise(getattr(self, name), name))
        object.__setattr__(self, "seconds", float(self.seconds))

    def to_json(self) -> dict[str, Any]:
        """Plain JSON dict of every field."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, obj: Any) -> "Result":
        """Rebuild from :meth:`to_json` output. Raises ChecksError on missing or unknown fields."""
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(obj, Mapping) or set(obj) != names:
            raise bad("obj", obj if not isinstance(obj, Mapping) else sorted(obj), f"a dict with keys {sorted(names)}")
        return cls(**obj)


ProgressFn = Callable[[str], None]


def quiet_progress(message: str) -> None:
    """The default progress callback: discard."""


@dataclass(frozen=True)
class Context:
    """Where and how a check runs.

    Attributes:
        profile: ``'quick'`` (small sizes) or ``'full'`` (the real reproduction).
        seed: non-negative int; every random draw of a check derives from it (:meth:`rng`, :meth:`np_rng`).
        out_dir: directory for artifacts (plots); a check writes only under it.
        progress: callback taking one line of text (progress messages).
        claim_id: the claim being run (set by :meth:`Claim.run`), used to name artifacts and seed streams.
    Raises:
        ChecksError: bad profile, seed, out_dir or progress.
    """

    profile: str = "quick"
    seed: int = 0
    out_dir: Path = Path(".")
    progress: ProgressFn = quiet_progress
    claim_id: str = ""

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise bad("profile", self.profile, f"one of {PROFILES}")
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool) or self.seed < 0:
            raise bad("seed", self.seed, "an int >= 0")
        if not isinstance(self.out_dir, (str, Path)):
            raise bad("out_dir", self.out_dir, "a path")
        if not callable(self.progress):
            raise bad("progress", self.progress, "a callable taking one str")
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "out_dir", Path(self.out_dir))

    @property
    def full(self) -> bool:
        """Whether this is the full profile."""
        return self.profile == "full"

    def _stream(self, name: str) -> str:
        return f"{self.seed}/{self.claim_id}/{name}"

    def rng(self, name: str = "") -> random.Random:
        """A ``random.Random`` for stream ``name``, determined by (seed, claim id, name) only."""
        return random.Random(self._stream(name))

    def np_rng(self, name: str = "") -> np.random.Generator:
        """A numpy Generator for stream ``name``, determined by (seed, claim id, name) only."""
        return np.random.default_rng([self.seed, zlib.crc32(self._stream(name).encode())])

    def artifact(self, name: str) -> Path:
        """Path for an artifact file ``<claim id>.<name>`` under :attr:`out_dir` (the directory is created)."""
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise bad("name", name, "letters, digits, '_', '.', '-'")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return self.out_dir / f"{self.claim_id or 'claim'}.{name}"

    def say(self, message: str) -> None:
        """Report progress (one line)."""
        self.progress(f"{self.claim_id}: {message}" if self.claim_id else message)


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
