"""The target ``g`` as ball functions: value, gradient and Hessian, compiled from the whitelisted formula.

:class:`BallTarget` walks the sympy tree of a parsed target (only the node kinds of the formula whitelist,
:data:`theory.formula.FUNCTIONS`) into a closure over arb balls; sympy differentiates it for the gradient and the
Hessian. A target with ``Abs``, ``Min`` or ``Max`` is not twice differentiable: it has value enclosures only
(:attr:`BallTarget.smooth` False) and the checker bounds with the natural form.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction

import sympy as sp
from flint import arb

from ._balls import ball

Fn = Callable[[Sequence[arb]], arb]

_UNARY: dict[type, Callable[[arb], arb]] = {
    sp.exp: arb.exp,
    sp.log: lambda a: a.log() if a > 0 else arb.nan(),
    sp.sin: arb.sin,
    sp.cos: arb.cos,
    sp.tan: arb.tan,
    sp.sinh: arb.sinh,
    sp.cosh: arb.cosh,
    sp.tanh: arb.tanh,
    sp.atan: arb.atan,
    sp.Abs: lambda a: abs(a),
}
_NONSMOOTH = (sp.Abs, sp.Min, sp.Max)


def _power(base: arb, q: Fraction) -> arb:
    if q.denominator == 1:
        return base ** int(q)
    if not base >= 0:  # a fractional power of a ball reaching below 0: undefined there
        return arb.nan()
    r = base.root(q.denominator) ** abs(q.numerator)
    return r if q > 0 else 1 / r


def compile_ball(expr: sp.Expr, names: Sequence[str]) -> Fn:
    """``expr`` (in the symbols ``names``) as a function of one ball per name. Raises ValueError on a node kind
    outside the whitelist."""
    index = {n: i for i, n in enumerate(names)}

    def build(e: sp.Basic) -> Fn:
        if isinstance(e, sp.Symbol):
            if e.name not in index:
                raise ValueError(f"the target's variable {e.name} is not among the certificate's variables")
            i = index[e.name]
            return lambda xs: xs[i]
        if isinstance(e, sp.Rational):
            c = ball(Fraction(int(e.p), int(e.q)))
            return lambda xs: c
        if e is sp.pi:
            return lambda xs: arb.pi()
        if e is sp.E:
            return lambda xs: arb.const_e()
        args = [build(a) for a in e.args]
        if isinstance(e, sp.Add):
            return lambda xs: sum((f(xs) for f in args[1:]), args[0](xs))
        if isinstance(e, sp.Mul):

            def mul(xs: Sequence[arb]) -> arb:
                out = args[0](xs)
                for f in args[1:]:
                    out = out * f(xs)
                return out

            return mul
        if isinstance(e, sp.Pow) and isinstance(e.exp, sp.Rational):
            q = Fraction(int(e.exp.p), int(e.exp.q))
            return lambda xs: _power(args[0](xs), q)
        if isinstance(e, (sp.Min, sp.Max)):
            pick = arb.min if isinstance(e, sp.Min) else arb.max

            def extreme(xs: Sequence[arb]) -> arb:
                out = args[0](xs)
                for f in args[1:]:
                    out = pick(out, f(xs))
                return out

            return extreme
        fn = _UNARY.get(type(e))
        if fn is not None and len(args) == 1:
            return lambda xs: fn(args[0](xs))
        raise ValueError(f"a target node the checker cannot enclose: {type(e).__name__}")

    return build(expr)


def _orderings(i: int, j: int, l: int) -> int:
    """How many ordered triples sort to ``(i, j, l)``: 1, 3 or 6."""
    return {1: 1, 2: 3, 3: 6}[len({i, j, l})]


class BallTarget:
    """``g``, its gradient and Hessian (when :attr:`smooth`) over balls, in the variables ``names``."""

    def __init__(self, expr: sp.Expr, names: Sequence[str]) -> None:
        self.k = len(names)
        self.value = compile_ball(expr, names)
        self.smooth = not expr.has(*_NONSMOOTH)
        self.grad: list[Fn] = []
        self.hess: list[list[Fn]] = []
        self.constant_hessian = False  # a quadratic target: its Taylor expansion of order 2 is exact
        self.constant_hess: list[list[arb]] | None = None
        self.third: list[tuple[Fn, int]] = []
        self.third_index: list[tuple[int, int, int]] = []
        if self.smooth:
            own = {str(s): s for s in expr.free_symbols}
            syms = [own.get(n, sp.Symbol(n, real=True)) for n in names]
            d1 = [sp.diff(expr, s) for s in syms]
            self.grad = [compile_ball(e, names) for e in d1]
            d2 = [[sp.diff(e, s) for s in syms] for e in d1]
            self.hess = [[compile_ball(e, names) for e in row] for row in d2]
            self.constant_hessian = all(e.is_Rational for row in d2 for e in row)
            # third derivatives for the remainder of order 3, once per sorted triple with its number of orderings
            self.third = [
                (compile_ball(sp.diff(d2[i][j], syms[l]), names), _orderings(i, j, l))
                for i in range(self.k)
                for j in range(i, self.k)
                for l in range(j, self.k)
                if not self.constant_hessian
            ]
            self.third_index = [(i, j, l) for i in range(self.k) for j in range(i, self.k) for l in range(j, self.k)]
            if self.constant_hessian:  # the lower triangle, once
                self.constant_hess = [[self.hess[i][j]([]) for j in range(i + 1)] for i in range(self.k)]
