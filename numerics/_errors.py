"""The one error type of the ``numerics`` package."""

from __future__ import annotations

from typing import Any


class NumericsError(ValueError):
    """Bad input to a ``numerics`` function: names the argument, the value given and what is allowed."""


def bad(arg: str, value: Any, allowed: str) -> NumericsError:
    """Build a :class:`NumericsError` saying ``arg`` got ``value`` where ``allowed`` was expected."""
    text = repr(value)
    if len(text) > 120:
        text = text[:117] + "..."
    return NumericsError(f"argument {arg!r}: got {text}; allowed: {allowed}")
