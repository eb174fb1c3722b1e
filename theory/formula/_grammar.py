"""The one parser of formula text: a whitelist over Python's ``ast`` that builds sympy objects node by node.

Nothing in the text is evaluated: ``ast.parse(mode="eval")`` only parses, and each node is turned into a
sympy object by its own rule (never by ``sympify`` of text). Accepted: decimal literals (read exactly as
the decimal they denote: ``"0.1"`` is 1/10, ``"1e-3"`` is 1/1000), the variables of the caller's
:class:`~theory.formula.VariableKind`, the constants ``pi`` and ``E``, binary ``+ - * / **``, unary ``+ -``,
parentheses and calls of :data:`~theory.formula.FUNCTIONS` with positional arguments. Everything else is a
:class:`~theory.TheoryError` naming the offending piece of text.

Guards (:data:`LIMITS`): the text's length, the nesting depth, the digits of a literal and its decimal
exponent, exponents of ``**`` (constant rationals with ``|p| <=`` a limit, checked before sympy sees them), the
exponent of every power built (sympy merges nested powers: ``((x0**64)**64)**64`` is ``x0**262144``), and
the size of every exact number built, so ``x0**10**10``, ``9**9**9`` or nested powers are errors, not hangs.
"""

from __future__ import annotations

import ast
import re
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Any

import sympy as sp

from .._errors import TheoryError, bad
from ._functions import (
    CONSTANTS,
    FUNCTION_CLASSES,
    FUNCTIONS,
    VARIABLES,
    VariableKind,
    allowed_text,
)


@dataclass(frozen=True)
class Limits:
    """Sizes a formula may reach.

    Attributes:
        length: characters of the text.
        depth: nesting of operations (sums and products of many terms count once).
        digits: digits of one numeric literal.
        decimal_exponent: ``|e|`` of a literal's ``e`` notation.
        power: ``|p|`` of a constant exponent in ``a ** p`` as written, and the numerator and the denominator
            of every rational exponent of a power the formula builds (sympy merges ``(x**a)**b``, ``x**a * x**b``
            and ``sqrt(sqrt(x))`` into one power, whose exponent the written limit alone would not bound).
        number_bits: bits of the numerator and of the denominator of any exact number built.
        min_max_calls: calls of ``Min`` / ``Max`` (sympy simplifies nested ones in superlinear time).
    """

    length: int = 10_000
    depth: int = 100
    digits: int = 100
    decimal_exponent: int = 300
    power: int = 64
    number_bits: int = 1024
    min_max_calls: int = 32


LIMITS = Limits()

_DIGIT_RUN = re.compile(r"(?<![A-Za-z0-9_])[0-9][0-9_]*")
_DECIMAL = re.compile(r"(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?")
_NODE_WORDS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Slice: "a slice",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Set: "a set",
    ast.Dict: "a dict",
    ast.Compare: "a comparison",
    ast.BoolOp: "'and' / 'or'",
    ast.IfExp: "a conditional expression",
    ast.Lambda: "a lambda",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.NamedExpr: "an assignment expression",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Starred: "unpacking",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_OTHER_OPS = {
    ast.FloorDiv: "'//'",
    ast.Mod: "'%'",
    ast.MatMult: "'@'",
    ast.LShift: "'<<'",
    ast.RShift: "'>>'",
    ast.BitOr: "'|'",
    ast.BitAnd: "'&'",
    ast.BitXor: "'^' (exclusive or in Python; write ** for powers)",
    ast.Not: "'not'",
    ast.Invert: "'~'",
}
_NOT_FINITE = (sp.zoo, sp.oo, -sp.oo, sp.nan)


def _clip(text: str) -> str:
    out = repr(text)
    return out if len(out) <= 120 else out[:117] + "..."


