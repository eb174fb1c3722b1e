"""Re-checking a sup-norm certificate (methods ``interval-bnb`` and ``kuhn-pieces``) from its cover.

:func:`check_sup` re-establishes, with the checker's own code only: which variables and target the certificate
is about (re-derived from the network and the target's text), that the cover tree partitions the domain
(:mod:`._tree`), that the network is affine on every simplex of a Kuhn frame (its own exact values at every grid
vertex, compared with the certificate's, and no pre-activation of strictly opposite signs at two vertices of
one simplex), the claimed bound of every leaf (:mod:`._regions`; a leaf its method bounds too loosely is halved,
up to ``max_splits`` halvings in all), the witness (exact network, ball target) and the status.
"""

from __future__ import annotations

from fractions import Fraction
from math import lcm
from typing import Any

import numpy as np
import sympy as sp
from flint import ctx, fmpq

from .._errors import TheoryError
from ..formula import parse_formula
from ..spec import Network, input_name, input_unit
from ..spec._network import thaw
from ._balls import ball, exact, lower, rational
from ._frames import BoxFrame, KuhnFrame
from ._net import ConeNet
from ._target import BallTarget
from ._tree import MISSED, Rejected, decode, walk

WITNESS_PRECISION = 1024
"""Bits of the witness's target enclosure (one point: cheap)."""
MAX_DEPTH = 64
"""Most halvings of one leaf by the checker."""


def _rational(text: Any, what: str) -> fmpq:
    try:
        return rational(text)
    except (ValueError, ZeroDivisionError) as e:
        raise Rejected("format", f"{what}: {e}") from None


def _variables(cert: Any, net: Network, cone: ConeNet, target: str | sp.Expr | None) -> tuple[list, sp.Expr, list]:
    """``(names, target expression, domain)``, each re-derived and compared with the certificate."""
    proof, assumptions = thaw(cert.proof), thaw(cert.assumptions)
    domain = assumptions.get("domain")
    text = assumptions.get("target")
    if not isinstance(domain, (list, tuple)) or not isinstance(text, str) or proof.get("target") != text:
        raise Rejected("target", "the certificate's target and domain are missing or disagree with its proof")
    try:
        expr = parse_formula(text, variables="inputs", name="target")
        units = sorted({int(u) for u in cone.inputs} | {input_unit(net, str(s), "target") for s in expr.free_symbols})
    except TheoryError as e:
        raise Rejected("target", f"the certificate's target does not read: {e}") from None
    names = [input_name(net, u) for u in units]
    if (
        list(proof.get("variables", ())) != names
        or [d[0] if isinstance(d, (list, tuple)) else None for d in domain] != names
    ):
        raise Rejected("variables", f"the certificate's variables are not this network's cone and target: {names}")
    if target is not None:
        given = parse_formula(target, variables="inputs", name="target") if isinstance(target, str) else target
        given = given.xreplace(
            {s: sp.Symbol(input_name(net, input_unit(net, str(s), "target")), real=True) for s in given.free_symbols}
        )
        if sp.srepr(given) != sp.srepr(expr):
            raise Rejected("target", f"the certificate is about the target {text}, not {given}")
    box = [(_rational(d[1], "domain"), _rational(d[2], "domain")) for d in domain]
    if any(lo > hi for lo, hi in box):
        raise Rejected("format", "an empty domain interval")
    return names, expr, box


def _witness(cert: Any, cone: ConeNet, names: list, box: list, expr: sp.Expr) -> None:
    target = BallTarget(expr, names)
    if cert.witness is None:
        if cert.lower is not None and cert.lower > 0:
            raise Rejected("witness", "a lower bound without a witness")
        return
    w = dict(cert.witness)
    if sorted(w) != sorted(names):
        raise Rejected("witness", f"the witness names {sorted(w)}, not the variables {names}")
    point = [w[n] for n in names]
    if any(not lo <= exact(v) <= hi for v, (lo, hi) in zip(point, box)):
        raise Rejected("witness", "the witness lies outside the domain")
    cols = [names.index(n) for n in cone.names]
    den = lcm(1, *(v.denominator for v in point))
    num = np.array([[int(point[c] * den)] for c in cols], dtype=object)
    value = cone.exact(num, den)[0][0]
    g_exact = expr.xreplace({s: sp.Rational(w[str(s)].numerator, w[str(s)].denominator) for s in expr.free_symbols})
    if isinstance(g_exact, sp.Rational):  # a rational target at a rational point: exactly
        low: Any = exact(abs(value - Fraction(int(g_exact.p), int(g_exact.q))))
    else:
        old = ctx.prec
        ctx.prec = WITNESS_PRECISION  # the search's lower bound is rigorous at 256 bits: enclose finer
        try:
            err = abs(ball(value) - target.value([ball(v) for v in point]))
            low = lower(err) if err.is_finite() else None
        finally:
            ctx.prec = old
    if cert.lower is not None and not (low is not None and exact(cert.lower) <= low):
        got = "not finite" if low is None else f"at least {float(low):.9g}"
        raise Rejected(
            "witness",
            f"|net - g| at the witness is {got}, which does not show the claimed lower bound {float(cert.lower):.9g}",
        )


