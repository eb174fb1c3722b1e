"""The one table of what a formula may name: functions (with their arity), constants, variable kinds.

Every evaluator of targets agrees with :data:`FUNCTIONS`: the heads' exact / mpmath-interval evaluator
(:func:`theory.heads._target.evaluate_on`), the certifier's outward-rounded interval compiler
(:mod:`theory.certify._enclosure`) and the torch evaluator of :mod:`numerics.scale`; tests check each against
every row. ``sqrt`` builds a power ``x**(1/2)``; ``sinh``, ``cosh`` and ``tanh`` are evaluated through ``exp``
where an evaluator has no interval extension of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, cast

import sympy as sp


@dataclass(frozen=True)
class FormulaFunction:
    """A function a formula may call.

    Attributes:
        name: the name written in a formula (``"sin"``).
        build: the sympy constructor, called with the built arguments (``sympy.sin``).
        min_args, max_args: accepted number of positional arguments.
        kind: the sympy class of the built node, or None when it builds another node (``sqrt`` is a power).
    """

    name: str
    build: Callable[..., sp.Expr]
    min_args: int = 1
    max_args: int = 1
    kind: type | None = None

    def arity(self) -> str:
        """``"1 argument"`` or ``"2 to 8 arguments"``."""
        if self.min_args == self.max_args:
            return f"{self.min_args} argument" + ("s" if self.min_args != 1 else "")
        return f"{self.min_args} to {self.max_args} arguments"


MAX_MIN_MAX_ARGS = 8
"""Most arguments of ``Min`` / ``Max`` (sympy compares them pairwise)."""


def _row(name: str, fn: Callable[..., sp.Expr], lo: int = 1, hi: int = 1, kind: type | None = None) -> FormulaFunction:
    return FormulaFunction(name, fn, lo, hi, cast(type, fn) if kind is None else kind)


FUNCTIONS: Mapping[str, FormulaFunction] = MappingProxyType(
    {
        f.name: f
        for f in (
            _row("sin", sp.sin),
            _row("cos", sp.cos),
            _row("tan", sp.tan),
            _row("exp", sp.exp),
            _row("log", sp.log),
            FormulaFunction("sqrt", sp.sqrt, 1, 1, None),
            _row("sinh", sp.sinh),
            _row("cosh", sp.cosh),
            _row("tanh", sp.tanh),
            _row("atan", sp.atan),
            _row("Abs", sp.Abs),
            _row("abs", sp.Abs),
            _row("Min", sp.Min, 2, MAX_MIN_MAX_ARGS),
            _row("Max", sp.Max, 2, MAX_MIN_MAX_ARGS),
        )
    }
)
"""Name -> :class:`FormulaFunction`: the only functions a formula may call (positional arguments only)."""

FUNCTION_CLASSES: frozenset = frozenset(f.kind for f in FUNCTIONS.values() if f.kind is not None)
"""The sympy function classes a parsed formula may contain (what every evaluator must support)."""

CONSTANTS: Mapping[str, sp.Expr] = MappingProxyType({"pi": sp.pi, "E": sp.E})
"""Named constants: ``pi`` and Euler's number ``E``."""


@dataclass(frozen=True)
class VariableKind:
    """Which names a formula may use as variables.

    Attributes:
        pattern: regular expression a whole name must match (ASCII digits only, no leading zeros).
        describe: the names in words, for error messages.
        symbolic_exponents: exponents may contain variables (a bound's formula such as ``2**(-2*m - 2)``,
            symbolic in its parameters and never evaluated numerically); constant exponents keep their limit.
    """

    pattern: re.Pattern
    describe: str
    symbolic_exponents: bool = False

    def accepts(self, name: str) -> bool:
        """True when ``name`` is a variable of this kind (constants and function names never are)."""
        return name not in CONSTANTS and name not in FUNCTIONS and self.pattern.fullmatch(name) is not None


_INDEX = "(?:0|[1-9][0-9]*)"
VARIABLES: Mapping[str, VariableKind] = MappingProxyType(
    {
        "inputs": VariableKind(re.compile(f"x{_INDEX}(?:_{_INDEX})?"), "x<i> or x<c>_<p> (global input names)"),
        "head": VariableKind(re.compile(f"x{_INDEX}"), "x<i> (x0, x1, ...)"),
        "parameters": VariableKind(re.compile("[A-Za-z][A-Za-z0-9]*"), "parameter names such as m, n", True),
        "none": VariableKind(re.compile("(?!)"), "no variables (a constant)"),
    }
)
"""Variable kinds by name: ``"inputs"`` (a network's global input names, the certifier's and the checks'),
``"head"`` (a head's inputs ``x0 .. x{k-1}``), ``"parameters"`` (a bound's formula), ``"none"`` (a constant)."""


def allowed_text(kind: VariableKind) -> str:
    """What a formula may contain, in words (the ``allowed`` part of every error message)."""
    funcs = " ".join(FUNCTIONS)
    return f"numbers, {kind.describe}, pi, E, + - * / ** (constant exponent), unary + -, parentheses, calls of {funcs}"
