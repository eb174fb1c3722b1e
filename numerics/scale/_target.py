"""Targets and boxes for checks at scale: parsing, float evaluation in torch, rigorous evaluation with mpmath.

A target names input coordinates like :func:`theory.input_symbols`: ``x{p}`` for one input channel,
``x{c}`` for a one-position network (a head), ``x{c}_{p}`` otherwise; names map to coordinates through
:func:`theory.input_unit` (aliases such as ``x0_5`` for ``x5`` of a one-channel network are renamed to the
network's own names). Coordinate ``u = p * c_in + c`` is the input unit of :meth:`theory.Layer.edges`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp
import torch

import theory

from .._errors import NumericsError, bad, theory_errors
from ._paths import cone

_TORCH = {
    sp.sin: torch.sin,
    sp.cos: torch.cos,
    sp.tan: torch.tan,
    sp.exp: torch.exp,
    sp.log: torch.log,
    sp.Abs: torch.abs,
    sp.tanh: torch.tanh,
    sp.sinh: torch.sinh,
    sp.cosh: torch.cosh,
    sp.atan: torch.atan,
}
_TORCH_FOLD = {sp.Min: torch.minimum, sp.Max: torch.maximum}
"""Torch versions of every function of ``theory.formula.FUNCTION_CLASSES`` (``sqrt`` is a power)."""
RIGOROUS_BITS = 128  # mpmath interval precision for the target at witness points


def coordinate_unit(net: theory.Network, name: str, arg: str) -> int:
    """Input unit of a symbol name by :func:`theory.input_unit` (the one mapping of names to inputs, aliases
    such as ``x0_5`` for ``x5`` of a one-channel network included); NumericsError naming ``arg`` when the name
    is not an input of ``net``."""
    with theory_errors():
        return theory.input_unit(net, name, arg)


def _parse_target(expr: Any, arg: str) -> sp.Expr:
    """A target as a sympy expression: text through :func:`theory.parse_formula` (never executed), sympy
    expressions as they are."""
    if isinstance(expr, sp.Expr):
        return expr
    if not isinstance(expr, str):
        raise bad(arg, expr, "a formula string such as 'x5*x4000' or a sympy expression")
    with theory_errors():
        return theory.parse_formula(expr, variables="inputs", name=arg)


def exact_constant(value: Any, arg: str) -> sp.Expr:
    """A constant (a bound from a spec's meta): text through :func:`theory.parse_formula` with no variables,
    sympy numbers as they are, ints and Fractions exactly.

    Raises:
        NumericsError: anything else, or text that is not a constant formula.
    """
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, (int, Fraction)) and not isinstance(value, bool):
        return sp.Rational(value.numerator, value.denominator)
    if not isinstance(value, str):
        raise bad(arg, value, "a constant formula such as '1/4096' or a sympy number")
    with theory_errors():
        return theory.parse_formula(value, variables="none", name=arg)


def _split_outputs(text: str) -> list[str]:
    """``"x0, Min(x1, x2)"`` -> ``["x0", " Min(x1, x2)"]``: one formula per output, split at the commas outside
    parentheses (the commas of ``Min`` / ``Max`` stay)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch in "([{") - (ch in ")]}")
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]]


@dataclass(frozen=True)
class Target:
    """The function the network's outputs are compared with, and the box the inputs range over.

    Attributes:
        exprs: one sympy expression per network output, in real symbols named as :func:`theory.input_name`.
        units: sorted input units the error depends on: the outputs' receptive field and the targets' symbols.
        box: ``(lo, hi)`` exact rationals per entry of ``units``.
        default: ``(lo, hi)`` for every other input unit (they do not change the error).
    """

    exprs: tuple[sp.Expr, ...]
    units: tuple[int, ...]
    box: tuple[tuple[Fraction, Fraction], ...]
    default: tuple[Fraction, Fraction]
    names: tuple[str, ...]

    def torch_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """``f(cols) -> (B, n_out)``: the targets on columns ``cols (B, len(units))`` in the dtype of ``cols``."""
        index = {n: j for j, n in enumerate(self.names)}
        fns = [_to_torch(e, index) for e in self.exprs]
        return lambda cols: torch.stack([f(cols).expand(cols.shape[0]) for f in fns], dim=1)

    def enclose(self, values: Sequence[Fraction]) -> list[tuple[Fraction, Fraction]]:
        """Rigorous enclosures ``[lo, hi]`` of every target at the exact point ``values`` (aligned with ``units``).

        Rational targets are evaluated exactly (``lo == hi``); others in mpmath interval arithmetic at
        :data:`RIGOROUS_BITS` bits. Raises NumericsError when a target is undefined at the point.
        """
        point = {sp.Symbol(n, real=True): v for n, v in zip(self.names, values)}
        out = []
        for e in self.exprs:
            with theory_errors():
                out.append(theory.enclose_target(e, point, RIGOROUS_BITS))
        return out


