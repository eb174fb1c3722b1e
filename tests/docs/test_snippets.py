"""The docs run: every Python block and every shell command of README.md and docs/*.md (see snippets.py).

Python blocks run in a fresh namespace (doctest lines compare their printed values); the shell blocks of one
file run in order in one fresh directory, each command's output compared with the output the doc shows.
Blocks marked slow run with ``pytest -m slow``; blocks marked manual are reported as skipped, with the
doc's reason.
"""

from __future__ import annotations

import doctest
import importlib.util
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .snippets import DOCS, ROOT, Block, all_blocks, blocks

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
COMMAND_TIMEOUT_S = 1800  # a hang must end the test, not CI; the slowest marked-slow command takes minutes


def _param(block: Block):
    marks = [pytest.mark.slow] if block.mode == "slow" else []
    return pytest.param(block, id=block.name, marks=marks)


PYTHON = [_param(b) for b in all_blocks() if b.lang == "python"]
SHELL_FILES = sorted({b.path for b in all_blocks() if b.lang != "python"})


def _missing(block: Block) -> list[str]:
    """The optional modules ``block`` needs that are not installed (found, not imported: an import may change the
    process, as maraboupy hides GPUs)."""
    return [m for m in block.needs if importlib.util.find_spec(m) is None]


def _skip_manual(block: Block) -> None:
    if block.mode == "manual":
        pytest.skip(f"{block.name}: not run by the tests ({block.reason})")
    missing = _missing(block)
    if missing:
        pytest.skip(f"{block.name} needs the optional modules {missing}")


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_block_is_tagged_and_parses(path: Path):
    for block in blocks(path):  # raises on an untagged block, an unknown tag or a bare manual mark
        if block.lang != "python":
            assert block.commands(), f"{block.name}: a shell block without commands"


@pytest.mark.parametrize("block", PYTHON)
def test_python_block(block: Block, tmp_path, monkeypatch):
    _skip_manual(block)
    monkeypatch.chdir(tmp_path)
    if ">>>" not in block.text:
        exec(compile(block.text, block.name, "exec"), {"__name__": "__snippet__"})
        return
    test = doctest.DocTestParser().get_doctest(
        block.text, {"__name__": "__snippet__"}, block.name, str(block.path), block.lineno
    )
    report = io.StringIO()
    result = doctest.DocTestRunner(optionflags=FLAGS).run(test, out=report.write)
    assert result.failed == 0, f"{block.name}: the doc's output differs from what ran\n{report.getvalue()}"


def _run_shell_file(path: Path, tmp_path: Path, *, include_slow: bool) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", COLUMNS="120")
    checker, ran = doctest.OutputChecker(), 0
    for block in blocks(path):
        if (
            block.lang == "python"
            or block.mode == "manual"
            or (block.mode == "slow" and not include_slow)
            or _missing(block)
        ):
            continue
        for cmd in block.commands():
            proc = subprocess.run(
                ["bash", "-c", cmd.line],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_S,
            )
            got = proc.stdout + proc.stderr
            where = f"{block.name}: $ {cmd.line}"
            assert proc.returncode == cmd.status, f"{where}\nexit {proc.returncode}, expected {cmd.status}\n{got}"
            if cmd.expected:
                assert checker.check_output(cmd.expected + "\n", got, FLAGS), (
                    f"{where}\nthe doc shows:\n{cmd.expected}\nthe command printed:\n{got}"
                )
            ran += 1
    if not ran:
        pytest.skip(f"{path.name}: no shell command in this speed class")


@pytest.mark.parametrize("path", SHELL_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_shell_commands(path: Path, tmp_path):
    _run_shell_file(path, tmp_path, include_slow=False)


@pytest.mark.slow
@pytest.mark.parametrize("path", SHELL_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_shell_commands_with_the_slow_ones(path: Path, tmp_path):
    _run_shell_file(path, tmp_path, include_slow=True)


def test_manual_blocks_are_few_and_say_why():
    manual = [b for b in all_blocks() if b.mode == "manual"]
    assert all(b.reason for b in manual)
    assert len(manual) <= 8, [b.name for b in manual]
