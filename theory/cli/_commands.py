"""What every command line of the project shares: the exit codes, the list parser, option values, a closed pipe.

The three command lines (``python -m theory``, ``python -m numerics``, ``python -m checks``) follow one contract,
written out for users in docs/cli.md; the codes and their meanings are :data:`EXIT_CODES`.

``numerics`` and ``checks`` take these names from :mod:`theory.cli` (data flows one way).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from .._errors import TheoryError

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
    "verifiers disagree (numerics crosscheck), or the independent checker rejects a certificate (theory check)",
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
            raise TheoryError(
                f"argument {flag!r}: got {text!r}: item {i} is {why}; allowed: comma-separated "
                f"integers such as {example}"
            ) from None
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
