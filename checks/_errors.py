"""The error type of the ``checks`` package (a thin subclass of the project's ``CnnverifyError``)."""

from __future__ import annotations

from theory.cli import CnnverifyError


class ChecksError(CnnverifyError):
    """Bad input to a ``checks`` function: names the argument, the value given and what is allowed."""


bad = ChecksError.bad
