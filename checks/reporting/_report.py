"""Reports of a check run: the JSON document, its Markdown rendering, the text table, atomic writing."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Collection, Mapping, Sequence

import numerics
import theory

from .._errors import ChecksError, bad
from ..claims import RATE_BANDS, STATUSES, Claim, Result, counts_as_failure, finding_state, status_label

SCHEMA = "cnnverify.checks.report"
SCHEMA_VERSION = 1
REPO_ROOT = Path(__file__).resolve().parents[2]
MD_FIELD_LIMIT = 1500
"""Characters of one field shown in report.md (report.json always has everything)."""


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_state() -> dict[str, Any]:
    """``{'commit': sha or None, 'dirty': bool or None}`` of the repository holding this package."""

    def git(*args: str) -> str | None:
        try:
            res = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout.strip() if res.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def environment() -> dict[str, Any]:
    """Library versions, platform and git state for the report header."""
    versions = {"python": platform.python_version()}
    for name, dist in (
        ("torch", "torch"),
        ("numpy", "numpy"),
        ("sympy", "sympy"),
        ("z3", "z3-solver"),
        ("matplotlib", "matplotlib"),
        ("cnnverify", "cnnverify"),
    ):
        versions[name] = _version(dist)
    return {"versions": versions, "platform": platform.platform(), "git": git_state()}


def exit_code(outcomes: Sequence[tuple[str, Result]]) -> int:
    """0 when no ``(recorded finding, result)`` pair :func:`counts_as_failure <checks.claims.counts_as_failure>`:
    every result is pass or not-testable, or a fail its recorded finding foresees; else 1."""
    return 1 if any(counts_as_failure(finding, r.status) for finding, r in outcomes) else 0


def build_document(
    runs: Sequence[tuple[Claim, Result]],
    *,
    profile: str,
    seed: int,
    started: str,
    finished: str,
    env: Mapping[str, Any],
    cached: Collection[str] = (),
    origins: Mapping[str, str] | None = None,
    rehashed: Mapping[str, Sequence[str]] | None = None,
    rechecked: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """The machine-readable report (``report.json``), schema :data:`SCHEMA` version :data:`SCHEMA_VERSION`;
    ``cached``: ids whose results were reused from the cache; ``rehashed``: per cached id, the files it read that
    were re-hashed (unchanged) before it was served; ``rechecked``: per cached id, the certificates the independent
    checker re-checked before it was served; ``origins``: where each claim was found. Each claim
    entry carries its recorded ``finding`` for the profile ('' when none); ``findings`` lists the ids whose
    recorded finding reproduced (``known``) and those whose finding no longer does (``stale``)."""
    results = [r for _, r in runs]
    found = [(c.findings.get(profile, ""), r) for c, r in runs]
    states = {c.id: finding_state(f, r.status) for (c, _), (f, r) in zip(runs, found)}
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "profile": profile,
        "seed": seed,
        "started_utc": started,
        "finished_utc": finished,
        **dict(env),
        "summary": {s: sum(r.status == s for r in results) for s in STATUSES},
        "findings": {k: [cid for cid, v in states.items() if v == k] for k in ("known", "stale")},
        "exit_code": exit_code(found),
        "seconds": round(sum(r.seconds for r in results), 3),
        "claims": [
            {
                "id": c.id,
                "statement": c.statement,
                "source": c.source,
                "kind": c.kind,
                "cost": dict(c.cost),
                "origin": (origins or {}).get(c.id, ""),
                "cached": c.id in cached,
                "cache_rehashed": list((rehashed or {}).get(c.id, ())),
                "cache_rechecked": list((rechecked or {}).get(c.id, ())),
                "finding": f,
                "result": r.to_json(),
            }
            for (c, r), (f, _) in zip(runs, found)
        ],
    }


def summary_text(doc: Mapping[str, Any]) -> str:
    """One line: the status counts, then the recorded findings that reproduced or went stale."""
    text = ", ".join(f"{n} {s}" for s, n in doc["summary"].items() if n)
    findings = doc.get("findings", {})  # absent in reports written before recorded findings existed
    if findings.get("known"):
        text += f"; {len(findings['known'])} fail as recorded (known findings, not counted in the exit status)"
    if findings.get("stale"):
        text += f"; {len(findings['stale'])} recorded finding(s) no longer reproduce ({', '.join(findings['stale'])})"
    return text


def load_document(path: str | os.PathLike) -> tuple[dict[str, Any], list[tuple[dict[str, Any], Result]]]:
    """Read ``report.json`` back: the document and ``(claim info, Result)`` per claim.

    Raises:
        ChecksError: unreadable file, wrong schema or version, malformed results.
    """
    try:
        doc = theory.io.read_json(path, "report")
    except theory.TheoryError as e:
        raise bad("path", str(path), f"a readable report.json ({e})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise bad("path", str(path), f"a {SCHEMA} document")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise bad("schema_version", doc.get("schema_version"), f"{SCHEMA_VERSION} (the version this library reads)")
    out = []
    try:
        for entry in doc.get("claims", []):
            info = {k: v for k, v in entry.items() if k != "result"}
            out.append((info, Result.from_json(entry["result"])))
    except (KeyError, TypeError, AttributeError, RecursionError) as e:
        raise bad(
            "path", str(path), f"a {SCHEMA} document with well-formed claims ({type(e).__name__}: a corrupted file)"
        ) from None
    ids = [str(info.get("id")) for info, _ in out]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise bad("path", str(path), f"a {SCHEMA} document with distinct claim ids ({', '.join(twice[:5])} repeated)")
    return doc, out


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


def check_out_dir(out: Path, force: bool) -> None:
    """Raise ChecksError unless the report directory ``out`` can be written (``theory.io.check_writable``): its
    parent is or can be made a writable directory, and ``out`` does not exist, or ``force`` is set and ``out`` is
    a report directory cnnverify wrote (its ``.cnnverify`` marker, nothing foreign in it)."""
    try:
        theory.io.check_writable(out, "directory", force=force, flag="--out")
    except theory.TheoryError as e:
        raise ChecksError(str(e)) from None


def staging_dir(out: Path) -> Path:
    """A fresh temporary directory next to ``out`` (same file system, so the final rename is atomic)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))


