"""What a cover's roots are, and how the checker bounds a region of each: the box frame and the Kuhn frame.

* :class:`BoxFrame` (``interval-bnb``): one root, a float box containing the domain; the network on a region
  is enclosed by :meth:`theory.check._net.ConeNet.enclose`.
* :class:`KuhnFrame` (``kuhn-pieces``): a grid ``x = Minv y + c`` over index coordinates ``y``, one root per Kuhn
  simplex ``{y_pi(1) - c_pi(1) >= ... >= y_pi(k) - c_pi(k)}`` of each cell ``[c, c + 1]``. The checker evaluates
  the network exactly at every grid vertex itself, compares the certificate's vertex values, and proves the
  network affine on every simplex: a pre-activation affine on a simplex keeps one sign there when its values at
  the vertices have no strictly opposite signs (by induction over the layers; two vertices of one simplex differ
  by a 0/1 vector, so every pair ``v``, ``v + o`` with ``o`` in ``{0, 1}^k`` is compared).
"""

from __future__ import annotations

import base64
import binascii
import zlib
from fractions import Fraction
from itertools import permutations, product
from math import lcm
from typing import Any

import numpy as np
import sympy as sp
from flint import arb, fmpq

from ._balls import ball, exact, frac, rational
from ._net import ConeNet
from ._regions import region_bound
from ._target import BallTarget
from ._tree import Rejected

MAX_VERTICES = 4_000_000
"""Most grid vertices of a Kuhn frame the checker evaluates."""


class BoxFrame:
    """One root box (float endpoints written as ``float.hex``) containing the domain ``box``."""

    def __init__(self, rec: dict, cone: ConeNet, names: list, box: list, expr: sp.Expr) -> None:
        root = rec.get("root")
        if not isinstance(root, list) or len(root) != len(names):
            raise Rejected("format", "the box frame's root is not one [lo, hi] pair per variable")
        try:
            self.root = [(exact(float.fromhex(a)), exact(float.fromhex(b))) for a, b in root]
        except (TypeError, ValueError, OverflowError):
            raise Rejected("format", "the box frame's root holds no finite float.hex numbers") from None
        box = [(exact(lo), exact(hi)) for lo, hi in box]
        if any(not (r[0] <= d[0] and d[1] <= r[1]) for r, d in zip(self.root, box)):
            raise Rejected("cover", "the cover's root box does not contain the domain")
        self.cone, self.box, self.k = cone, box, len(names)
        self.var_of = [names.index(n) for n in cone.names]
        self.target = BallTarget(expr, names)
        self.pieces_checked = 0

    def check_roots(self, roots: np.ndarray) -> None:
        if roots.tolist() != [0]:
            raise Rejected("cover", f"a box cover has one root (piece 0), not {roots.tolist()[:5]}")

    def root_box(self, piece: int) -> tuple[list, list]:
        return [r[0] for r in self.root], [r[1] for r in self.root]

    def empty(self, piece: int, lo: list, hi: list) -> bool:
        return any(h < d[0] or l_ > d[1] for l_, h, d in zip(lo, hi, self.box))

    def to_frame(self, x: list) -> list:  # the box frame's coordinates are the variables
        return list(x)

    to_x = to_frame

    def width(self, i: int, lo: list, hi: list) -> fmpq:
        span_ = self.root[i][1] - self.root[i][0]
        return (hi[i] - lo[i]) / span_ if span_ else fmpq(0)

    def bound(self, piece: int, lo: list, hi: list, claim: fmpq | None = None) -> fmpq | None:
        mid = [ball((p + q) / 2) for p, q in zip(lo, hi)]
        rad = [ball((q - p) / 2) for p, q in zip(lo, hi)]
        a, c, e = self.cone.enclose(mid, rad, self.var_of)
        return region_bound(a, c, e, self.target, lo, hi, claim=claim)


def _fracs(rows: Any, shape: tuple, what: str) -> list[Any]:
    try:
        out: list[Any] = [[rational(v) for v in r] for r in rows] if len(shape) == 2 else [rational(v) for v in rows]
    except (TypeError, ValueError, ZeroDivisionError):
        raise Rejected("format", f"the Kuhn frame's {what} holds no exact numbers") from None
    if len(out) != shape[0] or (len(shape) == 2 and any(len(r) != shape[1] for r in out)):
        raise Rejected("format", f"the Kuhn frame's {what} is not of shape {shape}")
    return out


