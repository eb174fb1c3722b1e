"""report.md: the Markdown rendering of a report, every piece of claim text escaped so it shows as typed."""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

import numerics

from ..claims import RATE_BANDS, Result, status_label
from ._text import _finding, certificates_of, summary_text, table

MD_FIELD_LIMIT = 1500
"""Characters of one field shown in report.md (report.json always has everything)."""


def _tolerance_text(tol: str | None) -> str:
    if tol is None:
        return "none"
    if tol == "exact":
        return "exact (rationals, integers and index sets compared with ==)"
    if tol.startswith("rate:"):
        band = RATE_BANDS[tol[5:]]
        return f"`{tol}`: slope within +-{band.half_width} ({band.reason})"
    t = numerics.TOLERANCES[tol]
    return f"`{tol}`: atol={t.atol}, rtol={t.rtol} ({t.reason})"


_MD_ACTIVE = re.compile(r"([\\`\[\]])|<(?=[A-Za-z/!?])|&(?=[A-Za-z#])")


def md(text: Any) -> str:
    """Text from a claim or a result, inert in Markdown: backslashes, backticks and brackets (code spans, links,
    images) are escaped, and so are ``<`` and ``&`` where they could open an HTML tag, comment or entity
    (``<script>``, ``&lt;``), so what was typed shows as typed; ``<= 0.1`` stays as it is. One line."""
    return _MD_ACTIVE.sub(lambda m: "\\" + m.group(0), " ".join(str(text).splitlines()))


def _fields(value: Any) -> list[str]:
    """A JSON value as Markdown bullets: one ``key: compact JSON`` line per top-level field (truncated)."""
    items = value.items() if isinstance(value, dict) else [("value", value)]
    out = []
    for key, v in items:
        text = json.dumps(v, separators=(", ", ": "))
        if len(text) > MD_FIELD_LIMIT:
            text = text[:MD_FIELD_LIMIT] + " ... (truncated; see report.json)"
        out.append(f"  - {md(key)}: {md(text)}")
    return out


def render_markdown(doc: Mapping[str, Any]) -> str:
    """``report.md``: header (profile, seed, date, git, versions), the table, per-claim details and plots."""
    runs = [(e, Result.from_json(e["result"])) for e in doc["claims"]]
    git = doc.get("git", {})
    commit = git.get("commit") or "unavailable"
    if git.get("dirty"):
        commit += " (with uncommitted changes)"
    versions = ", ".join(f"{k} {v}" for k, v in doc.get("versions", {}).items())
    summary = summary_text(doc)
    lines = [
        f"# cnnverify claim checks ({doc['profile']} profile)",
        "",
        f"- profile: {doc['profile']}",
        f"- seed: {doc['seed']}",
        f"- date (UTC): {doc['started_utc']} to {doc['finished_utc']}",
        f"- git commit: {commit}",
        f"- versions: {versions}",
        f"- platform: {doc.get('platform', '?')}",
        f"- summary: {summary} (exit code {doc['exit_code']}); {doc['seconds']} s in checks",
        "",
        "```",
        table(runs),
        "```",
        "",
    ]
    for entry, r in runs:
        lines += [
            f"## {md(entry['id'])}: {status_label(r.status, _finding(entry))}",
            "",
            f"**Statement.** {md(entry['statement'])}",
            "",
            f"- source: {md(entry['source'])}",
            f"- kind: {md(entry['kind'])}",
            f"- tolerance: {_tolerance_text(r.tolerance)}",
            f"- seconds: {r.seconds:.3f}",
        ]
        if entry.get("cached"):
            lines.append("- cached: reused from an earlier run with the same code, profile, seed and libraries")
            if entry.get("cache_rehashed"):
                lines.append(
                    f"- files it read, re-hashed before reuse (unchanged): {', '.join(entry['cache_rehashed'])}"
                )
        if _finding(entry):
            lines.append(f"- recorded finding: {md(_finding(entry))}")
        if r.note:
            lines.append(f"- note: {md(r.note)}")
        lines += ["- observed:", *_fields(r.observed), "- expected:", *_fields(r.expected)]
        for c in certificates_of(r):
            lines.append(
                f"- certificate [{c['certificate']}]({c['certificate']}) (spec {c['spec']}): independent checker "
                f"{c['check']}; re-check it: `{c['recheck']}`"
            )
        if entry.get("cache_rechecked"):
            lines.append(f"- certificates re-checked before reuse: {', '.join(entry['cache_rechecked'])}")
        evidence = {k: v for k, v in r.evidence.items() if k != "plots"}
        if evidence:
            lines += ["- evidence:", *_fields(evidence)]
        lines.append("")
        for name in r.evidence.get("plots", []):
            lines += [f"![{entry['id']}: {name}]({name})", ""]
    return "\n".join(lines)
