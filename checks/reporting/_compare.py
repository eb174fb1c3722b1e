"""Two reports side by side: which claims changed status or observed value between two runs.

The regression question of a theory code base ("did this commit change any verdict or measured number?"),
asked of two ``report.json`` files (:func:`load_document`). Observed values are compared exactly as stored
(JSON: exact rationals are strings, floats are the values the checks reported), except wall-clock timings: a
key named in ``ignore`` (default :data:`TIMING_KEYS`) is dropped at any depth before comparing.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numerics

from .._errors import bad
from ..claims import RATE_BANDS
from ..claims._json import leaves
from ._report import load_document
from ._text import summarize

TIMING_KEYS = ("seconds",)
"""Keys of observed values that hold wall-clock times (per case), which differ between any two runs."""


@dataclass(frozen=True)
class ReportDiff:
    """What differs between an ``old`` and a ``new`` report, claim by claim.

    Attributes:
        same: ids whose status and observed value are equal in both.
        status: ``{id: (old status, new status)}`` where the status changed.
        observed: ``{id: (old observed, new observed)}`` where the status is equal but the observed value is not.
        only_old, only_new: ids present in one report only.
    """

    same: tuple[str, ...] = ()
    status: dict[str, tuple[str, str]] = field(default_factory=dict)
    observed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    only_old: tuple[str, ...] = ()
    only_new: tuple[str, ...] = ()

    @property
    def identical(self) -> bool:
        """True when every claim is in both reports with the same status and observed value."""
        return not (self.status or self.observed or self.only_old or self.only_new)

    def render(self) -> str:
        """A few human-readable lines: a count of equal claims, then one line per difference."""
        lines = [f"{len(self.same)} claims with equal status and observed value"]
        lines += [f"status   {cid}: {a} -> {b}" for cid, (a, b) in self.status.items()]
        lines += [f"observed {cid}: {summarize(a)} -> {summarize(b)}" for cid, (a, b) in self.observed.items()]
        lines += [f"removed  {cid}" for cid in self.only_old] + [f"added    {cid}" for cid in self.only_new]
        return "\n".join(lines)


def report_json(path: str | os.PathLike) -> Path:
    """``path`` itself, or ``path/report.json`` when ``path`` is a report directory."""
    p = Path(path)
    return p / "report.json" if p.is_dir() else p


def moved(old: Any, new: Any, tolerance: str | None) -> list[tuple[str, Any, Any]]:
    """The observed values that moved by more than the result's tolerance: ``(path, old, new)`` per JSON leaf.

    Numbers compare with the named rule (``numerics.TOLERANCES``: ``|new - old| <= atol + rtol |old|``;
    ``rate:<band>``: within the band's half width; ``'exact'`` or None: any change); other leaves compare with ==;
    a leaf present on one side only counts as moved. Timings (:data:`TIMING_KEYS`) are ignored.
    """
    a = dict(leaves(_without(old, frozenset(TIMING_KEYS))))
    b = dict(leaves(_without(new, frozenset(TIMING_KEYS))))
    out = []
    for path in list(a) + [p for p in b if p not in a]:
        x, y = a.get(path), b.get(path)
        if (
            isinstance(x, (int, float))
            and isinstance(y, (int, float))
            and not isinstance(x, bool)
            and not isinstance(y, bool)
        ):
            if _within(float(x), float(y), tolerance):
                continue
        elif path in a and path in b and x == y:
            continue
        out.append((path, x, y))
    return out


def _within(x: float, y: float, tolerance: str | None) -> bool:
    if x == y:
        return True
    if not (math.isfinite(x) and math.isfinite(y)) or tolerance in (None, "exact"):
        return False
    if tolerance.startswith("rate:"):
        return abs(y - x) <= RATE_BANDS[tolerance[5:]].half_width
    t = numerics.TOLERANCES[tolerance]
    return abs(y - x) <= t.atol + t.rtol * abs(x)


def _without(value: Any, ignore: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, ignore) for k, v in value.items() if k not in ignore}
    if isinstance(value, list):
        return [_without(v, ignore) for v in value]
    return value


def compare_reports(
    old: str | os.PathLike, new: str | os.PathLike, *, ignore: Iterable[str] = TIMING_KEYS
) -> ReportDiff:
    """Compare two ``report.json`` files by claim id (their order does not matter; the diff lists claims in the
    new report's order).

    Args:
        old, new: paths of the two reports (report.json files or report directories).
        ignore: keys dropped from observed values at any depth before comparing (default: timings).

    Raises:
        ChecksError: when either file is not a readable report (see :func:`load_document`), or ``ignore`` is not
            a collection of key names.
    """
    try:
        skip = None if isinstance(ignore, str) else frozenset(ignore)
    except TypeError:  # not iterable
        skip = None
    if skip is None or not all(isinstance(k, str) for k in skip):
        raise bad("ignore", ignore, "a collection of key names, e.g. ('seconds',)")
    runs_old = {info["id"]: result for info, result in load_document(report_json(old))[1]}
    runs_new = {info["id"]: result for info, result in load_document(report_json(new))[1]}
    same, status, observed = [], {}, {}
    for cid, b in runs_new.items():
        a = runs_old.get(cid)
        if a is None:
            continue
        if a.status != b.status:
            status[cid] = (a.status, b.status)
        elif _without(a.observed, skip) != _without(b.observed, skip):
            observed[cid] = (a.observed, b.observed)
        else:
            same.append(cid)
    return ReportDiff(
        same=tuple(same),
        status=status,
        observed=observed,
        only_old=tuple(cid for cid in runs_old if cid not in runs_new),
        only_new=tuple(cid for cid in runs_new if cid not in runs_old),
    )
