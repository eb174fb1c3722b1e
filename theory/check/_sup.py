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
from ._balls import ball, exact, frac, lower, rational
from ._frames import BoxFrame, KuhnFrame
from ._net import ConeNet
from ._target import BallTarget
from ._tree import MISSED, Rejected, decode, walk

WITNESS_PRECISION = 1024
"""Bits of the witness's target enclosure (one point: cheap)."""
MAX_DEPTH = 64
"""Most halvings of one leaf by the checker."""
MAX_BOX_WORK = 10**7
"""Most (leaf, weight) visits of a box cover the checker takes on (about 40 s); a larger one is unsupported."""


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
    try:
        box = [(rational(d[1]), rational(d[2])) for d in domain]
    except (ValueError, ZeroDivisionError, IndexError, TypeError) as e:
        raise Rejected("format", f"the domain: {e}") from None
    if any(lo > hi for lo, hi in box):
        raise Rejected("format", "an empty domain interval")
    return names, expr, box


def _witness(cert: Any, cone: ConeNet, names: list, box: list, expr: sp.Expr) -> None:
    if cert.witness is None:
        if cert.lower is not None and cert.lower > 0:
            raise Rejected("witness", "a lower bound without a witness")
        return
    w = dict(cert.witness)
    if sorted(w) != sorted(names):
        raise Rejected("witness", f"the witness names {sorted(w)}, not the variables {names}")
    point = [exact(w[n]) for n in names]
    if any(not lo <= v <= hi for v, (lo, hi) in zip(point, box)):
        raise Rejected("witness", "the witness lies outside the domain")
    low = _error_at(cone, names, expr, point)
    if cert.lower is not None and not (low is not None and exact(cert.lower) <= low):
        got = "not finite" if low is None else f"at least {float(low):.9g}"
        raise Rejected(
            "witness", f"|net - g| at the witness is {got}, not the claimed lower bound {float(cert.lower):.9g}"
        )


def _error_at(cone: ConeNet, names: list, expr: sp.Expr, point: list) -> fmpq | None:
    """A rigorous lower bound of ``|net - g|`` at ``point`` (the variables, exact): the network exactly, ``g`` at
    :data:`WITNESS_PRECISION` bits (a search's lower bound is rigorous at 256) or exactly where it is rational."""
    q = [frac(exact(v)) for v in point]
    den = lcm(1, *(v.denominator for v in q))
    value = cone.exact(np.array([[int(q[names.index(n)] * den)] for n in cone.names], dtype=object), den)[0][0]
    g = expr.xreplace(
        {
            s: sp.Rational(q[names.index(str(s))].numerator, q[names.index(str(s))].denominator)
            for s in expr.free_symbols
        }
    )
    if isinstance(g, sp.Rational):
        return exact(abs(value - Fraction(int(g.p), int(g.q))))
    old = ctx.prec
    ctx.prec = WITNESS_PRECISION
    try:
        err = abs(ball(value) - BallTarget(expr, names).value([ball(v) for v in q]))
        return lower(err) if err.is_finite() else None
    finally:
        ctx.prec = old


def _false_at(
    cert: Any,
    cone: ConeNet,
    names: list,
    expr: sp.Expr,
    frame: Any,
    piece: int,
    lo: list,
    hi: list,
    l_: list,
    h_: list,
    claim: fmpq,
) -> str | None:
    """A point of the leaf ``[lo, hi]`` where the exact error exceeds its claim (the witness when it lies in the
    leaf, the centre of the failing part ``[l_, h_]``), said in words; None when neither shows it."""
    pts = [[(a + b) / 2 for a, b in zip(l_, h_)]]
    if cert.witness is not None:
        w = [exact(cert.witness[n]) for n in names]
        y = frame.to_frame(w)
        if all(a <= v <= b for a, v, b in zip(lo, y, hi)):
            pts.insert(0, y)
    for y in pts:
        if frame.empty(piece, y, y):
            continue
        x = frame.to_x(y)
        err = _error_at(cone, names, expr, x)
        if err is not None and err > claim:
            return f"at {[float(v) for v in x]} the error is {float(err)!r}"
    return None


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
    if cert.upper is None and cert.status != "refuted" and cert.lower is None:
        raise Rejected("unsupported", "nothing to check: no bound and no witness")
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
    if kind == "box" and int((axis == -1).sum()) * cone.edges > MAX_BOX_WORK:
        raise Rejected(
            "unsupported",
            f"{int((axis == -1).sum())} boxes x {cone.edges} weights is beyond the checker's box method "
            f"({MAX_BOX_WORK:.0e} weight visits; it encloses the network box by box, in Python)",
        )
    roots = -1 - parent[parent < 0]
    frame.check_roots(roots)
    _witness(cert, cone, names, box, expr)  # decisive and cheap: before the leaves
    counts = {"leaves": 0, "missed": 0, "splits": 0}
    top = fmpq(0)
    leaves = []
    for node, piece, what, lo, hi, v in walk(parent, axis, value, frame.root_box):
        if what == MISSED:
            if not frame.empty(piece, lo, hi):
                raise Rejected("cover", f"node {node} (piece {piece}) is claimed to miss the region but does not")
            counts["missed"] += 1
            continue
        counts["leaves"] += 1
        if v == float("inf"):
            if cert.upper is not None:
                raise Rejected("bound", f"leaf {node} claims no finite bound, the certificate a finite upper bound")
            continue
        top = max(top, exact(v))
        leaves.append((node, piece, lo, hi, exact(v)))
    for node, piece, lo, hi, claim in leaves:
        stack = [(lo, hi, 0)]
        while stack:
            l_, h_, depth = stack.pop()
            b = frame.bound(piece, l_, h_, claim)
            if b is not None and b <= claim:
                continue
            if depth >= MAX_DEPTH or counts["splits"] >= max_splits:
                got = "not finite" if b is None else f"{float(b)!r}"
                box_ = f"{[float(x) for x in l_]}..{[float(x) for x in h_]}"
                said = f"leaf {node} (piece {piece}, box {box_}) claims |net - g| <= {float(claim)!r}"
                false = _false_at(cert, cone, names, expr, frame, piece, lo, hi, l_, h_, claim)
                if false is not None:
                    raise Rejected("bound", f"{said}, but {false}")
                raise Rejected(
                    "unproven",
                    f"{said}; the checker's own bound is {got} (depth {depth}, {counts['splits']} halvings so far), "
                    "and no point it tried shows the claim false",
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
    _status(cert)
    counts["pieces_checked"] = frame.pieces_checked
    return counts
