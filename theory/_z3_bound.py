"""Sup-norm error bounds of a head against a polynomial target, proved or refuted by z3 (nonlinear reals).

The question put to z3 is ``exists x in box: |net(x) - target(x)| > eps``. The network is piecewise linear
(ReLU units become variables with defining equations ``h = If(z > 0, z, 0)``), the target a polynomial with
rational coefficients, so the query is in the decidable theory of real closed fields: ``unsat`` proves the
bound exactly, ``sat`` gives a counterexample (re-checked in exact rational arithmetic before it is reported).
"""

from __future__ import annotations

import functools
import time
from fractions import Fraction
from typing import Any, Mapping

import sympy as sp
import z3

from ._certificate import Certificate
from ._errors import TheoryError, bad
from ._exact import evaluate_exact
from ._head import Head, as_box
from ._network import Network
from ._rational import as_rational
from ._z3_encode import check_timeout, encode, point_array, rational_candidates, solve, z3_rational

POLYNOMIAL = "a polynomial with rational coefficients in x0..x{k-1} (Add, Mul, Pow with a nonnegative integer exponent, Integer, Rational, Symbol)"


def sympy_to_z3(expr: Any, variables: Mapping[str, z3.ArithRef], *, arg: str = "target") -> z3.ArithRef:
    """Convert a polynomial sympy expression into an exact z3 real term.

    Args:
        expr: sympy expression built from Add, Mul, Pow (nonnegative integer exponent), Integer, Rational and
            Symbol (looked up by name in ``variables``).
        variables: ``{symbol name: z3 real}``.
        arg: argument name for error messages.
    Raises:
        TheoryError: any other node (Float, functions, Max/Abs, negative or symbolic exponents, unknown
            symbols), naming the offending node and the whole expression.
    """
    whole = expr

    def fail(node: Any, why: str) -> TheoryError:
        return bad(arg, whole, f"{POLYNOMIAL.replace('{k-1}', str(len(variables) - 1))}; {why}: {node!r}")

    def conv(e: Any) -> z3.ArithRef:
        if isinstance(e, sp.Rational):  # Integer, Rational, Half, One, Zero, NegativeOne
            return z3_rational(Fraction(int(e.p), int(e.q)))
        if isinstance(e, sp.Symbol):
            if e.name not in variables:
                raise fail(e, f"unknown symbol (allowed: {sorted(variables)})")
            return variables[e.name]
        if isinstance(e, sp.Add):
            return z3.Sum(*[conv(a) for a in e.args])
        if isinstance(e, sp.Mul):
            return functools.reduce(lambda a, b: a * b, [conv(a) for a in e.args])
        if isinstance(e, sp.Pow):
            n = e.exp
            if not (isinstance(n, sp.Integer) and n >= 0):
                raise fail(e, "exponent is not a nonnegative integer")
            base = conv(e.base)
            return functools.reduce(lambda a, b: a * b, [base] * int(n)) if n > 0 else z3.RealVal(1)
        raise fail(e, f"unsupported node {type(e).__name__}")

    return conv(expr)


def _exact_target(target: sp.Expr, symbols: list[sp.Symbol], point: list[Fraction]) -> Fraction:
    value = target.xreplace({s: sp.Rational(q.numerator, q.denominator) for s, q in zip(symbols, point)})
    if not value.is_Rational:
        raise TheoryError(f"target {target} did not evaluate to a rational at {point}: {value}")
    return Fraction(int(value.p), int(value.q))


def _inputs(head: Any, target: Any, box: Any, eps: Any) -> tuple[Network, sp.Expr, tuple, Fraction]:
    if isinstance(head, Head):
        net = head.net
        target = head.target if target is None else target
        box = head.box if box is None else box
        if eps is None:
            if not head.bound.is_Rational:
                raise bad("eps", None, f"an exact rational (the head's bound {head.bound} is not rational; pass eps)")
            eps = Fraction(int(head.bound.p), int(head.bound.q))
    elif isinstance(head, Network):
        net = head
        if net.d != 1 or net.n_outputs != 1:
            raise bad("head", head, "a theory.Head or a Network on 1 position with k input channels and 1 output")
        if target is None or box is None or eps is None:
            raise bad("target/box/eps", (target, box, eps), "all three given when head is a bare Network")
    else:
        raise bad("head", type(head).__name__, "a theory.Head or a theory.Network on 1 position")
    k = net.c_in
    try:
        target = sp.sympify(target)
    except (sp.SympifyError, TypeError):
        raise bad("target", target, POLYNOMIAL.replace("{k-1}", str(k - 1))) from None
    box = as_box(box, k)
    eps = as_rational(eps, "eps")
    if eps < 0:
        raise bad("eps", eps, "a nonnegative rational")
    return net, target, box, eps


