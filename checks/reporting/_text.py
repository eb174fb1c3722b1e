"""Short text of a report: the one-line summary, the fixed-width table of claims, the certificates a result kept."""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from ..claims import Result, status_label


def summary_text(doc: Mapping[str, Any]) -> str:
    """One line: the status counts, then the recorded findings that reproduced or went stale."""
    text = ", ".join(f"{n} {s}" for s, n in doc["summary"].items() if n)
    findings = doc.get("findings", {})  # absent in reports written before recorded findings existed
    if findings.get("known"):
        text += f"; {len(findings['known'])} fail as recorded (known findings, not counted in the exit status)"
    if findings.get("stale"):
        text += f"; {len(findings['stale'])} recorded finding(s) no longer reproduce ({', '.join(findings['stale'])})"
    return text


def summarize(value: Any, width: int = 64) -> str:
    """One short line for a JSON value (the table's "observed" column)."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k != "violations")  # the violation count first, then in order
        text = ", ".join(f"{k}={_short(value[k])}" for k in keys)
    else:
        text = _short(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _short(v: Any) -> str:
    if isinstance(v, (dict, list)):
        s = json.dumps(v, separators=(",", ":"))
        return s if len(s) <= 24 else s[:21] + "..."
    return str(v)


def table(runs: Sequence[tuple[Any, Result]]) -> str:
    """Fixed-width text table: id, status, observed summary, seconds."""
    rows = [
        (
            getattr(c, "id", None) or c["id"],
            status_label(r.status, _finding(c)),
            " ".join(summarize(r.observed).replace("`", "'").splitlines()),  # one line, never closing a fence
            f"{r.seconds:.2f}",
        )
        for c, r in runs
    ]
    head = ("claim", "status", "observed", "seconds")
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _finding(entry: Any) -> str:
    """The recorded finding of a report entry (a dict; '' for anything else, which has no profile chosen)."""
    return entry.get("finding", "") if isinstance(entry, Mapping) else ""


def certificates_of(r: Result) -> list[dict[str, str]]:
    """The certificates a result kept (evidence ``certificates`` with a file): file, spec, the checker's verdict
    and the re-check command, as strings (report.md and report.html list them)."""
    kept = r.evidence.get("certificates")
    if not isinstance(kept, list):
        return []
    return [
        {k: str(c.get(k, "")) for k in ("certificate", "spec", "check", "recheck")}
        for c in kept
        if isinstance(c, dict) and c.get("certificate")
    ]
