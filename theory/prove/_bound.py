"""Sup-norm error bounds of a head against a polynomial target, proved or refuted by z3 (nonlinear reals).

The question put to z3 is ``exists x in box: |net(x) - target(x)| > eps``. The network is piecewise linear,
the target a polynomial with rational coefficients, so the query is in the decidable theory of real closed
fields: ``unsat`` proves the bound exactly, ``sat`` gives a counterexample (re-checked in exact rational
arithmetic before it is reported). One-input heads are first cut exactly into their linear pieces (one small
univariate query each); heads with several inputs go to z3 as one query with the ReLU units as variables
``h = If(z > 0, z, 0)``. This module holds the polynomial target (:func:`sympy_to_z3`), the arguments and the
outcome of :func:`prove_bound`; the queries themselves are built by :mod:`theory.prove._bound_queries`.
"""

from __future__ import annotations

import functools
import time
from fractions import Fraction
from typing import Any, Mapping

import numpy as np
import sympy as sp
import z3

from .._errors import TheoryError, bad
from ..formula import parse_formula
from ..heads import Head, as_box
from ..spec import Network, as_rational, evaluate_exact
from ._bound_queries import bound_queries
from ._certificate import Certificate
from ._solving import check_rlimit, check_timeout, point_array, rational_candidates, solve, z3_rational

POLYNOMIAL = "a polynomial with rational coefficients in x0..x{k-1} (Add, Mul, Pow with a nonnegative integer exponent, Integer, Rational, Symbol)"


