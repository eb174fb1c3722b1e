"""The error types of the project and the one helper that words their messages.

Every bad input raises its package's error type, a thin subclass of :class:`CnnverifyError` (a ``ValueError``):
:class:`TheoryError` here, ``numerics.NumericsError`` and ``checks.ChecksError``. The message names the argument,
the value given and what is allowed; :meth:`CnnverifyError.bad` is the one place that words it, so a package
writes ``raise bad("d", d, "an int >= 2")`` with ``bad = ItsError.bad``.
"""

from __future__ import annotations

from typing import Any, TypeVar

_E = TypeVar("_E", bound="CnnverifyError")

SHOWN_CHARS = 120
"""Longest ``repr`` of a bad value that a message shows in full (longer ones are cut with ``...``)."""


class CnnverifyError(ValueError):
    """Bad input to a cnnverify function: names the argument, the value given and what is allowed."""

    @classmethod
    def bad(cls: type[_E], arg: str, value: Any, allowed: str) -> _E:
        """Build an error of this type saying ``arg`` got ``value`` where ``allowed`` was expected:
        ``argument 'd': got 3; allowed: a power of s``."""
        text = repr(value)
        if len(text) > SHOWN_CHARS:
            text = text[: SHOWN_CHARS - 3] + "..."
        return cls(f"argument {arg!r}: got {text}; allowed: {allowed}")


class TheoryError(CnnverifyError):
    """Bad input to a ``theory`` function."""


bad = TheoryError.bad
