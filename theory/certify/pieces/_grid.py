"""The grid hypothesis: the uniform grid on whose Kuhn triangulation a network is expected to be affine.

A hypothesis is only a *guess* taken from the network's construction record (``meta``): which grid to check.
Nothing is assumed from it: :func:`theory.certify.pieces._exact_check.check_grid` proves, in exact arithmetic,
that the network really is affine on every simplex of that triangulation, or reports where it is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import permutations, product
from typing import Any, Mapping

import numpy as np
import sympy as sp

from ..._errors import TheoryError, bad

MAX_GRID_VERTICES = 2_000_000  # (n + 1)^k grid vertices a piecewise check may visit (about 3 s per million on 2 cores)


@dataclass(frozen=True)
class Grid:
    """A Kuhn-triangulated grid in index coordinates ``y = M x + o`` over a box of the search variables.

    Grid vertices are the integer points of ``prod_a [0, cells_a]`` in ``y``; each cell ``[c, c + 1]`` is cut into
    ``k!`` Kuhn simplices ``{y_pi(1) - c_pi(1) >= ... >= y_pi(k) - c_pi(k)}`` (one per permutation ``pi``). The
    default ``M`` is diagonal, ``y_a = (x_a - lo_a) cells_a / (hi_a - lo_a)``: the grid is the box. A general
    ``M`` (e.g. the rotated coordinates ``x0 + x1``, ``x0 - x1`` of a product by polarisation) gives a grid that
    must cover the box (checked); only the part of each simplex inside the box is certified.

    Attributes:
        cells: cells per index coordinate (``>= 1``).
        box: the exact interval of each search variable (the certified region).
        source: where the hypothesis comes from (for the certificate).
        matrix, offset: ``M`` (k x k, invertible) and ``o`` as exact rationals; None for the diagonal default.
    """

    cells: tuple[int, ...]
    box: tuple[tuple[Fraction, Fraction], ...]
    source: str
    matrix: tuple[tuple[Fraction, ...], ...] | None = None
    offset: tuple[Fraction, ...] | None = None

    def __post_init__(self) -> None:
        if len(self.cells) != len(self.box) or not self.cells:
            raise bad("cells", self.cells, f"one cell count per variable ({len(self.box)})")
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in self.cells):
            raise bad("cells", self.cells, "ints >= 1")
        if self.vertices > MAX_GRID_VERTICES:
            raise bad("cells", self.cells, f"at most {MAX_GRID_VERTICES} grid vertices (this grid has {self.vertices})")
        if (self.matrix is None) != (self.offset is None):
            raise bad("matrix", self.matrix, "given together with offset")
        if self.matrix is not None:
            assert self.offset is not None  # given together with matrix (checked just above)
            M = sp.Matrix(self.matrix)
            if M.shape != (self.k, self.k) or M.det() == 0 or len(self.offset) != self.k:
                raise bad("matrix", self.matrix, f"an invertible {self.k} x {self.k} matrix and {self.k} offsets")
            for corner in product(*self.box):  # the box must lie in the grid (a convex set: its corners do)
                y = self.to_y(list(corner))
                if any(not 0 <= v <= n for v, n in zip(y, self.cells)):
                    raise bad(
                        "matrix",
                        self.matrix,
                        f"a grid covering the box (corner {tuple(str(c) for c in corner)} is outside)",
                    )

    @property
    def k(self) -> int:
        return len(self.cells)

    @property
    def aligned(self) -> bool:
        """True for the diagonal default: the grid is exactly the box."""
        return self.matrix is None

    @property
    def shape(self) -> tuple[int, ...]:
        """Vertices per axis, ``cells + 1``."""
        return tuple(n + 1 for n in self.cells)

    @property
    def vertices(self) -> int:
        return int(np.prod(self.shape, dtype=object))

    def affine(self) -> tuple[list[list[Fraction]], list[Fraction]]:
        """``(Minv, c)`` with ``x = Minv y + c``, exact."""
        k = self.k
        if self.matrix is None:
            h = [(hi - lo) / n for (lo, hi), n in zip(self.box, self.cells)]
            return [[h[a] if a == b else Fraction(0) for b in range(k)] for a in range(k)], [lo for lo, _ in self.box]
        Minv = sp.Matrix(self.matrix).inv()
        c = -Minv * sp.Matrix(self.offset)
        frac = lambda v: Fraction(int(v.p), int(v.q))  # noqa: E731 - sympy Rational -> Fraction
        return [[frac(Minv[a, b]) for b in range(k)] for a in range(k)], [frac(c[a]) for a in range(k)]

    def to_x(self, y: list[Fraction]) -> list[Fraction]:
        """Index coordinates to the variables, exactly."""
        Minv, c = self.affine()
        return [sum((Minv[a][b] * y[b] for b in range(self.k)), c[a]) for a in range(self.k)]

    def to_y(self, x: list[Fraction]) -> list[Fraction]:
        """The variables to index coordinates, exactly."""
        if self.matrix is None:
            return [(v - lo) * n / (hi - lo) for v, (lo, hi), n in zip(x, self.box, self.cells)]
        offset = self.offset
        assert offset is not None  # given together with matrix (__post_init__)
        return [sum((self.matrix[a][b] * x[b] for b in range(self.k)), offset[a]) for a in range(self.k)]

    def permutations(self) -> np.ndarray:
        """The ``k!`` permutations (rows), each the axis order of one Kuhn simplex."""
        return np.array(list(permutations(range(self.k))), dtype=np.int64).reshape(-1, self.k)


def _find(meta: Any, match: Any) -> int | None:
    """The first non-None ``match(record)`` over a construction record and, depth first, its ``parts``."""
    if not isinstance(meta, Mapping):
        return None
    found = match(meta)
    for part in (meta.get("parts", ()) or ()) if found is None else ():
        found = _find(part, match)
        if found is not None:
            break
    return found


def _pl_cells(rec: Mapping) -> int | None:
    """The cell count ``n`` of a Kuhn interpolation head (``pl_head``, or a "pl" head of ``approximate_sparse``)."""
    if rec.get("construction") == "pl_head" and isinstance(rec.get("n"), int):
        return rec["n"]
    head = rec.get("head")
    n = (head.get("params") or {}).get("n") if isinstance(head, Mapping) and head.get("name") == "pl" else None
    return n if isinstance(n, int) else None


def _product_m(rec: Mapping) -> int | None:
    """The depth ``m`` of a Yarotsky product ``x0 * x1`` by polarisation (``product_head``, or a product or
    polynomial head of ``approximate_sparse`` whose target is ``x0*x1``)."""
    if rec.get("construction") == "product_head" and isinstance(rec.get("m"), int):
        return rec["m"]
    head = rec.get("head")
    if not (isinstance(head, Mapping) and head.get("name") in ("product", "polynomial")):
        return None
    m, target = (head.get("params") or {}).get("m"), rec.get("head_target")
    if not (isinstance(m, int) and isinstance(target, str)):
        return None
    from ...formula import MAX_EXPANDED_TERMS, expanded_terms, parse_formula

    x0, x1 = sp.Symbol("x0", real=True), sp.Symbol("x1", real=True)
    try:
        g = parse_formula(target, variables="head", name="head_target")
        if expanded_terms(g) > MAX_EXPANDED_TERMS:  # a forged record: x0 x1 is never that large
            return None
        return m if sp.expand(g - x0 * x1) == 0 else None
    except Exception:  # noqa: BLE001 - an unreadable record names no grid
        return None


def _polarisation_grid(m: int, box: tuple[tuple[Fraction, Fraction], ...]) -> Grid | None:
    """The grid of ``((x0 + x1)^2 - (x0 - x1)^2) / 4`` with m-step sawtooth squares (:mod:`theory.heads._sawtooth`).

    Each square of a form ``w`` in ``[a, b]`` has its kinks at ``w = +-R j / 2^m`` when folded (``a < 0 < b``,
    ``R = max(-a, b)``), else at ``w = a + R j / 2^m`` (``R = b - a``): a uniform grid in ``w``. The network is
    a sum of functions of ``x0 + x1`` and of ``x0 - x1``, each piecewise linear on that grid's lines.
    """
    (lo0, hi0), (lo1, hi1) = box
    rows, offset, cells = [], [], []
    for sign, (a, b) in ((1, (lo0 + lo1, hi0 + hi1)), (-1, (lo0 - hi1, hi0 - lo1))):
        fold = a < 0 < b
        R = max(-a, b) if fold else b - a
        scale = Fraction(2**m) / R
        rows.append((scale, sign * scale))
        offset.append(R * scale if fold else -a * scale)
        cells.append(2 ** (m + 1) if fold else 2**m)
    try:
        return Grid(
            tuple(cells),
            tuple(box),
            f"Yarotsky product by polarisation, m = {m} (construction record)",
            matrix=tuple(rows),
            offset=tuple(offset),
        )
    except TheoryError:
        return None


def grid_hypothesis(meta: Any, box: tuple[tuple[Fraction, Fraction], ...], read: list[bool]) -> Grid | None:
    """The grid to check, from the construction record, or None when the record names none.

    A Kuhn interpolation head with ``n`` cells per axis (``pl_head``, or ``approximate_sparse`` with a "pl"
    head) suggests ``n`` cells on every variable the network reads (``read[a]``) and one cell on the others; a
    Yarotsky product ``x0 * x1`` (``product_head``, or a polynomial head of that target) the grid of
    :func:`_polarisation_grid`.
    The certified box is used as the grid's box: when it is not the head's box, the exact check simply fails
    and the general search runs.
    """
    if not any(read):
        return None
    m = _find(meta, _product_m)
    if m is not None:
        return _polarisation_grid(m, box) if len(box) == 2 and all(read) else None
    n = _find(meta, _pl_cells)
    if n is None:
        return None
    cells = tuple(n if r else 1 for r in read)
    if int(np.prod([c + 1 for c in cells], dtype=object)) > MAX_GRID_VERTICES:
        return None
    return Grid(cells, tuple(box), f"Kuhn interpolation head, n = {n} (construction record)")