def _status(cert: Any) -> None:
    u, lo, eps = cert.upper, cert.lower, cert.eps
    want = (
        ("proved" if u is not None else "unknown")
        if eps is None
        else ("proved" if u is not None and u <= eps else "refuted" if lo is not None and lo > eps else "unknown")
    )
    if cert.status != want:
        raise Rejected("status", f"status {cert.status!r}, but upper {u}, lower {lo} and eps {eps} give {want!r}")


def check_sup(cert: Any, net: Network, target: str | sp.Expr | None, max_splits: int) -> dict[str, int]:
    """Re-check a sup-norm certificate; returns counters. Raises Rejected naming the first failure."""
    proof = thaw(cert.proof) if cert.proof is not None else None
    if not isinstance(proof, dict) or proof.get("format") != "cnnverify.cover" or proof.get("version") != 1:
        raise Rejected("format", "the certificate carries no cover proof (format cnnverify.cover, version 1)")
    sem = cert.details.get("semantics", "exact")
    if sem != "exact":
        raise Rejected("unsupported", f"certificates of the {sem} semantics are not re-checked yet (only 'exact')")
    cone = ConeNet(net)
    names, expr, box = _variables(cert, net, cone, target)
    k = len(names)
    frame_rec = proof.get("frame")
    if not isinstance(frame_rec, dict):
        raise Rejected("format", "the proof has no frame")
    kind = frame_rec.get("kind")
    frame: BoxFrame | KuhnFrame
    if kind == "box" and cert.method == "interval-bnb":
        frame = BoxFrame(frame_rec, cone, names, box, expr)
    elif kind == "kuhn" and cert.method == "kuhn-pieces":
        frame = KuhnFrame(frame_rec, cone, names, box, expr)
    else:
        raise Rejected("format", f"a {kind!r} cover does not prove a {cert.method!r} certificate")
    parent, axis, value = decode(proof.get("tree"), k)
    roots = -1 - parent[parent < 0]
    frame.check_roots(roots)
    counts = {"leaves": 0, "missed": 0, "splits": 0}
    top = fmpq(0)
    for node, piece, what, lo, hi, v in walk(parent, axis, value, frame.root_box):
        if what == MISSED:
            if not frame.empty(piece, lo, hi):
                raise Rejected("cover", f"node {node} (piece {piece}) is claimed to miss the region but does not")
            counts["missed"] += 1
            continue
        counts["leaves"] += 1
        top = max(top, exact(v)) if v != float("inf") else top
        if v == float("inf"):
            continue
        stack = [(lo, hi, 0)]
        while stack:
            l_, h_, depth = stack.pop()
            claim = exact(v)
            b = frame.bound(piece, l_, h_, claim)
            if b is not None and b <= claim:
                continue
            if depth >= MAX_DEPTH or counts["splits"] >= max_splits:
                got = "not finite" if b is None else f"{float(b)!r}"
                raise Rejected(
                    "bound",
                    f"leaf {node} (piece {piece}, box {[float(x) for x in l_]}..{[float(x) for x in h_]}) claims |net - g| <= {v!r}; the checker's bound is {got} (depth {depth}, {counts['splits']} halvings so far)",
                )
            counts["splits"] += 1
            a = max(range(k), key=lambda i: frame.width(i, l_, h_))
            m = (l_[a] + h_[a]) / 2
            for cl, ch in ((l_, [*h_[:a], m, *h_[a + 1 :]]), ([*l_[:a], m, *l_[a + 1 :]], h_)):
                if not frame.empty(piece, cl, ch):
                    stack.append((cl, ch, depth + 1))
    if counts["leaves"] and cert.upper is not None and top > exact(cert.upper):
        raise Rejected(
            "bound", f"a leaf claims {float(top)!r}, above the certificate's upper bound {float(cert.upper)!r}"
        )
    _witness(cert, cone, names, box, expr)
    _status(cert)
    counts["pieces_checked"] = frame.pieces_checked
    return counts
