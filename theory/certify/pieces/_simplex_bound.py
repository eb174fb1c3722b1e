"""Step two of a piecewise certificate: ``sup |A_S - g|`` over every simplex ``S``, refined only near the maximum.

On a Kuhn simplex ``S`` of a cell ``[c, c + 1]`` (index coordinates ``y``, :class:`Grid`) the network is the
affine ``A_S(y) = V(v_0) + sum_i (V(v_i) - V(v_(i-1))) (y_pi(i) - c_pi(i))`` (step one), exact. Each piece is a
row of :func:`theory.certify._form_bounds.form_bounds`: the form ``A_S`` in ``y - c`` (float coefficients, their
rounding in ``E``), the box (the cell, later a sub-box of it) cut by the ``k - 1`` simplex inequalities
``y_pi(i) - c_pi(i) >= y_pi(i+1) - c_pi(i+1)`` (exact in float), and ``g`` in index coordinates
``g(lo + h y)``, so the natural, mean-value and Taylor enclosures all apply, vectorised over all pieces.
Best-first refinement: every piece whose bound exceeds the settling threshold (``eps`` when deciding, else
``(1 + rel_gap) lower``) has its box halved along its widest axis; halves that miss the simplex are dropped.

Lower bound: candidate points of the worst pieces (box centres pushed into the simplex, then a few Newton
steps towards ``grad g = grad A_S``), ranked in float, the best evaluated exactly: ``A_S`` in Fractions (equal
to the network on ``S`` by step one) and ``g`` by a 256-bit interval enclosure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from fractions import Fraction
from itertools import product

import numpy as np
import sympy as sp

from .._cover import CoverLog
from .._enclosure import Target
from .._form_bounds import form_bounds
from .._intervals import TINY, up
from .._sup_search import Budget
from ._grid import Grid

_BATCH = 4096  # pieces bounded per call of form_bounds
_TOP = 64  # pieces whose candidate points are tried per batch
_MIN_WIDTH = 2.0**-30  # sub-boxes narrower than this (index units) are settled as they are


class PieceSearch:
    """Best-first bounding of ``sup_S |A_S - g|`` over the simplices of a grid (module docstring).

    Args:
        grid: the grid; ``values``: exact network values at its vertices (object array, ``grid.shape``).
        expr: the target in the search variables ``names``.
        eps, time_limit_s, rel_gap, seed, progress, max_work: as in :func:`theory.certify_sup_error`; one unit of
            work is one (piece, sub-box) row taken to be halved (:class:`~theory.certify._sup_search.Budget`).
    After :meth:`run`: ``upper`` (float, rigorous), ``lower`` (Fraction or None), ``witness_y`` (index
    coordinates, Fractions), ``pieces``, ``boxes`` (rows bounded), ``open`` (unsettled at the end),
    ``unfinished`` (rows left open and ``eps`` not refuted), ``budget`` (work done, why it stopped).
    """

    def __init__(
        self,
        grid: Grid,
        values: np.ndarray,
        expr: sp.Expr,
        names: list[str],
        eps: float | None,
        time_limit_s: float,
        rel_gap: float,
        seed: int,
        progress: Callable[[dict], None] | None,
        max_work: int | None = None,
    ):
        self.t0 = time.perf_counter()
        self.budget = Budget(self.t0 + time_limit_s, max_work)
        self.grid, self.eps, self.rel_gap, self.progress = grid, eps, rel_gap, progress
        self.rng = np.random.default_rng(seed)
        k = self.k = grid.k
        ys = [sp.Symbol(f"y{a}", real=True) for a in range(k)]
        xs = [sp.Symbol(n, real=True) for n in names]
        Minv, c = grid.affine()
        rat = lambda q: sp.Rational(q.numerator, q.denominator)  # noqa: E731
        sub = {x: rat(c[a]) + sum(rat(Minv[a][b]) * ys[b] for b in range(k)) for a, x in enumerate(xs)}
        self.target = Target(expr.xreplace(sub), [str(y) for y in ys])
        self.Minv = np.array([[float(q) for q in row] for row in Minv])
        self.c = np.array([float(q) for q in c])
        self.box_f = np.array([[float(lo), float(hi)] for lo, hi in grid.box])
        # Minv, c and the box dyadic with few bits: x = Minv y + c and x - lo are exact in float64 on the grid
        D = max(q.denominator for q in [v for row in Minv for v in row] + c + [v for b in grid.box for v in b])
        big = max(abs(q) for q in [v for row in Minv for v in row] + c + [v for b in grid.box for v in b])
        self._dyadic = D & (D - 1) == 0 and D * (big * (1 + sum(grid.cells)) + 1) < 2**50
        # float error of x = Minv y + c on the grid (only used to drop pieces clearly outside the box)
        self.tol = 1e-9 * (
            1.0 + float(np.abs(self.Minv).sum(axis=1).max()) * max(grid.cells) + float(np.abs(self.c).max())
        )
        gexpr = self.target.expr
        grad = [sp.diff(gexpr, y) for y in ys]
        self.grad_np = sp.lambdify(ys, grad, modules="numpy")
        self.hess_np = sp.lambdify(ys, [[sp.diff(g_, y) for y in ys] for g_ in grad], modules="numpy")
        self._pieces(values)
        self.boxes = 0
        self.settled = -np.inf
        self.lower: Fraction | None = None
        self.lower_f = 0.0
        self.witness_y: list[Fraction] | None = None
        self.exact_evals = 0
        self.cover = CoverLog()  # the final cover, the certificate's proof object

    # -- the pieces: one row per (cell, permutation)
    def _pieces(self, values: np.ndarray) -> None:
        k, grid = self.k, self.grid
        cells = np.indices(grid.cells).reshape(k, -1).T  # (C, k)
        perms = grid.permutations()  # (m, k)
        C, m = cells.shape[0], perms.shape[0]
        cell = np.repeat(cells, m, axis=0)  # (N, k)
        perm = np.tile(perms, (C, 1))  # (N, k)
        N = C * m
        v = cell.copy()
        prev = values[tuple(v.T)]
        coef = np.empty((N, k), dtype=object)
        rows = np.arange(N)
        for i in range(k):
            v[rows, perm[:, i]] += 1
            cur = values[tuple(v.T)]
            coef[rows, perm[:, i]] = cur - prev
            prev = cur
        self.cell, self.perm = cell, perm
        self.coef_q, self.const_q = coef, values[tuple(cell.T)]
        fc = np.vectorize(float, otypes=[np.float64])
        F = np.empty((N, k + 1))
        F[:, :k] = fc(coef)
        F[:, k] = fc(self.const_q)
        self.F = F
        # |fl(q) - q| <= 2^-53 |fl(q)| (1 + 2^-52) per coefficient, |y - c| <= 1 on the cell: factor 2 covers both
        self.E = up(up(np.abs(F).sum(axis=1)) * 2.0**-52) + TINY
        J = k - 1 if grid.aligned else 3 * k - 1
        CF = np.zeros((N, J, k + 1))
        CE = np.zeros((N, J))
        for j in range(k - 1):
            CF[rows, j, perm[:, j]] = 1.0
            CF[rows, j, perm[:, j + 1]] = -1.0
        if not grid.aligned:
            # the box in index coordinates: x_a - lo_a >= 0 and hi_a - x_a >= 0 with x = Minv (y - O) + (Minv O + c);
            # the float constants are relaxed by CE, a bound on their rounding (a larger polytope is sound)
            O = cell.astype(np.float64)
            xo = O @ self.Minv.T + self.c
            for a in range(k):
                for side, j in ((1.0, k - 1 + 2 * a), (-1.0, k + 2 * a)):
                    CF[:, j, :k] = side * self.Minv[a]
                    CF[:, j, k] = side * (xo[:, a] - self.box_f[a, 0 if side > 0 else 1])
                    if not self._dyadic:
                        CE[:, j] = up(
                            2.0**-50 * (np.abs(O) @ np.abs(self.Minv[a]) + abs(self.c[a]) + abs(self.box_f[a]).max())
                            + TINY
                        )
        self.CF, self.CE, self.CS = CF, CE, np.ones((N, J))
        self.pieces = N
        if not grid.aligned:  # pieces whose simplex lies clearly outside the box are empty there
            verts = [cell.astype(np.float64)]
            for i in range(k):
                nxt = verts[-1].copy()
                nxt[rows, perm[:, i]] += 1.0
                verts.append(nxt)
            self.inside = self._meets_box(np.stack(verts, axis=1))
        else:
            self.inside = np.ones(N, dtype=bool)

    # -- bounds of a batch of (piece, box) rows
    def _bound(self, pid: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        out = np.empty(pid.size)
        for s in range(0, pid.size, _BATCH):
            p, l_, h_ = pid[s : s + _BATCH], lo[s : s + _BATCH], hi[s : s + _BATCH]
            n = p.size
            gd = self.target.data(l_.T.copy(), h_.T.copy())
            use = np.ones(n, dtype=bool)
            s_up, s_lo, _ = form_bounds(
                self.F[p],
                self.E[p],
                self.CF[p],
                self.CE[p],
                self.CS[p],
                use,
                use,
                np.arange(n),
                gd,
                self.cell[p].astype(np.float64),
            )
            out[s : s + n] = np.maximum(s_up, s_lo)
            self.boxes += n
        return out

    def _meets_box(self, pts: np.ndarray) -> np.ndarray:
        """False where all points ``pts (N, V, k)`` (index coordinates) are beyond one face of the box by more than
        the float tolerance: the convex hull of the points misses the box."""
        x = pts @ self.Minv.T + self.c
        out = np.zeros(pts.shape[0], dtype=bool)
        for a in range(self.k):
            out |= (x[:, :, a] < self.box_f[a, 0] - self.tol).all(axis=1)
            out |= (x[:, :, a] > self.box_f[a, 1] + self.tol).all(axis=1)
        return ~out

    def _feasible(self, pid: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Whether each box meets its simplex ``t_pi(1) >= ... >= t_pi(k)`` (``t = y - c``): greedy from the top."""
        c = self.cell[pid]
        t = np.full(pid.size, np.inf)
        ok = np.ones(pid.size, dtype=bool)
        rows = np.arange(pid.size)
        for i in range(self.k):
            a = self.perm[pid, i]
            t = np.minimum(t, hi[rows, a] - c[rows, a])
            ok &= t >= lo[rows, a] - c[rows, a]
        if not self.grid.aligned:
            corners = np.stack(
                [np.where(np.array(bits, dtype=bool), hi, lo) for bits in product((0, 1), repeat=self.k)], axis=1
            )
            ok &= self._meets_box(corners)
        return ok

    # -- lower bound
    def _into_simplex(self, pid: np.ndarray, y: np.ndarray) -> np.ndarray:
        c = self.cell[pid]
        t = np.clip(y - c, 0.0, 1.0)
        rows = np.arange(pid.size)
        run = np.full(pid.size, np.inf)
        for i in range(self.k):
            a = self.perm[pid, i]
            run = np.minimum(run, t[rows, a])
            t[rows, a] = run
        return c + t

    def _score(self, pid: np.ndarray, y: np.ndarray) -> np.ndarray:
        A = self.F[pid, self.k] + ((y - self.cell[pid]) * self.F[pid, : self.k]).sum(axis=1)
        return np.abs(A - self.target.values_np(y.T))

    def _newton(self, pid: np.ndarray, y: np.ndarray, steps: int = 3) -> np.ndarray:
        a = self.F[pid, : self.k]
        for _ in range(steps):
            with np.errstate(all="ignore"):
                g1 = np.stack([np.broadcast_to(v, y.shape[:1]) for v in self.grad_np(*y.T)], axis=1)
                H = np.stack(
                    [np.stack([np.broadcast_to(v, y.shape[:1]) for v in row], axis=1) for row in self.hess_np(*y.T)],
                    axis=1,
                )
                try:
                    step = np.linalg.solve(H, (g1 - a)[:, :, None])[:, :, 0]
                except np.linalg.LinAlgError:
                    return y
            ok = np.all(np.isfinite(step), axis=1)
            y = np.where(ok[:, None], self._into_simplex(pid, y - np.where(ok[:, None], step, 0.0)), y)
        return y

    def _candidates(self, pid: np.ndarray, lo: np.ndarray, hi: np.ndarray, bound: np.ndarray) -> None:
        top = np.argsort(-bound, kind="stable")[:_TOP]
        p, l_, h_ = pid[top], lo[top], hi[top]
        pts = [
            self._into_simplex(p, 0.5 * (l_ + h_)),
            self._into_simplex(p, l_ + self.rng.random(l_.shape) * (h_ - l_)),
        ]
        pts.append(self._newton(p, pts[0]))
        verts = [self.cell[p].astype(np.float64)]  # the simplex's vertices, then its edge midpoints
        for i in range(self.k):
            nxt = verts[-1].copy()
            nxt[np.arange(p.size), self.perm[p, i]] += 1.0
            verts.append(nxt)
        pts += [0.5 * (verts[i] + verts[j]) for i in range(self.k + 1) for j in range(i + 1, self.k + 1)]
        P = np.concatenate(pts)
        Pid = np.concatenate([p] * len(pts))
        sc = self._score(Pid, P)
        sc = np.where(np.isfinite(sc), sc, -1.0)
        if not self.grid.aligned:  # only points of the certified box can be witnesses
            x = P @ self.Minv.T + self.c
            sc = np.where(((x >= self.box_f[:, 0]) & (x <= self.box_f[:, 1])).all(axis=1), sc, -1.0)
        for j in np.argsort(-sc, kind="stable")[:3]:
            if sc[j] >= 0 and (sc[j] > self.lower_f or self.lower is None):
                self._exact(int(Pid[j]), P[j])

    def _exact(self, pid: int, y: np.ndarray) -> None:
        self.exact_evals += 1
        yq = [Fraction(float(v)) for v in y]
        if not self.grid.aligned and any(not lo <= v <= hi for v, (lo, hi) in zip(self.grid.to_x(yq), self.grid.box)):
            return  # outside the certified box
        c = self.cell[pid]
        A = self.const_q[pid] + sum(self.coef_q[pid, a] * (yq[a] - int(c[a])) for a in range(self.k))
        g = self.target.point_hp(yq)
        if g is None:
            return
        val = max(A - g[1], g[0] - A, Fraction(0))
        if self.lower is None or val > self.lower:
            self.lower, self.lower_f, self.witness_y, self.witness_piece = val, float(val), yq, pid

    # -- the search
    def threshold(self) -> float:
        if self.eps is not None:
            return self.eps
        return (1.0 + self.rel_gap) * self.lower_f if self.lower_f > 0 else 0.0

    def run(self) -> None:
        pid = np.flatnonzero(self.inside)
        nid = np.array([self.cover.root(int(p)) for p in pid], dtype=np.int64)  # pid is the canonical piece number
        lo = self.cell[pid].astype(np.float64)
        hi = lo + 1.0
        bound = self._bound(pid, lo, hi)
        self._candidates(pid, lo, hi, bound)
        while True:
            thr = self.threshold()
            done = bound <= thr
            if done.any():
                self.settled = max(self.settled, float(bound[done].max()))
                self.cover.leaves(nid[done], bound[done])
                pid, nid, lo, hi, bound = pid[~done], nid[~done], lo[~done], hi[~done], bound[~done]
            if self.progress is not None:
                self.progress(
                    {
                        "boxes": self.boxes,
                        "open_boxes": int(pid.size),
                        "upper": self.upper(bound),
                        "lower": None if self.lower is None else self.lower_f,
                        "elapsed_s": time.perf_counter() - self.t0,
                    }
                )
            self.budget.stopped_by = self.budget.spent() if pid.size else None
            if not pid.size or self.budget.stopped_by is not None:
                break
            if self.eps is not None and self.lower is not None and self.lower_f > self.eps:
                break
            order = np.argsort(-bound, kind="stable")
            n = self.budget.take(min(_BATCH // 2, pid.size))
            sel, keep = order[:n], order[n:]
            p, q, l_, h_, b_ = pid[sel], nid[sel], lo[sel], hi[sel], bound[sel]
            w = h_ - l_
            ax = np.argmax(w, axis=1)
            narrow = w[np.arange(sel.size), ax] < _MIN_WIDTH
            if narrow.any():
                self.settled = max(self.settled, float(b_[narrow].max()))
                self.cover.leaves(q[narrow], b_[narrow])
                p, q, l_, h_, ax = p[~narrow], q[~narrow], l_[~narrow], h_[~narrow], ax[~narrow]
            r = np.arange(p.size)
            mid = 0.5 * (l_[r, ax] + h_[r, ax])
            q1, q2 = self.cover.split_many(q, ax, mid)
            h1, l2 = h_.copy(), l_.copy()
            h1[r, ax] = mid
            l2[r, ax] = mid
            cp, cl, ch = np.concatenate([p, p]), np.concatenate([l_, l2]), np.concatenate([h1, h_])
            cq = np.concatenate([q1, q2])
            ok = self._feasible(cp, cl, ch)
            self.cover.missed(cq[~ok])
            cp, cq, cl, ch = cp[ok], cq[ok], cl[ok], ch[ok]
            cb = self._bound(cp, cl, ch)
            self._candidates(cp, cl, ch, cb)
            pid, nid = np.concatenate([pid[keep], cp]), np.concatenate([nid[keep], cq])
            lo, hi = np.concatenate([lo[keep], cl]), np.concatenate([hi[keep], ch])
            bound = np.concatenate([bound[keep], cb])
        self.cover.leaves(nid, bound)  # the open rows are leaves of the final cover too
        self.open = int(pid.size)
        self.upper_f = self.upper(bound)
        self.unfinished = bool(pid.size) and not (self.eps is not None and self.lower_f > self.eps)

    def upper(self, bound: np.ndarray) -> float:
        return float(max(self.settled, bound.max() if bound.size else -np.inf, 0.0))
