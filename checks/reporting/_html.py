"""``report.html``: one self-contained page per run (styles, script and plots inline; nothing is fetched).

A summary table coloured by status and sortable by any column (click a header; the page marks
``<body data-sortable="ready">`` and, once loaded, ``data-images="decoded/total"`` for its plots), then each claim with its
statement, source, origin, observed vs expected, tolerance, evidence and plots, and, when a baseline report is
given (``--compare REPORT``), what changed status and what moved by more than its tolerance. Every text from a
report is HTML-escaped; plots are embedded as base64 PNG data.
"""

from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path
from typing import Any, Mapping

from ..claims import Result, status_label
from ._compare import moved
from ._text import certificates_of, summarize, summary_text

_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "unknown": "#9a6700", "not-testable": "#57606a"}

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:80em;color:#1f2328}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;
vertical-align:top}th{background:#f6f8fa;cursor:pointer;user-select:none}th:after{content:" \\2195";color:#8c959f}
.status{color:#fff;font-weight:600;border-radius:4px;padding:1px 6px}pre{background:#f6f8fa;padding:8px;
overflow-x:auto;white-space:pre-wrap}img{max-width:100%;border:1px solid #d0d7de}.claim{margin-top:2em}
.changed{background:#fff8c5}
"""

_SCRIPT = """
document.querySelectorAll('table.sortable th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0], rows = Array.from(body.rows);
    var dir = th.dataset.dir === 'asc' ? -1 : 1; th.dataset.dir = dir === 1 ? 'asc' : 'desc';
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.key || a.cells[col].textContent, y = b.cells[col].dataset.key || b.cells[col].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      return dir * (isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
document.body.dataset.sortable = 'ready';
window.addEventListener('load', function () {
  var images = Array.from(document.images), shown = images.filter(function (i) { return i.naturalWidth > 0; });
  images.forEach(function (i) { if (i.naturalWidth === 0) { i.alt = 'this plot could not be decoded: ' + i.alt; } });
  document.body.dataset.images = shown.length + '/' + images.length;
});
"""


def _badge(status: str, finding: str = "") -> str:
    """The status badge; a fail that a recorded finding foresees, or a pass that makes it stale, says so."""
    label = status_label(status, finding)
    title = f' title="recorded finding: {escape(finding)}"' if finding else ""
    return f'<span class="status" style="background:{_COLOURS.get(status, "#57606a")}"{title}>{escape(label)}</span>'


def _json_block(value: Any) -> str:
    return f"<pre>{escape(json.dumps(value, indent=1))}</pre>"


def _image(directory: Path, name: str, claim_id: str) -> str:
    path = directory / name
    if not path.is_file() or path.suffix.lower() != ".png":
        return f"<p>plot {escape(name)} is missing</p>"
    data = base64.b64encode(path.read_bytes()).decode()
    return (
        f'<figure><img alt="{escape(claim_id)}: {escape(name)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(name)}</figcaption></figure>"
    )


def _changes(doc: Mapping[str, Any], baseline: Mapping[str, Any] | None) -> dict[str, str]:
    """Per claim id, a short description of what changed since ``baseline`` ('' when nothing)."""
    if baseline is None:
        return {}
    old = {e["id"]: e["result"] for e in baseline.get("claims", [])}
    out = {}
    for e in doc["claims"]:
        r, before = e["result"], old.get(e["id"])
        if before is None:
            out[e["id"]] = "new claim"
        elif before["status"] != r["status"]:
            out[e["id"]] = f"status {before['status']} -> {r['status']}"
        else:
            shifts = moved(before["observed"], r["observed"], r["tolerance"])
            out[e["id"]] = "; ".join(f"{p}: {summarize(a, 24)} -> {summarize(b, 24)}" for p, a, b in shifts[:4]) + (
                f" (+{len(shifts) - 4} more)" if len(shifts) > 4 else ""
            )
    return out


def render_html(doc: Mapping[str, Any], directory: Path, baseline: Mapping[str, Any] | None = None) -> str:
    """The report page of ``doc`` (a report.json document) with the plots found in ``directory``."""
    changes = _changes(doc, baseline)
    summary = summary_text(doc)
    git = doc.get("git", {})
    head = [
        f"<h1>cnnverify claim checks ({escape(doc['profile'])} profile)</h1>",
        f"<p>{escape(summary)} (exit code {doc['exit_code']}); seed {doc['seed']}; "
        f"{escape(doc['started_utc'])} to {escape(doc['finished_utc'])}; git {escape(str(git.get('commit')))}"
        f"{' (uncommitted changes)' if git.get('dirty') else ''}</p>",
        "<p>versions: " + escape(", ".join(f"{k} {v}" for k, v in doc.get("versions", {}).items())) + "</p>",
    ]
    if baseline is not None:
        n = sum(1 for v in changes.values() if v)
        head.append(
            f"<p>compared with the run of {escape(str(baseline.get('started_utc')))}: {n} claim(s) changed "
            "status or moved by more than their tolerance (highlighted)</p>"
        )
    cols = ["claim", "status", "kind", "observed", "seconds", "cached"] + (["change"] if baseline is not None else [])
    rows = []
    for e in doc["claims"]:
        r = Result.from_json(e["result"])
        cells = [
            f'<td><a href="#{escape(e["id"])}">{escape(e["id"])}</a></td>',
            f'<td data-key="{escape(r.status)}">{_badge(r.status, e.get("finding", ""))}</td>',
            f"<td>{escape(e['kind'])}</td>",
            f"<td>{escape(summarize(r.observed))}</td>",
            f'<td data-key="{r.seconds}">{r.seconds:.2f}</td>',
            f"<td>{'yes' if e.get('cached') else ''}</td>",
        ]
        if baseline is not None:
            cells.append(f"<td>{escape(changes.get(e['id'], ''))}</td>")
        cls = ' class="changed"' if changes.get(e["id"]) else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    table = (
        f'<table class="sortable" id="summary"><thead><tr>{"".join(f"<th>{c}</th>" for c in cols)}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    sections = []
    for e in doc["claims"]:
        r = Result.from_json(e["result"])
        evidence = {k: v for k, v in r.evidence.items() if k != "plots"}
        badge = _badge(r.status, e.get("finding", ""))
        parts = [
            f'<section class="claim" id="{escape(e["id"])}"><h2>{escape(e["id"])} {badge}</h2>',
            f"<p>{escape(e['statement'])}</p><ul><li>source: {escape(e['source'])}</li>",
            f"<li>origin: {escape(e.get('origin') or '')}</li><li>kind: {escape(e['kind'])}</li>",
            f"<li>tolerance: {escape(str(r.tolerance))}</li><li>seconds: {r.seconds:.3f}"
            f"{' (cached)' if e.get('cached') else ''}</li>",
            f"<li>files it read, re-hashed before reuse (unchanged): {escape(', '.join(e['cache_rehashed']))}</li>"
            if e.get("cache_rehashed")
            else "",
            f"<li>certificates re-checked before reuse: {escape(', '.join(e['cache_rechecked']))}</li>"
            if e.get("cache_rechecked")
            else "",
            *(
                f'<li>certificate <a href="{escape(c["certificate"])}">{escape(c["certificate"])}</a> (spec '
                f"{escape(c['spec'])}): independent checker {escape(c['check'])}; re-check it: "
                f"<code>{escape(c['recheck'])}</code></li>"
                for c in certificates_of(r)
            ),
            f"<li>recorded finding: {escape(e['finding'])}</li>" if e.get("finding") else "",
            f"<li>note: {escape(r.note)}</li></ul>" if r.note else "</ul>",
            f"<h3>observed</h3>{_json_block(r.observed)}<h3>expected</h3>{_json_block(r.expected)}",
        ]
        if changes.get(e["id"]):
            parts.append(f'<p class="changed">since the baseline: {escape(changes[e["id"]])}</p>')
        if evidence:
            parts.append(f"<h3>evidence</h3>{_json_block(evidence)}")
        parts += [_image(directory, name, e["id"]) for name in r.evidence.get("plots", [])]
        sections.append("".join(parts) + "</section>")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>cnnverify claim checks</title>'
        f"<style>{_STYLE}</style></head><body>{''.join(head)}{table}{''.join(sections)}"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )
