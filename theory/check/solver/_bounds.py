"""Re-checking a z3 head bound (``z3-nra``): ``sup_box |net(x) - g(x)| <= eps`` for a polynomial ``g``.

The checker regenerates the prover's queries from the network and the claim (domain, target, eps in the
certificate's assumptions, the strategy in its details), each the negation of the bound on one part:

* ``pieces`` (one input): the network's exact linear pieces ``a x + b`` on ``[u, v]``, which the checker computes
  itself (:func:`linear_pieces`); the query is ``u <= x <= v and |a x + b - g(x)| > eps``;
* ``smt`` / ``nlsat``: for each of the ``splits^k`` equal sub-boxes, the cone's ReLU definitions
  (:func:`~._lemmas.encode_cone`), the sub-box and ``|net(x) - g(x)| > eps``.

A refutation's witness is re-evaluated exactly (the network by :class:`~theory.check._net.ConeNet`, ``g`` by
sympy on rationals).
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import sympy as sp

from ...formula import parse_formula
from ...spec import Network
from .._balls import frac as _fraction
from .._balls import rational
from .._net import ConeNet
from .._tree import Rejected
from ._lemmas import Terms, encode_cone

MAX_PIECES = 1 << 16
"""Most linear pieces the checker computes for a one-input network."""


def polynomial(T: Terms, e: sp.Expr) -> Any:
    """A polynomial sympy expression (Add, Mul, Pow to a nonnegative integer, rationals, x0..) as a cvc5 term."""
    if isinstance(e, sp.Rational):
        return T.tm.mkReal(int(e.p), int(e.q))
    if isinstance(e, sp.Symbol):
        return T.var(e.name)
    if isinstance(e, (sp.Add, sp.Mul)):
        return T.op("ADD" if isinstance(e, sp.Add) else "MULT", *[polynomial(T, a) for a in e.args])
    if isinstance(e, sp.Pow) and isinstance(e.exp, sp.Integer) and 0 <= int(e.exp) <= 64:
        n, base = int(e.exp), polynomial(T, e.base)
        return T.tm.mkReal(1) if n == 0 else (base if n == 1 else T.op("MULT", *[base] * n))
    raise Rejected("claim", f"the target is not a polynomial: {type(e).__name__} in {e}")


def linear_pieces(net: Network, lo: Fraction, hi: Fraction) -> list[tuple[Fraction, Fraction, Fraction, Fraction]]:
    """The linear pieces ``(u, v, a, b)`` of a one-input network on ``[lo, hi]``: ``net(x) = a x + b`` on ``[u, v]``.

    Each unit is kept by its exact values at the breakpoints; a ReLU whose pre-activation changes sign strictly
    inside a segment adds the crossing as a breakpoint (every unit interpolated there), layer by layer."""
    cone = ConeNet(net)
    xs = [lo, hi]
    vals = [list(xs) for _ in cone.inputs]
    for dst, src, w, b, relu in cone.layers:
        pre = [[bias] * len(xs) for bias in b]
        for r, c, wv in zip(dst.tolist(), src.tolist(), w):
            pre[r] = [p + wv * v for p, v in zip(pre[r], vals[c])]
        if relu.any():
            cuts = sorted(
                {
                    xs[i] + (xs[i + 1] - xs[i]) * z[i] / (z[i] - z[i + 1])
                    for z in pre
                    for i in range(len(xs) - 1)
                    if z[i] * z[i + 1] < 0
                }
            )
            if len(xs) + len(cuts) > MAX_PIECES:
                raise Rejected("unsupported", f"more than {MAX_PIECES} linear pieces")
            new = sorted(set(xs) | set(cuts))
            pre = [_interpolate(xs, z, new) for z in pre]
            xs = new
            pre = [[max(v, Fraction(0)) for v in z] if on else z for z, on in zip(pre, relu.tolist())]
        vals = pre
    out = vals[0]
    slopes = [(out[i + 1] - out[i]) / (xs[i + 1] - xs[i]) for i in range(len(xs) - 1)]
    return [(xs[i], xs[i + 1], a, out[i] - a * xs[i]) for i, a in enumerate(slopes)]


def _interpolate(xs: list[Fraction], z: list[Fraction], at: list[Fraction]) -> list[Fraction]:
    """The piecewise-linear function through ``(xs, z)`` at the sorted points ``at`` (each in ``[xs0, xs-1]``)."""
    out, i = [], 0
    for x in at:
        while i + 1 < len(xs) - 1 and xs[i + 1] < x:
            i += 1
        t = (x - xs[i]) / (xs[i + 1] - xs[i])
        out.append(z[i] + t * (z[i + 1] - z[i]))
    return out


def claim_of(cert: Any, net: Network) -> tuple[sp.Expr, list[tuple[Fraction, Fraction]], Fraction]:
    """``(g, box, eps)`` from the certificate's assumptions, read as data."""
    a = cert.assumptions
    try:
        g = parse_formula(a["target"], variables="head", name="target")
        box = [(_fraction(rational(lo)), _fraction(rational(hi))) for lo, hi in a["domain"]]
    except Exception as e:  # missing keys, a formula outside the grammar, a malformed bound
        raise Rejected("claim", f"the certificate's target or domain does not read: {e}") from None
    names = {f"x{j}" for j in range(net.c_in)}
    if len(box) != net.c_in or not {str(s) for s in g.free_symbols} <= names or cert.eps is None:
        raise Rejected("claim", f"the claim is not about this head's inputs {sorted(names)} with an eps")
    return g, box, Fraction(cert.eps)


def bound_queries(T: Terms, net: Network, g: sp.Expr, box: list, eps: Fraction, strategy: Any, splits: Any) -> list:
    """The checker's own queries, in the prover's order (pieces left to right; sub-boxes in product order)."""
    e, poly = T.tm.mkReal(eps.numerator, eps.denominator), polynomial(T, g)
    num = lambda q: T.tm.mkReal(q.numerator, q.denominator)  # noqa: E731
    far = lambda err: T.op("OR", T.op("GT", err, e), T.op("LT", err, T.op("NEG", e)))  # noqa: E731
    xs = [T.var(f"x{j}") for j in range(net.c_in)]
    if strategy == "pieces" and net.c_in == 1:
        x = xs[0]
        return [
            T.op("AND", T.op("GEQ", x, num(u)), T.op("LEQ", x, num(v)), far(T.op("SUB", T.affine([(a, x)], b), poly)))
            for u, v, a, b in linear_pieces(net, *box[0])
        ]
    if strategy not in ("smt", "nlsat") or type(splits) is not int or not 1 <= splits <= 64:
        raise Rejected("claim", f"an unknown strategy {strategy!r} with splits {splits!r}")
    defs, (out,) = encode_cone(T, net)
    err = T.op("SUB", out, poly)
    axes = [
        [(lo + (hi - lo) * Fraction(i, splits), lo + (hi - lo) * Fraction(i + 1, splits)) for i in range(splits)]
        for lo, hi in box
    ]
    queries = []
    for sub in itertools.product(*axes):
        inside = [T.op(op, x, num(q)) for x, (lo, hi) in zip(xs, sub) for op, q in (("GEQ", lo), ("LEQ", hi))]
        queries.append(T.op("AND", *defs, *inside, far(err)))
    return queries
