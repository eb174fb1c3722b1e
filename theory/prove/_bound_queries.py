"""The z3 queries of :func:`theory.prove_bound`: one per linear piece of a one-input head, or one per sub-box.

:func:`linear_pieces` cuts a one-input network exactly into its linear pieces (exact rational breakpoints, layer
by layer); :func:`bound_queries` yields the solvers whose disjunction is ``exists x in box: |net(x) -
target(x)| > eps``, for the strategies ``"pieces"`` (one incremental univariate solver, push/pop per piece),
``"smt"`` and ``"nlsat"`` (the encoding of :func:`theory.prove.encode` with ReLU definitions, per sub-box).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import z3

from .._errors import TheoryError
from ..spec import Network
from ._encode import encode
from ._solving import z3_rational

MAX_PIECES = 1 << 16


def linear_pieces(
    net: Network, lo: Fraction, hi: Fraction, *, max_pieces: int = MAX_PIECES
) -> list[tuple[Fraction, Fraction, Fraction, Fraction]] | None:
    """The exact linear pieces of a one-input network on ``[lo, hi]``: ``[(u, v, a, b)]`` with ``net(x) = a x + b``
    on ``[u, v]``, consecutive, covering ``[lo, hi]``.

    Every unit is tracked by its exact values at a common sorted set of breakpoints (linear in between). A
    ReLU unit whose pre-activation changes sign strictly inside a segment adds the exact rational crossing
    ``x = u + (v - u) z(u) / (z(u) - z(v))`` as a breakpoint (all units' values there by linear interpolation),
    so after every layer each unit is linear between consecutive breakpoints. Returns None when more than
    ``max_pieces`` pieces would be needed.
    """
    counts = [p * c for p, c in zip(net.positions, net.channels)]
    if counts[0] != 1 or counts[-1] != 1:
        raise TheoryError("internal: linear_pieces needs one input unit and one output unit")
    pts = [lo, hi]
    vals = [[lo, hi]]
    for i, layer in enumerate(net.layers):
        units = np.arange(counts[i + 1], dtype=np.int64)
        which, src, nz = layer.edges(units)
        bias = layer.bias_of(units)
        rows: list[list[tuple[Fraction, int]]] = [[] for _ in range(units.size)]
        for w_i, s_u, n in zip(which.tolist(), src.tolist(), nz.tolist()):
            rows[w_i].append((layer.weight.values[n], s_u))
        pre = [
            [bias[u] + sum((w * vals[su][p] for w, su in rows[u]), Fraction(0)) for p in range(len(pts))]
            for u in range(units.size)
        ]
        if layer.relu:
            new_pts, new_pre = [pts[0]], [[col[0]] for col in pre]
            for seg in range(len(pts) - 1):
                cuts = set()
                for col in pre:
                    z0, z1 = col[seg], col[seg + 1]
                    if (z0 < 0 < z1) or (z1 < 0 < z0):
                        cuts.add(z0 / (z0 - z1))
                x0, x1 = pts[seg], pts[seg + 1]
                for t in sorted(cuts):
                    new_pts.append(x0 + t * (x1 - x0))
                    for col, out in zip(pre, new_pre):
                        out.append(col[seg] + t * (col[seg + 1] - col[seg]))
                new_pts.append(x1)
                for col, out in zip(pre, new_pre):
                    out.append(col[seg + 1])
            if len(new_pts) - 1 > max_pieces:
                return None
            pts = new_pts
            vals = [[v if v > 0 else Fraction(0) for v in col] for col in new_pre]
        else:
            vals = pre
    out = vals[0]
    pieces = []
    for seg in range(len(pts) - 1):
        u, v = pts[seg], pts[seg + 1]
        a = (out[seg + 1] - out[seg]) / (v - u)
        pieces.append((u, v, a, out[seg] - a * u))
    return pieces


def _sub_boxes(box: tuple, splits: int) -> list[tuple]:
    axes = [
        [(lo + (hi - lo) * Fraction(i, splits), lo + (hi - lo) * Fraction(i + 1, splits)) for i in range(splits)]
        for lo, hi in box
    ]
    return [tuple(b) for b in itertools.product(*axes)]


def bound_queries(
    net: Network, poly: z3.ArithRef, xs: list, box: tuple, eps: Fraction, strategy: str, splits: int, details: dict
):
    """Yield ``(solver, sub-box, hints)``: the box is violated iff one of the solvers is sat; ``hints`` are
    cheap candidate coordinates (per axis) tried before the model's own values."""
    e = z3_rational(eps)
    if strategy == "pieces":
        pieces = linear_pieces(net, *box[0])
        if pieces is None:
            details["pieces"] = f"more than {MAX_PIECES}; fell back to 'smt'"
            strategy = "smt"
        else:
            details["pieces"] = len(pieces)
            x = xs[0]
            solver = z3.Solver()  # one incremental solver: push/pop per piece is ~4x cheaper than new solvers
            for u, v, a, b in pieces:
                err = z3_rational(a) * x + z3_rational(b) - poly
                solver.push()
                solver.add(x >= z3_rational(u), x <= z3_rational(v), z3.Or(err > e, err < -e))
                yield solver, ((u, v),), [[(u + v) / 2]]  # hint: a quadratic error peaks mid-piece
                solver.pop()
            return
    definitions: list = []
    _, (out,) = encode(net, inputs=xs, definitions=definitions)
    details["relu_units"] = len(definitions)
    err = out - poly
    for sub in _sub_boxes(box, splits):
        if strategy == "nlsat":
            solver = z3.Then("simplify", "elim-term-ite", "qfnra-nlsat").solver()
        else:
            solver = z3.Solver()
        solver.add(*definitions)
        for x, (lo, hi) in zip(xs, sub):
            solver.add(x >= z3_rational(lo), x <= z3_rational(hi))
        solver.add(z3.Or(err > e, err < -e))
        yield solver, sub, [[] for _ in sub]