def finish(doc: Mapping[str, Any], staging: Path, out: Path, force: bool, pages: Mapping[str, str] = {}) -> Path:
    """Write report.json, report.md and ``pages`` (file name -> text, e.g. report.html) into ``staging`` (already
    holding the plots), then rename it to ``out``.

    An existing ``out`` is replaced only with ``force`` and only when cnnverify wrote it (:func:`check_out_dir`;
    moved aside first, then deleted), so a crash leaves either the old directory or the complete new one. The
    new directory gets the ``.cnnverify`` marker listing what it holds. Returns ``out``.
    """
    (staging / "report.json").write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    (staging / "report.md").write_text(render_markdown(doc))
    for name, text in pages.items():
        (staging / name).write_text(text)
    theory.io.write_marker(staging, "python -m checks", [p.name for p in staging.iterdir()])
    check_out_dir(out, force)
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rename(out, old / "previous")
        try:  # checked again once moved aside: a file added since the first check must not be deleted
            theory.io.check_replaceable(old / "previous", "--out", in_place=True)
        except theory.TheoryError as e:
            os.rename(old / "previous", out)
            shutil.rmtree(old, ignore_errors=True)
            raise ChecksError(
                f"{e} (entries appeared in {out} while it was being replaced; it was left as it is)"
            ) from None
        os.rename(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staging, out)
    return out


def discard(staging: Path) -> None:
    """Remove a staging directory after a failure."""
    shutil.rmtree(staging, ignore_errors=True)