def sympy_to_z3(expr: Any, variables: Mapping[str, z3.ArithRef], *, arg: str = "target") -> z3.ArithRef:
    """Convert a polynomial sympy expression into an exact z3 real term.

    Args:
        expr: sympy expression built from Add, Mul, Pow (nonnegative integer exponent), Integer, Rational and
            Symbol (looked up by name in ``variables``).
        variables: ``{symbol name: z3 real}``.
        arg: argument name for error messages.
    Returns:
        The z3 real term, exact: ``Rational(p, q)`` becomes ``RealVal("p/q")``, ``e**n`` an n-fold product.
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
    if isinstance(target, str):
        target = parse_formula(target, variables="head", name="target")
    elif isinstance(target, (int, Fraction)) and not isinstance(target, bool):
        target = sp.Rational(as_rational(target, "target"))
    elif not isinstance(target, sp.Basic):
        raise bad("target", target, POLYNOMIAL.replace("{k-1}", str(k - 1)))
    box = as_box(box, k)
    eps = as_rational(eps, "eps")
    if eps < 0:
        raise bad("eps", eps, "a nonnegative rational")
    return net, target, box, eps


STRATEGIES = ("auto", "pieces", "smt", "nlsat")


def prove_bound(
    head: Head | Network,
    target: Any = None,
    box: Any = None,
    eps: Any = None,
    *,
    timeout_s: float = 60,
    strategy: str = "auto",
    splits: int = 1,
    rlimit: int | None = None,
) -> Certificate:
    """Prove ``sup_{x in box} |net(x) - target(x)| <= eps`` exactly, or refute it with a rational counterexample.

    Formula: z3 decides ``exists x: AND_i lo_i <= x_i <= hi_i  AND  |net(x) - target(x)| > eps`` in nonlinear
    real arithmetic (a decidable theory), the weights as exact rationals and the polynomial target as a z3 term.
    Strategies (the answer is the same, only the speed differs):

    * ``"pieces"`` (one input; the ``"auto"`` choice for k = 1): the network is split exactly into its linear
      pieces ``a x + b`` on ``[u, v]`` (:func:`theory.prove._bound_queries.linear_pieces`), and z3 decides one
      univariate query ``exists x in [u, v]: |a x + b - target(x)| > eps`` per piece;
    * ``"smt"`` (the ``"auto"`` choice for k >= 2): one query, ReLU units as variables with defining equations
      ``h = If(z > 0, z, 0)`` (much faster in z3 than nested ``If`` terms), z3's default solver;
    * ``"nlsat"``: the same query through the tactic ``simplify; elim-term-ite; qfnra-nlsat``.

    ``splits`` > 1 cuts every axis of the box into that many equal parts, one query each (``smt``/``nlsat``).

    Outcomes:

    * every query ``unsat``: ``"proved"``, ``upper = eps``.
    * a query ``sat``: the model (possibly algebraic numbers) is turned into exact rational points nearby (the
      violating set is open, so close enough rational approximations stay inside it), each re-checked with
      :func:`theory.evaluate_exact` and sympy's exact value of the target; the first real violation gives
      ``"refuted"`` with ``witness`` ``{x0: ..}`` and ``lower = |net - target|`` there.
    * timeout, z3 ``unknown``, or a model that no rational point confirms: ``"unknown"``, never ``"proved"``.

    Args:
        head: a :class:`theory.Head` (target, box and, when rational, its a-priori bound are the defaults), or a
            :class:`theory.Network` on 1 position with k input channels and 1 output (then target, box and eps
            are required).
        target: polynomial sympy expression in ``x0..x{k-1}`` (see :func:`sympy_to_z3`).
        box: ``(lo, hi)`` for every input, or k pairs; exact rationals.
        eps: the bound to prove, an exact nonnegative rational.
        timeout_s: wall-clock budget for all queries.
        strategy: one of :data:`STRATEGIES`.
        splits: parts per axis for ``smt``/``nlsat`` (an int in [1, 64]; ``splits^k`` queries).
        rlimit: z3's deterministic resource limit per query (None: none; ``details["rlimit"]``); a query that
            hits it is undecided, ``"unknown"`` with the reason ``"resource limit: ..."``, never ``"proved"``.
    Returns:
        A :class:`theory.Certificate` with method ``"z3-nra"``.
    Raises:
        TheoryError: bad head/network, a non-polynomial target (named), bad box, eps, timeout, strategy
            (``"pieces"`` with more than one input) or splits.
    Source: exact SMT check of an a-priori bound, e.g. Yarotsky (2017) Prop. 2, ``|f_m(x) - x^2| <= 2^(-2m-2)``
    on [0, 1]; heads for the Wang & Wu (2023) sparse construction (reconstruction).
    """
    t0 = time.perf_counter()
    net, target, box, eps = _inputs(head, target, box, eps)
    deadline = t0 + check_timeout(timeout_s)
    rlimit = check_rlimit(rlimit)
    k = net.c_in
    if strategy not in STRATEGIES:
        raise bad("strategy", strategy, f"one of {STRATEGIES}")
    if strategy == "auto":
        strategy = "pieces" if k == 1 else "smt"
    if strategy == "pieces" and k != 1:
        raise bad(
            "strategy", strategy, f"'smt' or 'nlsat' for a head with k = {k} > 1 inputs ('pieces' needs one input)"
        )
    if isinstance(splits, bool) or not isinstance(splits, (int, np.integer)) or not 1 <= splits <= 64:
        raise bad("splits", splits, "an int in [1, 64]")
    names = [f"x{j}" for j in range(k)]
    xs = [z3.Real(n) for n in names]
    poly = sympy_to_z3(target, dict(zip(names, xs)))
    claim = f"for every x in {[[str(lo), str(hi)] for lo, hi in box]}: |net(x) - ({target})| <= {eps}"
    base = dict(
        claim=claim,
        method="z3-nra",
        spec_hash=net.content_hash,
        eps=eps,
        assumptions={
            "domain": [[str(lo), str(hi)] for lo, hi in box],
            "target": str(target),
            "semantics": "exact rational arithmetic (z3 reals, ReLU as If(z > 0, z, 0))",
        },
    )
    details: dict[str, Any] = {"strategy": strategy, "splits": int(splits), "rlimit": rlimit}
    symbols = [sp.Symbol(n, real=True) for n in names]
    target_named = target.xreplace({s: sp.Symbol(s.name, real=True) for s in target.free_symbols})
    counts = {"unsat": 0, "sat": 0, "unknown": 0}
    reasons: list[str] = []
    tried, finished = 0, True
    queries: list[Any] = []
    for solver, sub, hints in bound_queries(net, poly, xs, box, eps, strategy, splits, details):
        result, reason = solve(solver, deadline, queries, rlimit)
        counts[result] += 1
        if result == "unknown":
            reasons.append(reason)
            if time.perf_counter() >= deadline:
                finished = False
                break
            continue  # a later part of the box may still give a counterexample
        if result == "unsat":
            continue
        model = solver.model()
        cands = [
            hint + rational_candidates(model.eval(x, model_completion=True), lo, hi)
            for x, (lo, hi), hint in zip(xs, sub, hints)
        ]
        for depth in range(max(map(len, cands)) if all(cands) else 0):
            point = [c[min(depth, len(c) - 1)] for c in cands]
            tried += 1
            got = evaluate_exact(net, point_array(net, dict(enumerate(point))))[0]
            want = _exact_target(target_named, symbols, point)
            gap = abs(got - want)
            if gap > eps:
                details.update(
                    queries=counts,
                    candidates_tried=tried,
                    net_at_witness=str(got),
                    target_at_witness=str(want),
                    model_value=[str(model.eval(x, model_completion=True)) for x in xs],
                )
                return Certificate(
                    status="refuted",
                    witness=dict(zip(names, point)),
                    lower=gap,
                    seconds=time.perf_counter() - t0,
                    details=details,
                    **base,
                )
        reasons.append("z3 found a violating model but no exact rational point near it violates (exact re-check)")
    details["queries"] = counts
    if finished and counts["sat"] == 0 and counts["unknown"] == 0:
        details["smtlib"] = queries
        return Certificate(status="proved", upper=eps, seconds=time.perf_counter() - t0, details=details, **base)
    if not finished:
        reasons.append("time budget spent before every query ran")
    details.update(reason="; ".join(dict.fromkeys(reasons)), candidates_tried=tried)
    return Certificate(status="unknown", seconds=time.perf_counter() - t0, details=details, **base)