def _to_torch(e: sp.Basic, index: Mapping[str, int]) -> Callable[[torch.Tensor], torch.Tensor]:
    if e.is_Symbol:
        j = index[e.name]
        return lambda c: c[:, j]
    if e.is_Number or e.is_NumberSymbol:
        v = float(e)
        return lambda c: torch.full((1,), v, dtype=c.dtype, device=c.device)
    if e.is_Add or e.is_Mul:
        parts = [_to_torch(a, index) for a in e.args]
        if e.is_Add:
            return lambda c: sum((p(c) for p in parts[1:]), parts[0](c))

        def mul(c: torch.Tensor) -> torch.Tensor:
            out = parts[0](c)
            for p in parts[1:]:
                out = out * p(c)
            return out

        return mul
    if e.is_Pow:
        base, ex = _to_torch(e.args[0], index), e.args[1]
        if ex.is_Integer:
            n = int(ex)
            return lambda c: base(c) ** n
        if ex == sp.Rational(1, 2):
            return lambda c: torch.sqrt(base(c))
        expo = _to_torch(ex, index)
        return lambda c: torch.pow(base(c), expo(c))
    if isinstance(e, sp.Function) and e.func in _TORCH and len(e.args) == 1:
        fn, arg = _TORCH[e.func], _to_torch(e.args[0], index)
        return lambda c: fn(arg(c))
    if e.func in _TORCH_FOLD and e.args:
        fold, parts = _TORCH_FOLD[e.func], [_to_torch(a, index) for a in e.args]

        def extreme(c: torch.Tensor) -> torch.Tensor:
            out = parts[0](c)
            for p in parts[1:]:
                out = fold(out, p(c))
            return out

        return extreme
    raise NumericsError(
        f"argument 'target': {type(e).__name__} ({e}) is not supported (use + * powers sqrt sin "
        "cos tan exp log Abs sinh cosh tanh atan Min Max pi E)"
    )


def _pair(value: Any, arg: str) -> tuple[Fraction, Fraction]:
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise bad(arg, value, "an interval (lo, hi) of finite numbers with lo < hi") from None
    try:
        lo, hi = theory.as_rational(lo, arg), theory.as_rational(hi, arg)
    except theory.TheoryError:
        raise bad(arg, value, "an interval (lo, hi) of finite numbers with lo < hi") from None
    if not lo < hi:
        raise bad(arg, value, "an interval (lo, hi) with lo < hi")
    return lo, hi


def make_target(net: theory.Network, target: Any = None, box: Any = None) -> Target:
    """Parse ``target`` and ``box`` for ``net`` (defaults: ``net.meta['target']`` and ``net.meta['box']``).

    Args:
        net: the spec; its outputs are compared with the targets.
        target: one formula per output: a string (comma-separated for several outputs, e.g. ``"x0, x700"``),
            a sympy expression, or a sequence of them.
        box: ``(lo, hi)`` for every coordinate, or a mapping ``{symbol: (lo, hi)}`` covering every coordinate
            the error depends on (other coordinates take the hull of the given intervals).
    Raises:
        NumericsError: missing or unparsable target, wrong count, unknown symbols, malformed box.
    """
    target = net.meta.get("target") if target is None else target
    if target is None:
        raise bad("target", None, "a formula per output (the net's meta has no 'target')")
    box = net.meta.get("box") if box is None else box
    if box is None:
        raise bad("box", None, "(lo, hi) or {symbol: (lo, hi)} (the net's meta has no 'box')")
    if isinstance(target, str):
        target = _split_outputs(target)
    elif isinstance(target, sp.Expr):
        target = [target]
    elif not isinstance(target, Sequence):
        raise bad("target", target, "a formula string, a sympy expression or a sequence of them")
    exprs = [_parse_target(t, "target") for t in target]
    if len(exprs) != net.n_outputs:
        raise bad("target", target, f"{net.n_outputs} formula(s), one per output of the network")
    units: set[int] = set()
    renamed = []
    for e in exprs:  # every symbol in the network's own input name (an alias such as x0_5 becomes x5)
        found = {s: coordinate_unit(net, s.name, "target") for s in e.free_symbols}
        units.update(found.values())
        renamed.append(e.xreplace({s: sp.Symbol(theory.input_name(net, u), real=True) for s, u in found.items()}))
    exprs = renamed
    units.update(int(u) for u in cone(net)[0][0])
    units_t = tuple(sorted(units))
    per, default = make_box(net, box, units_t)
    return Target(tuple(exprs), units_t, per, default, tuple(theory.input_name(net, u) for u in units_t))


def make_box(
    net: theory.Network, box: Any, units: Sequence[int] | np.ndarray
) -> tuple[tuple[tuple[Fraction, Fraction], ...], tuple[Fraction, Fraction]]:
    """``(per-unit intervals for units, interval for all other units)`` from ``(lo, hi)`` or ``{symbol: (lo, hi)}``.

    Raises:
        NumericsError: a malformed interval (not two finite numbers with lo < hi), an unknown symbol, or a
            mapping that misses one of ``units``.
    """
    if isinstance(box, Mapping):
        if not box:
            raise bad("box", box, "(lo, hi) or a non-empty {symbol: (lo, hi)} mapping")
        given = {}
        for k, v in box.items():
            u = coordinate_unit(net, str(k), "box")
            if u in given:
                raise bad("box", dict(box), f"each coordinate once ({k} names {theory.input_name(net, u)} again)")
            given[u] = _pair(v, "box")
        missing = [theory.input_name(net, u) for u in units if u not in given]
        if missing:
            raise bad("box", dict(box), f"an interval for every coordinate the error depends on; missing {missing[:8]}")
        default = (min(lo for lo, _ in given.values()), max(hi for _, hi in given.values()))
        return tuple(given[u] for u in units), default
    if isinstance(box, (str, bytes)):
        raise bad("box", box, "(lo, hi) or {symbol: (lo, hi)}")
    default = _pair(box, "box")
    return tuple(default for _ in units), default
