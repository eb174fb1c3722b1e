"""Symbolic evaluation: a network's output as sympy expressions in the input symbols."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import sympy as sp

from .._errors import TheoryError, bad
from ._exact import forward_objects
from ._network import Network, check_positive_int


def input_symbols(net: Network) -> list[sp.Symbol]:
    """Real symbols of the inputs: ``x0 ... x{d-1}`` (one channel), ``x0 ... x{c_in-1}`` (one position, e.g. a
    head on routed coordinates) or ``x{c}_{p}`` (several channels and positions)."""
    if net.d == 1:
        return [sp.Symbol(f"x{c}", real=True) for c in range(net.c_in)]
    if net.c_in == 1:
        return [sp.Symbol(f"x{p}", real=True) for p in range(net.d)]
    return [sp.Symbol(f"x{c}_{p}", real=True) for p in range(net.d) for c in range(net.c_in)]


def input_name(net: Network, unit: int) -> str:
    """Name of input unit ``p * c_in + c``: ``x{p}`` (one channel), ``x{c}`` (one position, a head) or
    ``x{c}_{p}``; the same names as :func:`input_symbols`."""
    p, c = divmod(int(unit), net.c_in)
    if net.d == 1:
        return f"x{c}"
    if net.c_in == 1:
        return f"x{p}"
    return f"x{c}_{p}"


_INPUT_NAME = re.compile(r"x(0|[1-9][0-9]*)(?:_(0|[1-9][0-9]*))?\Z")  # no leading zeros, as the parser


def input_names_text(net: Network) -> str:
    """The input names of ``net`` in words, for error messages: ``x0..x3`` or ``x{c}_{p}, c < 2, p < 8``."""
    if net.d == 1:
        return f"x0..x{net.c_in - 1}"
    if net.c_in == 1:
        return f"x0..x{net.d - 1}"
    return f"x{{c}}_{{p}}, c < {net.c_in}, p < {net.d}"


def input_unit(net: Network, name: str, arg: str = "target") -> int:
    """Input unit ``p * c_in + c`` named by ``name``: the inverse of :func:`input_name`, with aliases.

    Besides the network's own names (:func:`input_symbols`), the two-index form ``x{c}_{p}`` is read as
    channel ``c`` at position ``p`` on every network: ``x0_5`` is ``x5`` of a one-channel network, ``x2_0`` is
    ``x2`` of a one-position network (a head). ``input_name(net, input_unit(net, n))`` is the canonical name.
    A one-index name ``x{i}`` on a network with several channels and positions is not an input (it would be
    ambiguous).

    Raises:
        TheoryError: ``name`` is not an input of ``net`` (the message names ``arg``, ``d``, ``c_in`` and the
            input names).
    """
    m = _INPUT_NAME.match(str(name))
    if m is not None:
        a, b = int(m.group(1)), m.group(2)
        if b is None:
            if net.d == 1 and a < net.c_in:
                return a
            if net.c_in == 1 and a < net.d:
                return a
        elif a < net.c_in and int(b) < net.d:
            return int(b) * net.c_in + a
    shown = str(name) if len(str(name)) <= 40 else str(name)[:37] + "..."
    raise TheoryError(
        f"argument {arg!r}: {shown} is not an input of this network "
        f"(d={net.d}, c_in={net.c_in}: inputs {input_names_text(net)})"
    )


def _expr(v: object) -> sp.Expr:
    """An internal value of the symbolic forward pass as a sympy object (never text: no parsing)."""
    if isinstance(v, sp.Basic):
        return v
    if isinstance(v, (int, np.integer)):
        return sp.Integer(int(v))
    if isinstance(v, Fraction):
        return sp.Rational(v.numerator, v.denominator)
    raise TheoryError(f"internal: symbolic evaluation produced {type(v).__name__}")


def _relu(values: np.ndarray) -> np.ndarray:
    out = np.empty(values.size, dtype=object)
    # relu(e) = e when sympy knows e >= 0 (sums of relus with nonnegative coefficients): keeps outputs small.
    out[:] = [v if _expr(v).is_nonnegative else sp.Max(0, v) for v in values]
    return out


def _rational(q: Fraction) -> sp.Rational:
    return sp.Rational(q.numerator, q.denominator)


def symbolic(net: Network, *, simplify: bool = False, max_inputs: int = 4096) -> tuple[sp.Expr, ...]:
    """The output of ``net`` as exact sympy expressions in real symbols ``x0, x1, ...``.

    ReLU becomes ``Max(0, e)`` (dropped where sympy proves ``e >= 0``). Only the output's cone is built.
    With ``simplify=True`` each output is rewritten through ``Piecewise`` and simplified, which turns the
    routing identity ``Max(0, x) - Max(0, -x)`` into ``x``: ``symbolic(select(8, [0, 7]), simplify=True)``
    is ``(x0, x7)``.

    Args:
        net: the spec.
        simplify: apply ``sympy.simplify(e.rewrite(Piecewise))`` to every output (slow for big outputs).
        max_inputs: refuse networks with more than this many input units (the expressions grow with d).
    Returns:
        ``n_D * C_D`` expressions, flattened position-major like :func:`evaluate_exact`.
    """
    if not isinstance(net, Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    max_inputs = check_positive_int("max_inputs", max_inputs)
    if net.d * net.c_in > max_inputs:
        raise bad(
            "net",
            f"{net.d * net.c_in} input units",
            f"at most max_inputs = {max_inputs} (symbolic output is for small d)",
        )
    xs = np.empty(net.d * net.c_in, dtype=object)
    xs[:] = input_symbols(net)
    outs = forward_objects(net, xs, _relu, _rational)
    exprs = tuple(_expr(e) for e in outs)
    if simplify:
        exprs = tuple(sp.simplify(e.rewrite(sp.Piecewise)) for e in exprs)
    return exprs
