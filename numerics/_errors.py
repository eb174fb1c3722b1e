"""The error type of the ``numerics`` package (a thin subclass of the project's ``CnnverifyError``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import theory
from theory.cli import CnnverifyError


class NumericsError(CnnverifyError):
    """Bad input to a ``numerics`` function: names the argument, the value given and what is allowed."""


bad = NumericsError.bad


@contextmanager
def theory_errors(prefix: str = "") -> Iterator[None]:
    """Re-raise a :class:`theory.TheoryError` from the block as this package's error (same message, after
    ``prefix``): a ``numerics`` function that delegates to ``theory`` raises only :class:`NumericsError`."""
    try:
        yield
    except theory.TheoryError as e:
        raise NumericsError(f"{prefix}{e}") from None
