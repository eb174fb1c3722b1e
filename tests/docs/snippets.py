"""Extract the runnable snippets of the Markdown docs (README.md, docs/*.md), so that the tests can run them.

Every fenced block must say what it is, by its language tag:

- ``python``: Python, run in a fresh namespace. Lines written as ``>>> expr`` are doctests: the output below
  them is compared with what the expression printed (``...`` elides, whitespace is normalised).
- ``console``: shell commands written as ``$ command``; the lines below a command, up to the next ``$``, are
  its expected output (same matching rules as doctests; an empty expectation checks nothing). A last
  expected line ``[exit N]`` expects exit status N instead of 0.
- ``sh``: shell commands, one per line, only their exit status (0) is checked; ``#`` starts a comment.
- ``text``, ``markdown``, ``json``, ``toml``, ``make``: shown, not run (trees, file contents, tables).

A block preceded by ``<!-- snippet: slow -->`` is run only by the opt-in slow tests; one preceded by
``<!-- snippet: manual REASON -->`` is not run at all (it needs a cluster, hours, or is the test command
itself), and must give the reason; one preceded by ``<!-- snippet: needs onnx onnxruntime -->`` is skipped
where those optional modules are not installed. A block without a tag is an error: nothing is skipped silently.

The shell blocks of one file run in order, in one fresh directory, so that a later command can read what an
earlier one wrote (``build --out nets/sel``, then ``show nets/sel``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))

RUN = {"python", "console", "sh"}
SHOWN = {"text", "markdown", "json", "toml", "make"}
_FENCE = re.compile(r"^```(\S*)\s*$")
_MARK = re.compile(r"^<!--\s*snippet:\s*(slow|manual|needs)\b\s*(.*?)\s*-->\s*$")
_EXIT = re.compile(r"^\[exit (\d+)\]$")


@dataclass(frozen=True)
class Command:
    """One shell command, its expected output (may be empty: not compared) and exit status."""

    line: str
    expected: str = ""
    status: int = 0


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its tag, its text, and how the tests treat it."""

    path: Path
    lineno: int
    lang: str
    text: str
    mode: str  # "run", "slow" or "manual"
    reason: str = ""
    needs: tuple[str, ...] = ()  # optional modules the block imports

    @property
    def name(self) -> str:
        return f"{_shown(self.path)}:{self.lineno}"

    def commands(self) -> list[Command]:
        """The shell commands of a ``console`` or ``sh`` block, in order (a line ending in ``\\`` continues)."""
        text = self.text.replace("\\\n", " ")
        if self.lang == "sh":
            lines = (ln.split(" #", 1)[0].strip() for ln in text.splitlines())
            return [Command(ln) for ln in lines if ln and not ln.startswith("#")]
        if self.lang != "console":
            raise ValueError(f"{self.name}: a {self.lang} block has no shell commands")
        out: list[list[str]] = []
        for ln in text.splitlines():
            if ln.startswith("$ "):
                out.append([ln[2:].strip()])
            elif out:
                out[-1].append(ln)
            elif ln.strip():
                raise ValueError(f"{self.name}: console output before the first '$ command': {ln!r}")
        commands = []
        for line, *expected in out:
            while expected and not expected[-1].strip():
                expected.pop()
            status = 0
            if expected and (m := _EXIT.match(expected[-1].strip())):
                status = int(m.group(1))
                expected.pop()
            commands.append(Command(line, "\n".join(expected), status))
        return commands


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of one Markdown file.

    Raises:
        ValueError: a block without a language tag, an unknown tag, an unclosed fence, or a ``manual`` mark
            without a reason.
    """
    lines = path.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1), i
        where = f"{_shown(path)}:{start + 1}"
        if lang not in RUN | SHOWN:
            raise ValueError(f"{where}: fenced block tagged {lang!r}; tag it with one of {sorted(RUN | SHOWN)}")
        end = next((j for j in range(start + 1, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            raise ValueError(f"{where}: unclosed fence")
        mode, reason, needs = "run", "", ()
        prev = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        if mk := _MARK.match(prev):
            mode, reason = mk.group(1), mk.group(2)
            if mode in ("manual", "needs") and not reason:
                raise ValueError(f"{where}: '<!-- snippet: {mode} -->' needs a reason or module names")
            if mode == "needs":
                mode, reason, needs = "run", "", tuple(reason.split())
        if lang in RUN:
            found.append(Block(path, start + 1, lang, "\n".join(lines[start + 1 : end]) + "\n", mode, reason, needs))
        i = end + 1
    return found


def all_blocks() -> list[Block]:
    """Every runnable-tagged block of every doc, in file order; a file that does not parse is left out here
    (collection must not fail on it) and fails its own test, ``test_every_block_is_tagged_and_parses``."""
    found = []
    for path in DOCS:
        try:
            found += blocks(path)
        except ValueError:
            continue
    return found
