"""What the command lines share (theory.cli): the exit-code table, the strict integer-list parser, the
closed-pipe guard and the terminal progress line."""

from __future__ import annotations

import io

import pytest

import theory
from theory import TheoryError
from theory.cli import EXIT_CODES, parse_int_list


def test_exit_code_table():
    assert (
        theory.cli.EXIT_OK,
        theory.cli.EXIT_FAIL,
        theory.cli.EXIT_USAGE,
        theory.cli.EXIT_UNSOUND,
        theory.cli.EXIT_PIPE,
    ) == (0, 1, 2, 3, 141)
    assert sorted(EXIT_CODES) == [0, 1, 2, 3, 141] and all(EXIT_CODES.values())


@pytest.mark.parametrize("text, expected", [("0,700,1023", [0, 700, 1023]), (" 3 , -4", [3, -4]), ("7", [7])])
def test_parse_int_list(text, expected):
    assert parse_int_list(text, "--support") == expected


@pytest.mark.parametrize(
    "text, why",
    [
        ("0,,1", "item 2 is empty"),
        ("0,1,", "item 3 is empty"),
        ("", "item 1 is empty"),
        (",3", "item 1 is empty"),
        ("1,x", "'x', not an integer"),
        ("1.5", "not an integer"),
    ],
)
def test_parse_int_list_rejects_malformed_lists(text, why):
    with pytest.raises(TheoryError, match="'--support'") as e:
        parse_int_list(text, "--support")
    assert why in str(e.value) and repr(text) in str(e.value)


def test_run_cli_passes_codes_and_ends_quietly_on_a_closed_pipe(capsys):
    """In process (capsys: standard output is no file descriptor); the real pipe is in the contract test."""
    assert theory.cli.run_cli(lambda argv: 7 if argv == ["a"] else 0, ["a"]) == 7

    def main(argv):
        raise BrokenPipeError(32, "Broken pipe")

    assert theory.cli.run_cli(main) == theory.cli.EXIT_PIPE


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_terminal_and_elsewhere():
    tty = _Tty()
    line = theory.cli.ProgressLine(tty, rate=1e9)
    line.update("long status text")
    line.update("short")
    line.close()
    assert tty.getvalue() == "\rlong status text\rshort           \rshort\n"  # shorter text blanks the rest
    log = io.StringIO()
    line = theory.cli.ProgressLine(log, rate=4)
    for i in range(100):
        line.update(f"step {i}")
    line.close()
    assert log.getvalue() == "step 99\n"  # not a terminal: one final line only
    slow = _Tty()
    line = theory.cli.ProgressLine(slow, rate=0.001)
    for i in range(100):
        line.update(f"step {i}")
    assert slow.getvalue() == "\rstep 0"  # at most `rate` updates per second
