"""The claim model's data: the :class:`Result` a check returns and the :class:`Context` a check runs in.

A Result validates itself on creation (a known status, a tolerance naming a comparison rule, plain-JSON data, a
finite time); a Context derives every random stream of a check from (seed, claim id, name). The :class:`Claim`
record that runs a check is in ``_claim.py`` (docs/soundness.md).
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

import numerics

from .._errors import bad
from ._json import normalise
from ._rates import RATE_BANDS

STATUSES = ("pass", "fail", "unknown", "not-testable")
PROFILES = ("quick", "full")


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
