"""theory.formula: the one safe parser of formula text (targets, bounds), and what formulas may contain.

Every formula string the toolkit accepts (command lines, API arguments, spec-file ``meta``) goes through
:func:`parse_formula`, a whitelist over Python's ``ast`` that builds sympy objects node by node and never
evaluates the text. sympy expressions passed by Python callers are used as they are.

* the parser: :func:`parse_formula` and its size guards :data:`LIMITS` (:class:`Limits`);
* the table: :data:`FUNCTIONS` (name -> :class:`FormulaFunction`, with arity), :data:`FUNCTION_CLASSES`
  (the sympy classes a parsed formula may contain: what every evaluator supports), :data:`CONSTANTS`
  (``pi``, ``E``), variable kinds :data:`VARIABLES` (:class:`VariableKind`);
* sizes before expansion: :func:`expanded_terms` (bounded by :data:`MAX_EXPANDED_TERMS`), :func:`structural_degree`.
"""

from ._functions import (
    CONSTANTS,
    FUNCTION_CLASSES,
    FUNCTIONS,
    VARIABLES,
    FormulaFunction,
    VariableKind,
)
from ._grammar import LIMITS, Limits, parse_formula
from ._size import MAX_EXPANDED_TERMS, expanded_terms, structural_degree

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "FUNCTION_CLASSES",
    "LIMITS",
    "MAX_EXPANDED_TERMS",
    "VARIABLES",
    "FormulaFunction",
    "Limits",
    "VariableKind",
    "parse_formula",
    "expanded_terms",
    "structural_degree",
]
