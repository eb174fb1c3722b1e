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
from itertools import combinations

from flint import arb, fmpq

from ._balls import ball, exact, span, upper
from ._target import BallTarget


def polytope_vertices(rows: Sequence[Sequence[fmpq]], rhs: Sequence[fmpq], k: int) -> list[list[fmpq]]:
    """Every vertex of ``{z : rows . z <= rhs}`` (bounded, ``k`` small), exactly: the solutions of each ``k`` of the
    constraints taken as equalities that satisfy all of them. Empty when the polytope is."""
    from itertools import combinations

    pts = []
    for pick in combinations(range(len(rows)), k):
        if k == 2:  # Cramer's rule: most regions are polygons
            (a1, b1), (a2, b2) = rows[pick[0]], rows[pick[1]]
            det = a1 * b2 - a2 * b1
            if det != 0:
                c1, c2 = rhs[pick[0]], rhs[pick[1]]
                z = [(c1 * b2 - c2 * b1) / det, (a1 * c2 - a2 * c1) / det]
                if all(r0 * z[0] + r1 * z[1] <= b for (r0, r1), b in zip(rows, rhs)):
                    pts.append(z)
            continue
        M = [[*rows[i], rhs[i]] for i in pick]
        for col in range(k):  # Gaussian elimination, exactly
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


def linear_range(l: Sequence[arb], mid: Sequence[fmpq], rad: Sequence[fmpq], verts: list | None) -> tuple[arb, arb]:
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


def _solve(M: list, rhs: list) -> list | None:
    """``M x = rhs`` exactly (fmpq); None when singular (the face has a flat direction: its extremes lie on its
    own faces)."""
    n = len(rhs)
    A = [[*row, r] for row, r in zip(M, rhs)]
    for col in range(n):
        piv = next((r for r in range(col, n) if A[r][col] != 0), None)
        if piv is None:
            return None
        A[col], A[piv] = A[piv], A[col]
        for r in range(n):
            if r != col and A[r][col] != 0:
                f = A[r][col] / A[col][col]
                A[r] = [a - f * b for a, b in zip(A[r], A[col])]
    return [A[i][n] / A[i][i] for i in range(n)]


def quadratic_range(c: fmpq, l: Sequence[fmpq], H: list, rows: list, rhs: list) -> tuple[fmpq, fmpq] | None:
    """The exact range of ``c + l . t - t^T H t / 2`` over the bounded polytope ``{t : rows . t <= rhs}``
    (exact rationals, ``H`` symmetric): the stationary points of every face (``H t + R_S^T lam = l``,
    ``R_S t = rhs_S`` for each set ``S`` of at most ``k`` constraints) that lie in the polytope; None if none does."""
    k, vals = len(l), []
    zero = fmpq(0)
    for size in range(k + 1):
        for S in combinations(range(len(rows)), size):
            M = [[*H[i], *(rows[s][i] for s in S)] for i in range(k)] + [[*rows[s], *([zero] * size)] for s in S]
            sol = _solve(M, [*l, *(rhs[s] for s in S)])
            if sol is None:
                continue
            t = sol[:k]
            if any(sum((a * x for a, x in zip(row, t)), zero) > b for row, b in zip(rows, rhs)):
                continue
            quad = sum((t[i] * H[i][j] * t[j] for i in range(k) for j in range(k)), zero)
            vals.append(c + sum((a * x for a, x in zip(l, t)), zero) - quad / 2)
    return (min(vals), max(vals)) if vals else None


def _near(x: arb) -> tuple[fmpq, arb]:
    """A float-sized rational near ``x`` and a ball holding ``|x - it|``."""
    q = exact(float(x.mid()))
    return q, abs(x - ball(q))


