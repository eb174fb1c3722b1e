"""Claim data as plain JSON: what a :class:`checks.Result` may hold, normalised so a result equals its reloaded copy."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .._errors import ChecksError, bad


def jsonable(value: Any) -> Any:
    """Convert ``value`` to plain JSON data (dict with str keys, list, str, int, finite float, bool, None).

    Fractions become their exact string ``'p/q'``, numpy scalars and arrays become Python numbers and lists,
    tuples and sets become lists, paths become strings, non-finite floats become ``'nan'``/``'inf'``/``'-inf'``
    (strict JSON has no such numbers; they are reported, never silently dropped).

    Raises:
        ChecksError: for any other type (the report would not be machine-readable).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else repr(v)
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=repr)
    raise bad("value", value, "JSON-able data: dict, list, str, int, float, bool, None, Fraction, numpy scalar/array")


def normalise(value: Any, name: str) -> Any:
    """jsonable + a strict JSON round trip, so a Result equals its own reloaded copy."""
    try:
        return json.loads(json.dumps(jsonable(value), allow_nan=False))
    except ChecksError as e:
        raise ChecksError(f"Result.{name}: {e}") from None


def leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """The leaves of plain JSON data with their paths (``a.b[2].c``), in order."""
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in leaves(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in leaves(v, f"{path}[{i}]")]
    return [(path or "value", value)]
