"""ONNX node attributes read as data: int lists of the right length and sign, float scales with exact values.

A malformed-but-legal attribute (``strides=[0]``, three pads for a 1-D convolution, ``alpha=inf``) is a clear
error naming the node and the attribute, never a ZeroDivisionError, an unpacking error or an OverflowError later.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import theory

from .._errors import bad, theory_errors


def attributes(onnx: Any, node: Any) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def int_list(a: dict[str, Any], key: str, default: list[int], least: int, where: str) -> list[int]:
    """The int list attribute ``key`` (``default`` when absent): as many entries as ``default``, each ``>= least``."""
    v = a.get(key, default)
    if not isinstance(v, (list, tuple)) or len(v) != len(default) or not all(type(x) is int and x >= least for x in v):
        raise bad(where, f"{key} = {v!r}", f"{len(default)} ints >= {least}")
    return list(v)


def exact_scale(a: dict[str, Any], key: str, where: str) -> Fraction:
    """A float attribute (Gemm's ``alpha``, ``beta``) as an exact rational; nan or inf is refused."""
    with theory_errors(f"{where}: "):
        return theory.as_rational(a.get(key, 1.0), key)
