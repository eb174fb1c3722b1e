"""The one error type of the ``checks`` package and the helper that words its messages."""

from __future__ import annotations

from typing import Any


class ChecksError(ValueError):
    """Bad input to a ``checks`` function: names the argument, the value given and what is allowed."""


def bad(arg: str, value: Any, allowed: str) -> ChecksError:
    """Build a :class:`ChecksError` saying ``arg`` got ``value`` where ``allowed`` was expected."""
    text = repr(value)
    if len(text) > 120:
        text = text[:117] + "..."
    return ChecksError(f"argument {arg!r}: got {text}; allowed: {allowed}")