def _known(e: sp.Basic) -> bool:
    """A node every evaluator supports: symbol, rational, pi, E, sum, product, power or a table function."""
    return bool(
        e.is_Symbol
        or e.is_Rational
        or e is sp.pi
        or e is sp.E
        or e.is_Add
        or e.is_Mul
        or e.is_Pow
        or type(e) in FUNCTION_CLASSES
    )


def power_beyond_limit(expr: sp.Basic) -> sp.Pow | None:
    """A power in ``expr`` whose rational exponent ``p/q`` has ``|p|`` or ``q`` above ``LIMITS.power``, or None.

    Sympy merges ``(x**a)**b``, ``x**a * x**b`` and ``exp(n*log(x))`` into one power, so a formula whose every
    written exponent is within the limit can still build ``x**(2**54)``; every evaluator loops or allocates in
    the size of such an exponent.
    """
    for p in expr.atoms(sp.Pow):
        q = p.exp
        if q.is_Rational and max(abs(int(q.p)), int(q.q)) > LIMITS.power:
            return p
    return None


class _Builder:
    """Turns the nodes of one parsed formula into sympy objects."""

    def __init__(self, text: str, kind: VariableKind, name: str) -> None:
        self.text, self.kind, self.name = text, kind, name
        self.allowed = allowed_text(kind)
        self.min_max = 0

    def refuse(self, piece: str | None, why: str) -> TheoryError:
        where = "" if piece is None or piece == self.text else f" in {_clip(self.text)}"
        what = _clip(self.text if piece is None else piece)
        return TheoryError(f"argument {self.name!r}: {what} is not allowed: {why}{where}; allowed: {self.allowed}")

    def piece(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or type(node).__name__

    def build(self, node: ast.AST, depth: int) -> sp.Expr:
        if depth > LIMITS.depth:
            raise self.refuse(self.piece(node), f"nested more than {LIMITS.depth} deep")
        out = self._node(node, depth)
        self._check(node, out)
        return out

    def _node(self, node: ast.AST, depth: int) -> sp.Expr:
        if isinstance(node, ast.Constant):
            return self._literal(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, (ast.UAdd, ast.USub)):
                inner = self.build(node.operand, depth + 1)
                return -inner if isinstance(node.op, ast.USub) else inner
            raise self.refuse(self.piece(node), f"the operator {_OTHER_OPS.get(type(node.op), '?')}")
        if isinstance(node, ast.BinOp):
            op = type(node.op)
            if op not in _BINOPS:
                raise self.refuse(self.piece(node), f"the operator {_OTHER_OPS.get(op, op.__name__)}")
            if op in (ast.Add, ast.Sub):
                return self._chain(node, (ast.Add, ast.Sub), depth)
            if op in (ast.Mult, ast.Div):
                return self._chain(node, (ast.Mult, ast.Div), depth)
            return self._power(node, depth)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        why = _NODE_WORDS.get(type(node), f"a {type(node).__name__} expression")
        raise self.refuse(self.piece(node), why)

    def _literal(self, node: ast.Constant) -> sp.Expr:
        v, text = node.value, self.piece(node)
        if isinstance(v, bool) or v is None or v is Ellipsis:
            raise self.refuse(text, f"the constant {v!r}")
        if isinstance(v, complex):
            raise self.refuse(text, "an imaginary number (formulas are real)")
        if isinstance(v, (str, bytes)):
            raise self.refuse(text, "a string")
        m = _DECIMAL.fullmatch(text.replace("_", ""))
        if not isinstance(v, (int, float)) or m is None:
            raise self.refuse(text, "a number not written in decimal")
        whole, frac, only, exp = m.groups()
        digits = (whole or "") + (frac or "") + (only or "")
        if len(digits) > LIMITS.digits:
            raise self.refuse(text, f"a number with more than {LIMITS.digits} digits")
        e = int(exp) if exp is not None else 0
        if abs(e) > LIMITS.decimal_exponent:
            raise self.refuse(text, f"a decimal exponent beyond +-{LIMITS.decimal_exponent}")
        scale = e - len(frac or only or "")
        q = sp.Integer(int(digits)) * sp.Rational(10) ** scale
        return q

    def _name(self, node: ast.Name) -> sp.Expr:
        n = node.id
        if n in CONSTANTS:
            return CONSTANTS[n]
        if n in FUNCTIONS:
            raise self.refuse(self.piece(node), f"the function {n} without a call (write {n}(...))")
        if self.kind.accepts(n):
            return sp.Symbol(n, real=True)
        raise self.refuse(self.piece(node), f"the unknown name {n!r}")

    def _chain(self, node: ast.expr, ops: tuple, depth: int) -> sp.Expr:
        """A left-associated run of ``+ -`` (or ``* /``) as one sum (product): its length adds no depth."""
        parts = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, ops):
            parts.append((isinstance(node.op, (ast.Sub, ast.Div)), node.right))
            node = node.left
        parts.append((False, node))
        built = []
        for inverse, operand in reversed(parts):
            e = self.build(operand, depth + 1)
            if ops[0] is ast.Add:
                built.append(-e if inverse else e)
            else:
                built.append(sp.Pow(e, -1) if inverse else e)
        return sp.Add(*built) if ops[0] is ast.Add else sp.Mul(*built)

    def _power(self, node: ast.BinOp, depth: int) -> sp.Expr:
        exponent = self.build(node.right, depth + 1)
        if exponent.free_symbols and self.kind.symbolic_exponents:
            return sp.Pow(self.build(node.left, depth + 1), exponent)
        if exponent.free_symbols:
            raise self.refuse(self.piece(node), "a variable exponent (write exp(y*log(x)) for x**y)")
        if not exponent.is_Rational:
            raise self.refuse(self.piece(node), "an exponent that is not a rational constant")
        if abs(exponent) > LIMITS.power:
            raise self.refuse(self.piece(node), f"an exponent beyond +-{LIMITS.power}")
        base = self.build(node.left, depth + 1)
        if base.is_Rational and exponent.is_Integer:
            bits = max(int(base.p).bit_length(), int(base.q).bit_length()) * abs(int(exponent))
            if bits > LIMITS.number_bits:
                raise self.refuse(self.piece(node), f"a number beyond 2^{LIMITS.number_bits}")
        return sp.Pow(base, exponent)

    def _call(self, node: ast.Call, depth: int) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            raise self.refuse(self.piece(node), "a call of something other than a named function")
        fn = FUNCTIONS.get(node.func.id)
        if fn is None:
            raise self.refuse(self.piece(node), f"a call of the unknown function {node.func.id!r}")
        if node.keywords:
            raise self.refuse(self.piece(node), f"keyword arguments ({fn.name} takes positional ones)")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.refuse(self.piece(node), "unpacking")
        if fn.max_args > 1:
            self.min_max += 1
            if self.min_max > LIMITS.min_max_calls:
                raise self.refuse(self.piece(node), f"more than {LIMITS.min_max_calls} calls of Min / Max")
        if not fn.min_args <= len(node.args) <= fn.max_args:
            raise self.refuse(
                self.piece(node), f"{fn.name} with {len(node.args)} arguments ({fn.name} takes {fn.arity()})"
            )
        return fn.build(*[self.build(a, depth + 1) for a in node.args])

    def _check(self, node: ast.AST, out: Any) -> None:
        """Every built node: a finite real sympy expression with numbers of bounded size."""
        if not isinstance(out, sp.Expr):
            raise self.refuse(self.piece(node), f"it builds {type(out).__name__}, not a scalar expression")
        if out.has(*_NOT_FINITE):
            raise self.refuse(self.piece(node), "it is not finite (a division by zero or a pole)")
        if out.has(sp.I) or (out.is_number and out.is_extended_real is False):
            raise self.refuse(self.piece(node), "it is not real (e.g. log or an even root of a negative number)")
        for q in out.atoms(sp.Rational):
            if max(int(q.p).bit_length(), int(q.q).bit_length()) > LIMITS.number_bits:
                raise self.refuse(self.piece(node), f"a number beyond 2^{LIMITS.number_bits}")
        big = power_beyond_limit(out)  # sympy merges powers: ((x**64)**64)**64 is x**262144, x**64*x is x**65
        if big is not None:
            raise self.refuse(
                self.piece(node),
                f"an exponent beyond +-{LIMITS.power} or a root beyond the "
                f"{LIMITS.power}th after sympy merges the powers: it builds {_clip(str(big))}",
            )
        unknown = {type(e).__name__ for e in sp.preorder_traversal(out) if not _known(e)}
        if unknown:  # sympy rewrote a whitelisted call into something no evaluator supports
            raise self.refuse(self.piece(node), f"it simplifies to the unsupported functions {sorted(unknown)}")


