"""Citations of files resolve inside the repository: the code and the docs cite only files that ship with it.

The scanner reads every ``*.py`` file under the packages, tests, benchmarks and examples, and every Markdown file
at the root, under docs/ and under examples/. In each line it finds

* paths that start at a top-level folder of the repository (``docs/soundness.md``, ``benchmarks/build.py``,
  ``tests/theory/soundness``), resolved against the repository root;
* bare Markdown file names (``README.md``, ``catalogue.md``), looked up at the root, next to the citing file and
  under docs/;
* in Markdown files, the targets of links ``[text](target)``, resolved against the citing file's folder (URLs
  and in-page anchors are skipped).

A citation that resolves to nothing fails the test, listed as ``file:line: citation``. Mentions of the project's
former design notes or of a folder of paper notes fail outright: neither is part of the repository
(docs/catalogue.md cites the papers by title and arXiv id instead).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PY_DIRS = ("theory", "numerics", "checks", "tests", "benchmarks", "examples")
MD_DIRS = ("docs", "examples")
TOP = ("theory", "numerics", "checks", "tests", "benchmarks", "examples", "docs")

GENERATED = frozenset({"report.md"})
"""Names of files the tools write, not files of the repository: ``python -m checks`` writes ``report.md`` into its
output directory. (Its ``report.json`` and ``report.html``, and ``spec.json``, ``points.jsonl``, ``config.json``
of the other tools, are never taken for citations: without a folder, only Markdown names are matched.)"""

EXAMPLES = frozenset({("docs/claims.md", "docs/square.md")})
"""(citing file, citation) pairs that name a file of the *reader's* project inside an example: docs/claims.md
shows a user's claim whose recorded finding points to the user's own write-up."""

_BEFORE = r"(?<![\w./\-*$<{~@:])"  # not inside a longer path, a glob (*.md), a variable ($OUT/...) or a URL
_PATH = re.compile(_BEFORE + r"((?:" + "|".join(TOP) + r")/[\w./-]*)")
_BARE_MD = re.compile(_BEFORE + r"([\w-]+\.md)\b")
_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+")
_FORBIDDEN = re.compile(r"DESIGN\.md|(?<![\w-])papers[/]")
_TEMPLATE = "<{[*"
"""A path that runs into one of these is a pattern (``theory/heads/_<name>.py``, ``docs/*.md``), not a file."""


def _clean(citation: str) -> str:
    """Strip the sentence punctuation a cited path may end with (a full stop, a comma, a colon)."""
    return citation.rstrip(".,;:")


def prose_of_python(text: str) -> str:
    """Only the comments and docstrings of a Python source, on their own lines (the rest blanked).

    Used for tests, whose string literals are test data (files written to a temporary directory, planted
    citations), while their comments and docstrings cite real files.
    """
    lines = [""] * (text.count("\n") + 2)
    starts = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                starts.add((first.value.lineno, first.value.col_offset))
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT or (tok.type == tokenize.STRING and tok.start in starts):
            for i, part in enumerate(tok.string.splitlines()):
                lines[tok.start[0] - 1 + i] += " " + part
    return "\n".join(lines)


def scan_text(text: str, where: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """The citations in ``text`` (the contents of ``where``, a path under ``root``) that do not resolve.

    Returns:
        ``(line number, citation)`` pairs, in order; a forbidden mention is reported as
        ``'<citation> (not part of the repository)'``.
    """
    missing: list[tuple[int, str]] = []
    here = where.parent
    markdown = where.suffix == ".md"
    for lineno, line in enumerate(text.splitlines(), 1):
        for m in _FORBIDDEN.finditer(line):
            missing.append((lineno, f"{m.group()} (not part of the repository)"))
        if markdown:
            for m in _LINK.finditer(line):
                target = m.group(1).split("#", 1)[0]
                if not target or re.match(r"[a-z][a-z0-9+.-]*:", target):
                    continue  # an in-page anchor, a URL or a mailto
                if not (here / target).exists():
                    missing.append((lineno, f"[...]({m.group(1)})"))
            line = _LINK.sub("[]()", line)  # a link's target is checked above, relative to this file only
        line = _URL.sub(" ", line)
        for m in _PATH.finditer(line):
            cited = _clean(m.group(1))
            if line[m.end() : m.end() + 1] in tuple(_TEMPLATE) or "..." in cited:
                continue  # a pattern, or an elided path
            if not (root / cited).exists():
                missing.append((lineno, cited))
        for m in _BARE_MD.finditer(line):
            name = m.group(1)
            if name in GENERATED:
                continue
            if not any((d / name).exists() for d in (root, here, root / "docs")):
                missing.append((lineno, name))
    return missing


def _files(root: Path = ROOT) -> list[Path]:
    files = [p for d in PY_DIRS for p in (root / d).rglob("*.py")]
    files += sorted(root.glob("*.md")) + [p for d in MD_DIRS for p in (root / d).rglob("*.md")]
    return sorted(p for p in files if not {"__pycache__", ".venv"} & set(p.parts) and ".egg-info" not in str(p))


def test_every_cited_file_is_in_the_repository():
    missing = []
    for path in _files():
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        if rel.startswith("tests/") and path.suffix == ".py":
            text = prose_of_python(text)
        for lineno, cited in scan_text(text, path):
            if (rel, cited) not in EXAMPLES:
                missing.append(f"{rel}:{lineno}: {cited}")
    assert not missing, "citations of files that are not in the repository:\n" + "\n".join(missing)


def test_the_scanner_sees_the_whole_tree():
    files = {p.relative_to(ROOT).as_posix() for p in _files()}
    assert {
        "README.md",
        "docs/soundness.md",
        "docs/catalogue.md",
        "checks/claims/_sources.py",
        "tests/test_citations.py",
    } <= files


def test_planted_missing_citations_are_caught():
    # built at run time, so that neither name appears in this file or in its bytecode (a grep must not find them)
    design, notes = ".".join(("DESIGN", "md")), "/".join(("papers", "wang_wu_2023.md"))
    text = "\n".join(
        [
            "Source: docs/soundness.md and docs/catalogue.md; README.md; tests/theory/soundness.",  # all exist
            "see docs/no_such_page.md, and benchmarks/gone.py.",  # line 2
            f"rules: {design}",  # line 3
            f"notes: {notes}",  # line 4
            "[the catalogue](catalogue.md), [missing](nowhere.md#top), [web](https://example.org/x.md)",
            "writes report.md; globs docs/*.md; theory/heads/_<name>.py; https://github.com/o/r/blob/main/docs/absent.md",
        ]
    )
    found = scan_text(text, ROOT / "docs" / "planted.md")
    assert [n for n, _ in found] == [2, 2, 3, 3, 4, 5], found
    cited = [c for _, c in found]
    assert cited[:2] == ["docs/no_such_page.md", "benchmarks/gone.py"]
    assert cited[2].startswith(design) and "not part of the repository" in cited[2] and cited[3] == design
    assert "not part of the repository" in cited[4] and cited[5] == "[...](nowhere.md#top)"


def test_string_literals_of_tests_are_data_but_their_comments_cite():
    source = 'PATH = "docs/written_by_the_test.md"  # see docs/gone_page.md\n\n\ndef f():\n    """docs/gone_too.md"""\n'
    found = scan_text(prose_of_python(source), ROOT / "tests" / "test_x.py")
    assert found == [(1, "docs/gone_page.md"), (5, "docs/gone_too.md")], found


def test_catalogue_lists_every_registered_claim():
    """docs/catalogue.md names every claim id the catalogue tables declare, and no other: read from the source
    (``Claim("<id>", ...``), so this stays fast and imports nothing."""
    declared = set()
    for path in (ROOT / "checks").rglob("*.py"):
        declared |= set(re.findall(r"\bClaim\(\s*\"([a-z][\w]*(?:\.[\w]+)+)\"", path.read_text(encoding="utf-8")))
    listed = set(
        re.findall(
            r"^\| `([a-z][\w]*(?:\.[\w]+)+)` \|", (ROOT / "docs" / "catalogue.md").read_text(encoding="utf-8"), re.M
        )
    )
    assert len(declared) >= 40, sorted(declared)
    assert declared == listed, {
        "not in docs/catalogue.md": sorted(declared - listed),
        "not declared": sorted(listed - declared),
    }
