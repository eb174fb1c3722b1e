"""What every command line of the project shares: the exit codes, the list parser, a closed pipe, a progress line.

The three command lines (``python -m theory``, ``python -m numerics``, ``python -m checks``) follow one contract,
written out for users in docs/cli.md; the codes and their meanings are :data:`EXIT_CODES`.

``numerics`` and ``checks`` take these names from ``theory``'s face (data flows one way).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from ._errors import TheoryError

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_UNSOUND = 3
EXIT_PIPE = 141
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "ok: done as asked (built, written, proved within the asked gap or eps, all claims pass)",
    EXIT_FAIL: "a claim failed or is unknown, a sweep point failed, a certificate is refuted, unknown or stopped "
               "before its target gap, a check mismatched",
    EXIT_USAGE: "usage error, bad input, unwritable or refused output path, --device cuda without CUDA",
    EXIT_UNSOUND: "unsound: a claimed upper bound is below an exactly re-evaluated error (numerics evaluate); two "
                  "verifiers disagree (numerics crosscheck) or two solvers answer one query differently (theory "
                  "recheck)",
    EXIT_PIPE: "standard output was closed by its reader (e.g. | head): stopped quietly",
}
"""Every exit code of the project's command lines and what it means (docs/cli.md explains each, with examples)."""


def parse_int_list(text: str, flag: str, example: str = "0,700,1023") -> list[int]:
    """``'0,700,1023'`` -> ``[0, 700, 1023]``: comma-separated integers, spaces allowed around each.

    Raises:
        TheoryError: an empty item (``'0,,1'``, a trailing comma) or a non-integer, naming ``flag``.
    """
    if not isinstance(text, str):
        raise TheoryError(f"argument {flag!r}: got {text!r}; allowed: comma-separated integers such as {example}")
    items = text.split(",")
    out = []
    for i, item in enumerate(items, 1):
        item = item.strip()
        try:
            out.append(int(item))
        except ValueError:
            why = "empty" if not item else f"{item!r}, not an integer"
            raise TheoryError(f"argument {flag!r}: got {text!r}: item {i} is {why}; allowed: comma-separated "
                              f"integers such as {example}") from None
    return out


def join_option_values(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """``--g -x0*x1`` -> ``--g=-x0*x1``, for every option of ``parser`` (and its subcommands) taking one value.

    argparse reads a value that starts with ``-`` as an option (``--box -1,1``, ``--target "-x0*x1"``) and
    fails with "expected one argument". The value is joined to its option unless it is itself an option of the
    parser, so a forgotten value (``--out --force``) is still reported.
    """
    takes_value: set[str] = set()
    options: set[str] = set()
    parsers = [parser]
    while parsers:
        for action in parsers.pop()._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
                continue
            options.update(action.option_strings)
            if action.nargs is None and action.option_strings:
                takes_value.update(action.option_strings)
    out, i = [], 0
    argv = list(argv)
    while i < len(argv):
        a = argv[i]
        if a in takes_value and i + 1 < len(argv) and argv[i + 1].startswith("-") and argv[i + 1] not in options:
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run a command line's ``main`` and return its exit code; a closed standard output ends it quietly.

    When the reader of standard output goes away (``python -m checks --list | head``), the next write raises
    BrokenPipeError: standard output is pointed at the null device (so the interpreter's final flush cannot
    fail again) and :data:`EXIT_PIPE` is returned, without a traceback.
    """
    try:
        code = main(argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
        return EXIT_PIPE


class ProgressLine:
    """One status line on a terminal, rewritten in place (carriage return) at most ``rate`` times a second.

    On a stream that is not a terminal nothing is shown while running; :meth:`close` prints the last state as a
    final line there (so logs get one line, terminals a live one).

    Args:
        stream: where to write (default ``sys.stderr``).
        rate: most updates per second on a terminal.
    """

    def __init__(self, stream: TextIO | None = None, rate: float = 4.0):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = 1.0 / rate
        self.last = -math.inf     # the first update draws (monotonic time can start near 0 after boot)
        self.text = ""
        self.width = 0

    def update(self, text: str) -> None:
        """Record the current state; draw it when on a terminal and the last draw is old enough."""
        self.text = text
        now = time.monotonic()
        if self.tty and now - self.last >= self.interval:
            self.last = now
            pad = max(0, self.width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self.stream.flush()
            self.width = len(text)

    def close(self) -> None:
        """End the line: on a terminal, redraw the last state and a newline; elsewhere print it once."""
        if not self.text:
            return
        if self.tty:
            self.stream.write("\r" + self.text + " " * max(0, self.width - len(self.text)) + "\n")
        else:
            self.stream.write(self.text + "\n")
        self.stream.flush()
