"""The one error type of the ``numerics`` package."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import theory


class NumericsError(ValueError):
    """Bad input to a ``numerics`` function: names the argument, the value given and what is allowed."""


def bad(arg: str, value: Any, allowed: str) -> NumericsError:
    """Build a :class:`NumericsError` saying ``arg`` got ``value`` where ``allowed`` was expected."""
    text = repr(value)
    if len(text) > 120:
        text = text[:117] + "..."
    return NumericsError(f"argument {arg!r}: got {text}; allowed: {allowed}")


@contextmanager
def theory_errors(prefix: str = "") -> Iterator[None]:
    """Re-raise a :class:`theory.TheoryError` from the block as this package's error (same message, after
    ``prefix``): a ``numerics`` function that delegates to ``theory`` raises only :class:`NumericsError`."""
    try:
        yield
    except theory.TheoryError as e:
        raise NumericsError(f"{prefix}{e}") from None
