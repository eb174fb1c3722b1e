"""The one error type of the ``theory`` package and the helper that words its messages."""

from __future__ import annotations

from typing import Any


class TheoryError(ValueError):
    """Bad input to a ``theory`` function: names the argument, the value given and what is allowed."""


def bad(arg: str, value: Any, allowed: str) -> TheoryError:
    """Build a :class:`TheoryError` saying ``arg`` got ``value`` where ``allowed`` was expected."""
    text = repr(value)
    if len(text) > 120:
        text = text[:117] + "..."
    return TheoryError(f"argument {arg!r}: got {text}; allowed: {allowed}")
