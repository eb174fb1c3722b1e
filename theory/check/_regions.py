"""The checker's own bound of ``|net - g|`` on one region: a box, or a box cut by a Kuhn simplex.

The network on the region is an affine form ``a . (z - m) + c`` with an error radius ``e`` (exact on a simplex
where the network is affine, a ball enclosure on a box). With ``g``'s Taylor expansion at the box's midpoint
``m`` (radius ``r``),

    net(z) - g(z) = (c - g(m)) + (a - grad g(m)) . (z - m) - (1/2) (z - m)^T H(xi) (z - m)  (+- e),

so ``|net - g| <= max(c' + L_max, -(c' + L_min)) + (1/2) sum_ij |H_ij(box)| r_i r_j + e`` with ``c' = c - g(m)``
and ``L_min``, ``L_max`` the exact range of the linear term over the region (over a box: ``+- sum |l_i| r_i``;
over a box cut by the simplex ``t_pi(1) >= ... >= t_pi(k)``: the best vertex of that polytope,
:func:`chain_range`). The natural form ``max(A_hi - g_lo, g_hi - A_lo)`` is also taken (the only one for a
target that is not twice differentiable); the smaller bound counts. Source: Neumaier, *Taylor forms - use and
limits*, Reliable Computing 9 (2003); the combination is ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from itertools import product

from flint import arb

from ._balls import ball, span, upper
from ._target import BallTarget


def _compositions(k: int) -> list[list[int]]:
    """Ways to cut ``0..k-1`` into consecutive blocks (block sizes)."""
    out = []
    for cuts in product((0, 1), repeat=k - 1):
        sizes, run = [], 1
        for c in cuts:
            if c:
                sizes.append(run)
                run = 1
            else:
                run += 1
        out.append([*sizes, run])
    return out


def chain_vertices(lo: Sequence[Fraction], hi: Sequence[Fraction], perm: Sequence[int]) -> list[list[Fraction]]:
    """Every vertex of ``{t : lo <= t <= hi, t_perm[0] >= t_perm[1] >= ...}`` (possibly with repeats); empty when
    the polytope is. A vertex has each block of equal consecutive chain coordinates at a bound of one member."""
    k = len(perm)
    pts = []
    for sizes in _compositions(k):
        blocks, at = [], 0
        for s in sizes:
            blocks.append(list(perm[at : at + s]))
            at += s
        choices = [sorted({v for a in blk for v in (lo[a], hi[a])}, reverse=True) for blk in blocks]
        for vals in product(*choices):
            if any(vals[i] < vals[i + 1] for i in range(len(vals) - 1)):
                continue
            t: list[Fraction] = [Fraction(0)] * k
            ok = True
            for blk, v in zip(blocks, vals):
                for a in blk:
                    ok &= lo[a] <= v <= hi[a]
                    t[a] = v
            if ok:
                pts.append(t)
    return pts


def polytope_vertices(rows: Sequence[Sequence[Fraction]], rhs: Sequence[Fraction], k: int) -> list[list[Fraction]]:
    """Every vertex of ``{z : rows . z <= rhs}`` (bounded, ``k`` small), exactly: the solutions of each ``k`` of the
    constraints taken as equalities that satisfy all of them. Empty when the polytope is."""
    from itertools import combinations

    pts = []
    for pick in combinations(range(len(rows)), k):
        M = [[*rows[i], rhs[i]] for i in pick]
        for col in range(k):  # Gaussian elimination in Fractions
            piv = next((r for r in range(col, k) if M[r][col] != 0), None)
            if piv is None:
                break
            M[col], M[piv] = M[piv], M[col]
            for r in range(k):
                if r != col and M[r][col] != 0:
                    f = M[r][col] / M[col][col]
                    M[r] = [a - f * b for a, b in zip(M[r], M[col])]
        else:
            z = [M[i][k] / M[i][i] for i in range(k)]
            if all(sum(a * v for a, v in zip(row, z)) <= b for row, b in zip(rows, rhs)):
                pts.append(z)
    return pts


def linear_range(
    l: Sequence[arb], mid: Sequence[Fraction], rad: Sequence[Fraction], verts: list | None
) -> tuple[arb, arb]:
    """``(min, max)`` of ``l . (z - mid)`` over the box ``mid +- rad`` (``verts`` None) or over the polytope with
    vertices ``verts`` (coordinates ``z``)."""
    if verts is None:
        s = sum((abs(a) * ball(r) for a, r in zip(l, rad)), arb(0))
        return -s, s
    vals = [sum((a * ball(v - m) for a, v, m in zip(l, z, mid)), arb(0)) for z in verts]
    lo, hi = vals[0], vals[0]
    for v in vals[1:]:
        lo, hi = arb.min(lo, v), arb.max(hi, v)
    return lo, hi


def _quadratic_range(l: arb, h: arb, r: arb) -> tuple[arb, arb]:
    """The range of ``l t - h t^2 / 2`` over ``t`` in ``[-r, r]`` and ``h`` in the ball ``h``: the ends ``t = +-r``
    and the vertex ``t = l / h`` (where it may lie inside), at both ends of ``h`` (linear in ``h``)."""
    vals = []
    for hh in (arb(h.lower()), arb(h.upper())):
        vals += [l * r - hh * r * r / 2, -l * r - hh * r * r / 2]
        if not hh.is_zero() and not abs(l) > abs(hh) * r:
            vals.append(l * l / (2 * hh))
    lo, hi = vals[0], vals[0]
    for v in vals[1:]:
        lo, hi = arb.min(lo, v), arb.max(hi, v)
    return lo, hi


def _quadratic_box_range(c: arb, l: Sequence[arb], H: list, rad: Sequence[Fraction]) -> tuple[arb, arb]:
    """The exact range of ``c + l . t - t^T H t / 2`` over ``|t_i| <= rad_i`` for a constant ``H``: the stationary
    point of every face (free coordinates solve ``H_FF t_F = l_F - H_F,fixed t_fixed``) where it may lie inside."""
    k = len(l)
    vals = []
    for kinds in product((-1, 0, 1), repeat=k):  # 0: free, +-1: fixed at +-rad
        t: list = [ball(s * r) if s else None for s, r in zip(kinds, rad)]
        free = [i for i in range(k) if kinds[i] == 0]
        if free:
            rhs = [l[i] - sum((H[i][j] * t[j] for j in range(k) if kinds[j]), arb(0)) for i in free]
            M = [[H[i][j] for j in free] for i in free]
            sol = _solve(M, rhs)
            if sol is None:
                continue
            if any(abs(v) > ball(rad[i]) for v, i in zip(sol, free)):
                continue
            for v, i in zip(sol, free):
                t[i] = v
        vals.append(
            c
            + sum((a * x for a, x in zip(l, t)), arb(0))
            - sum((t[i] * H[i][j] * t[j] for i in range(k) for j in range(k)), arb(0)) / 2
        )
    lo, hi = vals[0], vals[0]
    for v in vals[1:]:
        lo, hi = arb.min(lo, v), arb.max(hi, v)
    return lo, hi


def _solve(M: list, rhs: list) -> list | None:
    """``M x = rhs`` by elimination in balls; None where a pivot may be 0 (a flat direction: the face's extremes
    lie on its own faces)."""
    n = len(rhs)
    A = [[*row, r] for row, r in zip(M, rhs)]
    for col in range(n):
        piv = next((r for r in range(col, n) if not A[r][col].contains(0)), None)
        if piv is None:
            return None
        A[col], A[piv] = A[piv], A[col]
        for r in range(n):
            if r != col:
                f = A[r][col] / A[col][col]
                A[r] = [a - f * b for a, b in zip(A[r], A[col])]
    return [A[i][n] / A[i][i] for i in range(n)]


def region_bound(
    a: Sequence[arb],
    c: arb,
    e: arb,
    target: BallTarget,
    lo: Sequence[Fraction],
    hi: Sequence[Fraction],
    verts: list | None = None,
) -> Fraction | None:
    """An exact upper bound of ``|a . (z - m) + c +- e - g(z)|`` over the box ``[lo, hi]`` (cut to the polytope
    with vertices ``verts`` when given; ``m`` the box's midpoint), or None where no form gives a finite one. The
    forms are compared by their exact upper ends (a wide ball's radius is kept to 30 bits only). Module
    docstring."""
    k = len(lo)
    if verts is not None and not verts:
        return Fraction(0)  # an empty region: nothing to bound
    mid = [(p + q) / 2 for p, q in zip(lo, hi)]
    rad = [(q - p) / 2 for p, q in zip(lo, hi)]
    box = [span(p, q) for p, q in zip(lo, hi)]
    amin, amax = linear_range(a, mid, rad, verts)
    g_box = target.value(box)
    bounds = [arb.max(c + amax - g_box, g_box - c - amin)]
    if target.smooth:
        m = [ball(v) for v in mid]
        slope = [ai - d(m) for ai, d in zip(a, target.grad)]
        c2 = c - target.value(m)
        H = [[target.hess[i][j](box) for j in range(i + 1)] for i in range(k)]
        cross = sum((2 * abs(H[i][j]) * ball(rad[i] * rad[j]) / 2 for i in range(k) for j in range(i)), arb(0))
        # separable: per variable the exact range of slope_i t - H_ii t^2 / 2, the cross terms by magnitude
        qs = [_quadratic_range(slope[i], H[i][i], ball(rad[i])) for i in range(k)]
        s_lo = c2 + sum((q[0] for q in qs), arb(0)) - cross
        s_hi = c2 + sum((q[1] for q in qs), arb(0)) + cross
        bounds.append(arb.max(s_hi, -s_lo))
        if target.constant_hessian and verts is None:  # exact: the order-2 expansion of a quadratic target
            full = [[H[i][j] if j <= i else H[j][i] for j in range(k)] for i in range(k)]
            q_lo, q_hi = _quadratic_box_range(c2, slope, full, rad)
            bounds.append(arb.max(q_hi, -q_lo))
        if verts is not None:  # the linear part over the polytope, the quadratic part over the box
            lmin, lmax = linear_range(slope, mid, rad, verts)
            q_lo = sum((arb.min(arb(0), -H[i][i].upper() * ball(rad[i] ** 2) / 2) for i in range(k)), arb(0))
            q_hi = sum((arb.max(arb(0), -H[i][i].lower() * ball(rad[i] ** 2) / 2) for i in range(k)), arb(0))
            bounds.append(arb.max(c2 + lmax + q_hi + cross, -(c2 + lmin + q_lo - cross)))
    ends = [upper(b + e) for b in bounds if (b + e).is_finite()]
    return min(ends) if ends else None