def prove_bound(head: Head | Network, target: Any = None, box: Any = None, eps: Any = None, *,
                timeout_s: float = 60) -> Certificate:
    """Prove ``sup_{x in box} |net(x) - target(x)| <= eps`` exactly, or refute it with a rational counterexample.

    Formula: z3 decides ``exists x: AND_i lo_i <= x_i <= hi_i  AND  |net(x) - target(x)| > eps`` with the net's
    ReLU units as variables ``h = If(z > 0, z, 0)`` (exact rational weights) and the polynomial target as a
    z3 term (nonlinear real arithmetic, a decidable theory; z3's default solver with its nlsat core).

    * ``unsat``: ``"proved"``, ``upper = eps``.
    * ``sat``: the model (possibly algebraic numbers) is turned into exact rational points nearby (the
      violating set is open, so close enough rational approximations stay inside it), each re-checked with
      :func:`theory.evaluate_exact` and sympy's exact value of the target; the first real violation gives
      ``"refuted"`` with ``witness`` ``{x0: ..}`` and ``lower = |net - target|`` there. None found: ``"unknown"``.
    * timeout or z3 ``unknown``: ``"unknown"``, never ``"proved"``.

    Args:
        head: a :class:`theory.Head` (target, box and, when rational, its a-priori bound are the defaults), or a
            :class:`theory.Network` on 1 position with k input channels and 1 output (then target, box and eps
            are required).
        target: polynomial sympy expression in ``x0..x{k-1}`` (see :func:`sympy_to_z3`).
        box: ``(lo, hi)`` for every input, or k pairs; exact rationals.
        eps: the bound to prove, an exact nonnegative rational.
        timeout_s: wall-clock budget.
    Returns:
        A :class:`theory.Certificate` with method ``"z3-nra"``.
    Raises:
        TheoryError: bad head/network, a non-polynomial target (named), bad box, eps or timeout.
    Source: exact SMT check of an a-priori bound, e.g. Yarotsky (2017) Prop. 2, ``|f_m(x) - x^2| <= 2^(-2m-2)``
    on [0, 1]; heads for Wang & Wu (2023) section 4.2 (reconstruction).
    """
    t0 = time.perf_counter()
    net, target, box, eps = _inputs(head, target, box, eps)
    deadline = t0 + check_timeout(timeout_s)
    k = net.c_in
    names = [f"x{j}" for j in range(k)]
    xs = [z3.Real(n) for n in names]
    poly = sympy_to_z3(target, dict(zip(names, xs)))
    definitions: list = []
    _, (out,) = encode(net, inputs=xs, definitions=definitions)
    err = out - poly
    e = z3_rational(eps)
    solver = z3.Solver()
    solver.add(*definitions)
    for x, (lo, hi) in zip(xs, box):
        solver.add(x >= z3_rational(lo), x <= z3_rational(hi))
    solver.add(z3.Or(err > e, err < -e))
    claim = f"for every x in {[[str(lo), str(hi)] for lo, hi in box]}: |net(x) - ({target})| <= {eps}"
    base = dict(claim=claim, method="z3-nra", spec_hash=net.content_hash, eps=eps,
                assumptions={"domain": [[str(lo), str(hi)] for lo, hi in box], "target": str(target),
                             "semantics": "exact rational arithmetic (z3 reals, ReLU as If(z > 0, z, 0))"})
    details: dict[str, Any] = {"solver": "z3.Solver() default strategy, ReLU units as defined variables",
                               "relu_units": len(definitions)}
    result, reason = solve(solver, deadline)
    details["z3"] = result
    if result == "unsat":
        return Certificate(status="proved", upper=eps, seconds=time.perf_counter() - t0, details=details, **base)
    if result == "unknown":
        details["reason"] = reason
        return Certificate(status="unknown", seconds=time.perf_counter() - t0, details=details, **base)
    model = solver.model()
    cands = [rational_candidates(model.eval(x, model_completion=True), lo, hi) for x, (lo, hi) in zip(xs, box)]
    symbols = [sp.Symbol(n, real=True) for n in names]
    target_named = target.xreplace({s: sp.Symbol(s.name, real=True) for s in target.free_symbols})
    tried = 0
    for depth in range(max(map(len, cands)) if all(cands) else 0):
        point = [c[min(depth, len(c) - 1)] for c in cands]
        tried += 1
        got = evaluate_exact(net, point_array(net, dict(enumerate(point))))[0]
        want = _exact_target(target_named, symbols, point)
        gap = abs(got - want)
        if gap > eps:
            details.update(candidates_tried=tried, net_at_witness=str(got), target_at_witness=str(want),
                           model_was_rational=all(len(c) == 1 for c in cands))
            return Certificate(status="refuted", witness=dict(zip(names, point)), lower=gap,
                               seconds=time.perf_counter() - t0, details=details, **base)
    details.update(candidates_tried=tried,
                   reason="z3 found a violating model but no exact rational point near it violates (exact re-check)")
    return Certificate(status="unknown", seconds=time.perf_counter() - t0, details=details, **base)
