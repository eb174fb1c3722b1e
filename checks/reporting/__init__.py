"""checks.reporting: the reports of a run (report.json, report.md, report.html) and two reports compared.

* the document: :func:`build_document` (the JSON record of a run, :data:`SCHEMA` version
  :data:`SCHEMA_VERSION`), :func:`environment` (library versions, platform, git state), :func:`load_document`
  (a report.json read back and validated);
* renderings: :func:`table` and :func:`summary_text` (the terminal), :func:`render_markdown` (report.md),
  :func:`render_html` (report.html, self-contained: plots inline, changes since a baseline marked);
* writing the report directory atomically: :func:`check_out_dir` (before any claim runs), :func:`staging_dir`,
  :func:`finish`, :func:`discard`;
* comparing: :func:`compare_reports` / :class:`ReportDiff` (two reports claim by claim), :func:`moved` (observed
  values that moved by more than their tolerance), :func:`report_json` (a report.json or its directory).
"""

from ._compare import ReportDiff, compare_reports, moved, report_json
from ._html import render_html
from ._markdown import render_markdown
from ._report import (
    SCHEMA,
    SCHEMA_VERSION,
    build_document,
    check_out_dir,
    discard,
    environment,
    finish,
    load_document,
    staging_dir,
)
from ._text import summary_text, table

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "build_document",
    "environment",
    "load_document",
    "table",
    "summary_text",
    "render_markdown",
    "render_html",
    "check_out_dir",
    "staging_dir",
    "finish",
    "discard",
    "compare_reports",
    "ReportDiff",
    "moved",
    "report_json",
]
