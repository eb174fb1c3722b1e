"""A certificate's SMT-LIB query read as data: a whitelisted reader into cvc5 terms (no command is executed).

A z3 certificate keeps each query it proved as SMT-LIB 2 text. The checker never hands that text to a solver's
parser (whose commands could set options, write files or exit); :func:`read_query` tokenizes it itself, accepts
only ``set-info``, ``declare-fun`` / ``declare-const`` of a ``Real`` or ``Int`` constant, ``assert`` and one final
``check-sat``, and builds the conjunction of the assertions as a cvc5 term over the arithmetic whitelist of
:data:`KINDS`. The term is then compared with the checker's own query (:func:`equivalent`), never solved as given.
"""

from __future__ import annotations

import re
from typing import Any

from .._tree import Rejected

MAX_TEXT = 20_000_000
"""Most characters of one query the reader accepts."""
MAX_DEPTH = 200
"""Deepest nesting of a term (z3 writes shared subterms as ``let`` bindings, so real queries stay shallow)."""
KINDS = {
    "+": "ADD", "-": "SUB", "*": "MULT", "/": "DIVISION", "div": "INTS_DIVISION", "mod": "INTS_MODULUS",
    "ite": "ITE", ">": "GT", ">=": "GEQ", "<": "LT", "<=": "LEQ", "=": "EQUAL", "distinct": "DISTINCT",
    "and": "AND", "or": "OR", "not": "NOT", "=>": "IMPLIES", "to_real": "TO_REAL",
}  # fmt: skip
_TOKEN = re.compile(r"\s+|;[^\n]*|\(|\)|\|[^|\\]{1,200}\||[^\s()|;]{1,200}")
_DECIMAL = re.compile(r"[0-9]{1,400}(\.[0-9]{1,400})?")


def _parse(text: str) -> list[Any]:
    """The top-level s-expressions of ``text`` as nested lists of tokens (iteratively: no recursion)."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise Rejected("queries", f"a query is not text of at most {MAX_TEXT} characters")
    stack: list[list[Any]] = [[]]
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise Rejected("queries", f"unreadable SMT-LIB at character {pos}: {text[pos : pos + 20]!r}")
        tok, pos = m.group(), m.end()
        if tok[0].isspace() or tok[0] == ";":
            continue
        if tok == "(":
            if len(stack) > MAX_DEPTH:
                raise Rejected("queries", f"SMT-LIB nested deeper than {MAX_DEPTH}")
            stack.append([])
        elif tok == ")":
            if len(stack) == 1:
                raise Rejected("queries", "an unbalanced ')' in a query")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(tok.strip("|"))
    if len(stack) != 1:
        raise Rejected("queries", "an unbalanced '(' in a query")
    return stack[0]


def read_query(text: str, T: Any) -> Any:
    """The conjunction of a query's assertions as a cvc5 term, its constants those of the builder ``T``
    (:class:`~._lemmas.Terms`: one constant per name and sort). Raises Rejected naming the first command, symbol
    or operator outside the whitelist."""
    import cvc5

    tm, consts = T.tm, {}  # the names this query declares
    asserted: list[Any] = []
    checks = 0
    for cmd in _parse(text):
        head = cmd[0] if isinstance(cmd, list) and cmd and isinstance(cmd[0], str) else None
        if head == "set-info":
            continue
        if head in ("declare-fun", "declare-const"):
            shape = cmd[1:] if head == "declare-const" else (cmd[1:] if cmd[2:3] == [[]] else None)
            name, sort = (shape[0], shape[-1]) if shape and len(shape) in (2, 3) else (None, None)
            if not isinstance(name, str) or sort not in ("Real", "Int") or name in consts:
                raise Rejected("queries", f"a declaration outside the whitelist: {str(cmd)[:80]}")
            consts[name] = T.var(name, sort == "Int")
        elif head == "assert" and len(cmd) == 2:
            asserted.append(_term(cmd[1], consts, {}, tm, cvc5.Kind, 0))
        elif head == "check-sat" and len(cmd) == 1:
            checks += 1
        else:
            raise Rejected("queries", f"a command outside the whitelist: {str(cmd)[:80]}")
    if checks != 1 or not asserted:
        raise Rejected("queries", f"a query has {len(asserted)} assertions and {checks} check-sat (one expected)")
    return asserted[0] if len(asserted) == 1 else tm.mkTerm(cvc5.Kind.AND, *asserted)


def _term(e: Any, consts: dict[str, Any], bound: dict[str, Any], tm: Any, kind: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise Rejected("queries", f"a term nested deeper than {MAX_DEPTH}")
    while isinstance(e, list) and len(e) == 3 and e[0] == "let" and isinstance(e[1], list):
        if not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in e[1]):
            raise Rejected("queries", f"a malformed let binding: {str(e[1])[:80]}")
        # SMT-LIB binds in parallel: every right-hand side reads the enclosing scope
        bound = {**bound, **{p[0]: _term(p[1], consts, bound, tm, kind, depth + 1) for p in e[1]}}
        e = e[2]
    if isinstance(e, str):
        if e in bound:
            return bound[e]
        if e in consts:
            return consts[e]
        if e in ("true", "false"):
            return tm.mkBoolean(e == "true")
        if _DECIMAL.fullmatch(e):
            return tm.mkReal(e) if "." in e else tm.mkInteger(e)
        raise Rejected("queries", f"an unknown symbol {e[:40]!r}")
    if not e or not isinstance(e[0], str) or e[0] not in KINDS:
        raise Rejected("queries", f"an operator outside the whitelist: {str(e)[:80]}")
    args = [_term(a, consts, bound, tm, kind, depth + 1) for a in e[1:]]
    if len(args) == 1 and e[0] in ("-", "+", "*", "and", "or"):  # z3 writes (or a) for a disjunction of one
        return tm.mkTerm(kind.NEG, args[0]) if e[0] == "-" else args[0]
    try:
        return tm.mkTerm(getattr(kind, KINDS[e[0]]), *args)
    except RuntimeError as err:  # cvc5's type check: wrong arity or sorts
        raise Rejected("queries", f"an ill-sorted term {str(e)[:80]}: {err}") from None