def parse_formula(text: Any, *, variables: str = "inputs", name: str = "formula") -> sp.Expr:
    """Parse formula text into a sympy expression, whitelisting every piece (nothing is executed).

    Args:
        text: the formula, e.g. ``"sin(3*x0)*x1 + 0.1"``.
        variables: which names are variables: a key of :data:`~theory.formula.VARIABLES` (``"inputs"``:
            ``x<i>`` or ``x<c>_<p>``; ``"head"``: ``x<i>``; ``"parameters"``: plain identifiers;
            ``"none"``: a constant). Variables become real sympy symbols.
        name: the argument name used in error messages (``"g"``, ``"target"``).
    Returns:
        A finite, real sympy expression. Decimals are exact (``"0.1"`` is ``Rational(1, 10)``); sympy's
        automatic simplification applies (``sqrt(4)`` is 2).
    Raises:
        TheoryError: ``text`` is not a string, is empty, too long or too deep, is not valid syntax, or
            contains anything outside the whitelist (the message names the piece and lists what is allowed);
            an exponent that is not a constant rational within ``+-LIMITS.power``; a literal or number beyond
            the size limits; a division by zero or a non-real constant (``log(-1)``, ``sqrt(-2)``).
    """
    kind = VARIABLES.get(variables) if isinstance(variables, str) else None
    if kind is None:
        raise bad("variables", variables, f"one of {sorted(VARIABLES)}")
    if not isinstance(text, str):
        raise bad(name, type(text).__name__, "a formula string")
    if len(text) > LIMITS.length:
        raise _Builder(text, kind, name).refuse(text, f"longer than {LIMITS.length} characters")
    text = text.strip()  # a leading space would be an indentation error
    builder = _Builder(text, kind, name)
    if not text:
        raise bad(name, text, "a non-empty formula such as 'sin(3*x0)*x1'")
    if not text.isascii():  # Python folds look-alikes (NFKC: 'x０' is x0): refused, the folded form shown
        odd = next(c for c in text if not c.isascii())
        raise builder.refuse(
            odd, f"a non-ASCII character (U+{ord(odd):04X}); did you mean {unicodedata.normalize('NFKC', text)!r}?"
        )
    for m in _DIGIT_RUN.finditer(text):
        if len(m.group().replace("_", "")) > LIMITS.digits:
            raise builder.refuse(m.group(), f"a number with more than {LIMITS.digits} digits")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for '1(2)': a parse, not a compile
            tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError) as e:  # ValueError: a null byte
        raise bad(
            name, text, f"a formula in valid syntax ({type(e).__name__}: {getattr(e, 'msg', e)}); {builder.allowed}"
        ) from None
    except (RecursionError, MemoryError):
        raise builder.refuse(text, "nested too deeply for the parser (e.g. a sum of thousands of terms)") from None
    try:
        return builder.build(tree.body, 0)
    except RecursionError:
        raise builder.refuse(text, "nested too deeply") from None
    except (TypeError, ValueError, ArithmeticError) as e:
        if isinstance(e, TheoryError):
            raise
        raise builder.refuse(text, f"sympy could not build it ({type(e).__name__}: {e})") from None