def _pairs_meeting(cells_in: np.ndarray, o: tuple) -> np.ndarray:
    """For each vertex ``v`` with ``v + o`` in the grid: whether a cell holding both ``v`` and ``v + o`` meets
    the domain (along an axis with ``o_a = 0`` two cells hold the pair, with ``o_a = 1`` one)."""
    m = cells_in
    for a, d in enumerate(o):
        if not d:
            pad = [(0, 0)] * m.ndim
            pad[a] = (1, 1)
            m = np.pad(m, pad)
            n = m.shape[a]
            m = np.take(m, range(0, n - 1), axis=a) | np.take(m, range(1, n), axis=a)
    return m


class KuhnFrame:
    """A Kuhn-triangulated grid with the network's vertex values (module docstring)."""

    def __init__(self, rec: dict, cone: ConeNet, names: list, box: list, expr: sp.Expr) -> None:
        k = self.k = len(names)
        cells = rec.get("cells")
        if (
            not isinstance(cells, list)
            or len(cells) != k
            or any(type(n) is not int or not 1 <= n <= MAX_VERTICES for n in cells)
        ):
            raise Rejected("format", f"the Kuhn frame's cells are not {k} ints >= 1")
        self.cells = cells
        self.shape = tuple(n + 1 for n in cells)
        if int(np.prod(self.shape, dtype=object)) > MAX_VERTICES:
            raise Rejected("format", f"the grid has more than {MAX_VERTICES} vertices")
        if _fracs(rec.get("box"), (k, 2), "box") != [[exact(lo), exact(hi)] for lo, hi in box]:
            raise Rejected("cover", "the Kuhn frame's box is not the certificate's domain")
        box = [(frac(exact(lo)), frac(exact(hi))) for lo, hi in box]  # the set-up computes in Fractions
        self.box = box
        self.Minv: list[list[Any]]
        if rec.get("matrix") is None and rec.get("offset") is None:
            h = [(box[a][1] - box[a][0]) / cells[a] for a in range(k)]
            self.Minv = [[h[a] if a == b else Fraction(0) for b in range(k)] for a in range(k)]
            self.c0 = [box[a][0] for a in range(k)]
            self.M = [[exact(1 / h[a]) if a == b and h[a] else fmpq(0) for b in range(k)] for a in range(k)]
            self.o = [exact(-box[a][0] / h[a]) if h[a] else fmpq(0) for a in range(k)]
        else:
            rat = lambda q: sp.Rational(int(q.p), int(q.q))  # noqa: E731
            M = sp.Matrix([[rat(v) for v in row] for row in _fracs(rec.get("matrix"), (k, k), "matrix")])
            o = sp.Matrix([rat(v) for v in _fracs(rec.get("offset"), (k,), "offset")])
            if M.det() == 0:
                raise Rejected("format", "the Kuhn frame's matrix is singular")
            inv, c0 = M.inv(), -M.inv() * o
            self.M = [[exact(Fraction(int(M[a, b].p), int(M[a, b].q))) for b in range(k)] for a in range(k)]
            self.o = [exact(Fraction(int(o[a].p), int(o[a].q))) for a in range(k)]
            self.Minv = [[Fraction(int(inv[a, b].p), int(inv[a, b].q)) for b in range(k)] for a in range(k)]
            self.c0 = [Fraction(int(c0[a].p), int(c0[a].q)) for a in range(k)]
            for corner in product(*box):  # the domain lies in the grid (a convex set: its corners do)
                y = M * sp.Matrix(corner) + o
                if any(not 0 <= y[a] <= cells[a] for a in range(k)):
                    raise Rejected("cover", f"the grid does not cover the domain's corner {[str(c) for c in corner]}")
        self.aligned = rec.get("matrix") is None
        self.perms = list(permutations(range(k)))
        self.Minv = [[exact(v) for v in row] for row in self.Minv]  # flint's rationals from here on
        self.c0 = [exact(v) for v in self.c0]
        self.box = [(exact(lo), exact(hi)) for lo, hi in box]
        ys = [sp.Symbol(f"y{a}", real=True) for a in range(k)]
        sub = {
            sp.Symbol(n, real=True): sum(
                (sp.Rational(int(self.Minv[a][b].p), int(self.Minv[a][b].q)) * ys[b] for b in range(k)),
                sp.Rational(int(self.c0[a].p), int(self.c0[a].q)),
            )
            for a, n in enumerate(names)
        }
        own = {str(s): s for s in expr.free_symbols}
        self.target = BallTarget(expr.xreplace({own.get(str(s), s): v for s, v in sub.items()}), [str(y) for y in ys])
        values = self._vertex_values(cone, names, rec.get("vertex_values"))
        self.values = np.array([exact(v) for v in values.ravel()], dtype=object).reshape(values.shape)
        self._coef: dict[int, tuple[list[fmpq], fmpq]] = {}
        self.pieces_checked = 0

    def _vertex_values(self, cone: ConeNet, names: list, packed: Any) -> np.ndarray:
        k, shape = self.k, self.shape
        idx = np.indices(shape).reshape(k, -1).astype(object)
        rows = [names.index(n) for n in cone.names]
        den = lcm(1, *(int(q.q) for a in rows for q in [*self.Minv[a], self.c0[a]]))
        num = np.array(
            [
                sum((int(self.Minv[a][b] * den) * idx[b] for b in range(k)), int(self.c0[a] * den) + 0 * idx[0])
                for a in rows
            ],
            dtype=object,
        ).reshape(len(rows), -1)
        if num.size and np.abs(num).max() < 2**62:
            num = num.astype(np.int64)
        values, signs = cone.exact(num, den, signs=True)
        V = len(values)
        try:
            text = zlib.decompressobj().decompress(
                base64.b64decode(str(packed).encode("ascii"), validate=True), 400 * V
            )
        except (binascii.Error, ValueError, zlib.error):
            raise Rejected("format", "the Kuhn frame's vertex values do not decode") from None
        claimed = text.decode("ascii", "replace").split(",")
        if len(claimed) != V:
            raise Rejected("vertex values", f"the certificate holds {len(claimed)} vertex values, the grid has {V}")
        for i, (mine, theirs) in enumerate(zip(values, claimed)):
            if str(mine) != theirs:
                at = np.unravel_index(i, shape)
                raise Rejected(
                    "vertex values",
                    f"the network's value at grid vertex {tuple(int(v) for v in at)} is {mine}, the certificate says {theirs[:40]}",
                )
        cells_in = self._cells_meeting_domain()
        for layer, (units, S) in enumerate(signs):
            S = S.reshape(-1, *shape)
            for o in product((0, 1), repeat=k):
                if not any(o):
                    continue
                a = S[(slice(None), *(slice(0, n - d) for n, d in zip(shape, o)))]
                b = S[(slice(None), *(slice(d, n) for n, d in zip(shape, o)))]
                bad = np.argwhere((a.astype(np.int16) * b < 0) & _pairs_meeting(cells_in, o)[None])
                if bad.size:
                    u, *v = bad[0].tolist()
                    raise Rejected(
                        "affine",
                        f"ReLU layer {layer}, unit {int(units[u])}: strictly opposite signs at grid vertices {tuple(v)} and {tuple(p + d for p, d in zip(v, o))}: the network is not affine on a simplex",
                    )
        return np.array(values, dtype=object).reshape(shape)

    def _cells_meeting_domain(self) -> np.ndarray:
        """Per cell (shape ``cells``), whether it may meet the domain (all cells of the box's own grid)."""
        if self.aligned:
            return np.ones(self.cells, dtype=bool)
        corner = np.indices(self.cells).reshape(self.k, -1).T.tolist()
        flags = [
            not self._outside([[c + d for c, d in zip(cc, o)] for o in product((0, 1), repeat=self.k)]) for cc in corner
        ]
        return np.array(flags, dtype=bool).reshape(self.cells)

    def _piece(self, piece: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        cell = np.unravel_index(piece // len(self.perms), self.cells)
        return tuple(int(c) for c in cell), self.perms[piece % len(self.perms)]

    def _outside(self, pts: list) -> bool:
        """Whether the convex hull of ``pts`` (index coordinates) misses the domain (all beyond one face)."""
        xs = [self.to_x(p) for p in pts]
        return any(all(x[a] < lo for x in xs) or all(x[a] > hi for x in xs) for a, (lo, hi) in enumerate(self.box))

    def _box_in_domain(self, lo: list, hi: list) -> bool:
        xs = [self.to_x(list(p)) for p in product(*zip(lo, hi))]
        return all(lo_ <= x[a] <= hi_ for x in xs for a, (lo_, hi_) in enumerate(self.box))

    def _cuts(self, cell: tuple, perm: tuple, domain: bool) -> tuple[list, list]:
        """``rows . y <= rhs``: the simplex's chain and (``domain``) the domain's faces (``x = Minv y + c``)."""
        k = self.k
        rows: list[list[Any]] = []
        rhs: list[Any] = []
        for i in range(k - 1):  # y_p(i+1) - c_p(i+1) <= y_p(i) - c_p(i)
            r = [fmpq(0)] * k
            r[perm[i + 1]], r[perm[i]] = fmpq(1), fmpq(-1)
            rows.append(r)
            rhs.append(fmpq(cell[perm[i + 1]] - cell[perm[i]]))
        for a, (lo_, hi_) in enumerate(self.box if domain else ()):
            rows += [list(self.Minv[a]), [-v for v in self.Minv[a]]]
            rhs += [hi_ - self.c0[a], self.c0[a] - lo_]
        return rows, rhs

    def check_roots(self, roots: np.ndarray) -> None:
        n = int(np.prod(self.cells)) * len(self.perms)
        if roots.size != np.unique(roots).size or (roots.size and (roots.min() < 0 or roots.max() >= n)):
            raise Rejected("cover", f"the cover's roots are not distinct simplices of the grid (0 to {n - 1})")
        have = np.zeros(n, dtype=bool)
        have[roots] = True
        for piece in np.flatnonzero(~have).tolist():
            cell, perm = self._piece(piece)
            verts = [list(cell)]
            for a in perm:
                verts.append([*verts[-1]])
                verts[-1][a] += 1
            if self.aligned or not self._outside(verts):
                raise Rejected("cover", f"simplex {piece} (cell {cell}, order {perm}) has no region in the cover")

    def root_box(self, piece: int) -> tuple[list, list]:
        cell, _ = self._piece(piece)
        return [fmpq(c) for c in cell], [fmpq(c + 1) for c in cell]

    def empty(self, piece: int, lo: list, hi: list) -> bool:
        cell, perm = self._piece(piece)
        top = None  # greedy down the chain t_pi(1) >= t_pi(2) >= ...: the largest value each may take
        for a in perm:
            top = hi[a] - cell[a] if top is None else min(top, hi[a] - cell[a])
            if top < lo[a] - cell[a]:
                return True
        return not self.aligned and self._outside([list(p) for p in product(*zip(lo, hi))])

    def to_frame(self, x: list) -> list:
        """The variables' point ``x`` in index coordinates, ``y = M x + o``."""
        return [sum((self.M[a][b] * x[b] for b in range(self.k)), self.o[a]) for a in range(self.k)]

    def to_x(self, y: list) -> list:
        """Index coordinates to the variables: ``x = Minv y + c``."""
        return [sum((self.Minv[a][b] * y[b] for b in range(self.k)), self.c0[a]) for a in range(self.k)]

    def width(self, i: int, lo: list, hi: list) -> fmpq:
        return hi[i] - lo[i]

    def bound(self, piece: int, lo: list, hi: list, claim: fmpq | None = None) -> fmpq | None:
        cell, perm = self._piece(piece)
        if piece not in self._coef:
            self.pieces_checked += 1
            v, prev = list(cell), self.values[cell]
            coef = [fmpq(0)] * self.k
            for a in perm:
                v[a] += 1
                cur = self.values[tuple(v)]
                coef[a] = cur - prev
                prev = cur
            self._coef[piece] = (coef, self.values[cell])
        coef, base = self._coef[piece]
        mid = [(p + q) / 2 for p, q in zip(lo, hi)]
        c = base + sum((q * (m - cc) for q, m, cc in zip(coef, mid, cell)), fmpq(0))  # the form at mid, exact
        inside = all(lo[perm[i]] - cell[perm[i]] >= hi[perm[i + 1]] - cell[perm[i + 1]] for i in range(self.k - 1))
        outside = not self.aligned and not self._box_in_domain(lo, hi)
        cuts = None if inside and not outside else self._cuts(cell, perm, outside)  # None: the box is the region
        return region_bound([ball(q) for q in coef], ball(c), arb(0), self.target, lo, hi, cuts, claim)