def region_bound(
    a: Sequence[arb],
    c: arb,
    e: arb,
    target: BallTarget,
    lo: Sequence[fmpq],
    hi: Sequence[fmpq],
    cuts: tuple[list, list] | None = None,
    claim: fmpq | None = None,
) -> fmpq | None:
    """An exact upper bound of ``|a . (z - m) + c +- e - g(z)|`` over the box ``[lo, hi]`` (cut by the constraints
    ``rows . z <= rhs`` of ``cuts`` when given; ``m`` the box's midpoint), or None where no form gives a finite
    one. The forms are tried from the cheapest and compared by their exact upper ends (a wide ball's radius is
    kept to 30 bits only); the first at most ``claim`` is returned. Module docstring."""
    k = len(lo)
    mid = [(p + q) / 2 for p, q in zip(lo, hi)]
    rad = [(q - p) / 2 for p, q in zip(lo, hi)]
    verts = None
    rows_t = [[fmpq(int(i == j) * s) for j in range(k)] for i in range(k) for s in (1, -1)]
    rhs_t = [r for r in rad for _ in (1, -1)]
    if cuts is not None:
        box_rows = [[fmpq(int(i == j)) * s for j in range(k)] for i in range(k) for s in (1, -1)]
        box_rhs = [v for p, q in zip(lo, hi) for v in (q, -p)]
        verts = polytope_vertices(box_rows + cuts[0], box_rhs + cuts[1], k)
        if not verts:
            return fmpq(0)  # an empty region: nothing to bound
        rows_t += cuts[0]
        rhs_t += [b - sum((v * x for v, x in zip(row, mid)), fmpq(0)) for row, b in zip(*cuts)]
    box = [span(p, q) for p, q in zip(lo, hi)]
    best: fmpq | None = None

    def done(b: arb) -> bool:
        nonlocal best
        b = b + e
        if b.is_finite():
            end = upper(b)
            best = end if best is None else min(best, end)
        return best is not None and claim is not None and best <= claim

    if target.smooth:
        m = [ball(v) for v in mid]
        slope = [ai - d(m) for ai, d in zip(a, target.grad)]
        c2 = c - target.value(m)
        H = target.constant_hess or [[target.hess[i][j](box) for j in range(i + 1)] for i in range(k)]
        cross = sum((abs(H[i][j]) * ball(rad[i] * rad[j]) for i in range(k) for j in range(i)), arb(0))
        if verts is None:  # separable: per variable the exact range of slope_i t - H_ii t^2 / 2, cross terms by size
            qs = [_quadratic_range(slope[i], H[i][i], ball(rad[i])) for i in range(k)]
            s_lo = c2 + sum((q[0] for q in qs), arb(0)) - cross
            s_hi = c2 + sum((q[1] for q in qs), arb(0)) + cross
            if done(arb.max(s_hi, -s_lo)):
                return best
        else:  # the linear part over the polytope, the quadratic part over the box
            lmin, lmax = linear_range(slope, mid, rad, verts)
            q_lo = sum((arb.min(arb(0), -H[i][i].upper() * ball(rad[i] ** 2) / 2) for i in range(k)), arb(0))
            q_hi = sum((arb.max(arb(0), -H[i][i].lower() * ball(rad[i] ** 2) / 2) for i in range(k)), arb(0))
            if done(arb.max(c2 + lmax + q_hi + cross, -(c2 + lmin + q_lo - cross))):
                return best
        # the quadratic at m with exact midpoints over the region exactly; the balls' radii and the order-3
        # remainder (0 for a quadratic target) by size
        Hm = target.constant_hess or [[target.hess[i][j](m) for j in range(i + 1)] for i in range(k)]
        full = [[Hm[i][j] if j <= i else Hm[j][i] for j in range(k)] for i in range(k)]
        third = zip(target.third, target.third_index)
        rem = sum((abs(f(box)) * n * ball(rad[i] * rad[j] * rad[l]) for (f, n), (i, j, l) in third), arb(0)) / 6
        # float-sized rationals near the balls keep the exact solves small; the distance goes into the remainder
        (cq, dc), ls, Hs = _near(c2), [_near(s_) for s_ in slope], [[_near(h) for h in row] for row in full]
        rem += dc + sum((d * ball(r) for (_, d), r in zip(ls, rad)), arb(0))
        rem += sum((Hs[i][j][1] * ball(rad[i] * rad[j]) for i in range(k) for j in range(k)), arb(0)) / 2
        qr = quadratic_range(cq, [q for q, _ in ls], [[q for q, _ in row] for row in Hs], rows_t, rhs_t)
        if qr is not None and done(arb.max(ball(qr[1]) + rem, -(ball(qr[0]) - rem))):
            return best
    amin, amax = linear_range(a, mid, rad, verts)
    g_box = target.value(box)
    done(arb.max(c + amax - g_box, g_box - c - amin))
    return best
