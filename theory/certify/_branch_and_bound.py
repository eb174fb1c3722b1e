"""The best-first branch-and-bound search of :func:`certify_sup_error` over sub-boxes (see :mod:`theory.certify._certify`).

A box's state is a rep (:class:`_RepState`, bounded by propagation and simplified per box) or, once small
enough, its enumerated activation patterns (:class:`_PatState`, only filtered on sub-boxes). :class:`Search`
bounds boxes in vectorised batches (:func:`theory.certify._form_bounds.form_bounds`), splits the worst ones, and
keeps the best rigorous lower bound found at candidate points.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ._cone import Rep, breakpoints, root_rep, to_local
from ._enclosure import GData, Target
from .._errors import TheoryError
from ._form_bounds import form_bounds
from ._intervals import TINY, dn, slack, up
from ._patterns import enumerate_patterns
from ._propagate import UNSTABLE, exact_output, propagate, simplify

@dataclass(eq=False)
class _PatState:
    """A rep small enough to enumerate: its affine pieces on the box where they were enumerated (valid on
    every sub-box), with the constraints describing where each applies."""

    rep: Rep
    F: np.ndarray
    E: np.ndarray
    CF: np.ndarray
    CE: np.ndarray
    CS: np.ndarray

    @property
    def P(self) -> int:
        return self.F.shape[0]

    def subset(self, keep: np.ndarray) -> "_PatState":
        return _PatState(self.rep, self.F[keep], self.E[keep], self.CF[keep], self.CE[keep], self.CS[keep])

    def feasible(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """``(B, P)``: False where a constraint proves that no point of box b follows pattern p."""
        B = lo.shape[1]
        if not self.CS.shape[1]:
            return np.ones((B, self.P), dtype=bool)
        k = self.rep.k
        lo, hi = to_local(self.rep, lo, hi)
        sf = self.CS[:, :, None] * self.CF                                       # (P, J, K1)
        a = sf[None, :, :, :k]
        l, h = lo.T[:, None, None, :], hi.T[:, None, None, :]
        mx = sf[None, :, :, k] + np.maximum(a * l, a * h).sum(axis=3)
        X = np.maximum(np.abs(l), np.abs(h))
        err = slack(k + 1) * (np.abs(sf[None, :, :, k]) + (np.abs(a) * X).sum(axis=3)) + TINY
        ok = up(up(mx + err) + self.CE[None]) >= 0
        ok |= (self.CS == 0)[None]
        return ok.all(axis=2)


@dataclass(eq=False)
class _RepState:
    rep: Rep
    failed: int = 1 << 30        # unstable count at which pattern enumeration last failed (skip until it shrinks)


@dataclass(eq=False)
class _Node:
    lo: np.ndarray
    hi: np.ndarray
    upper: float
    state: Any
    depth: int


def _rep_eval(rep: Rep, pts: np.ndarray) -> np.ndarray:
    """Float forward pass of a rep at points ``(k, N)`` (estimates only; perturbations ignored)."""
    h = np.empty((rep.n, pts.shape[1]))
    pts = pts - rep.o[:, None]
    for l in range(len(rep.src)):
        s, e = int(rep.starts[l]), int(rep.starts[l + 1])
        z = rep.a[s:e] @ pts + rep.c[s:e, None]
        if rep.src[l].size:
            z[rep.own[l]] += np.add.reduceat(rep.w[l][:, None] * h[rep.src[l]], rep.seg[l], axis=0)
        h[s:e] = np.where(rep.relu[s:e, None], np.maximum(z, 0.0), z)
    return h[-1]


# ------------------------------------------------------------------------------------------------- the search
class Search:
    def __init__(self, cone, expr, names, var_index, box, eps, time_limit_s, rel_gap, max_patterns, seed=0,
                 progress=None):
        self.t0 = time.perf_counter()
        self.progress = progress  # called after every batch with the state (see report)
        self.cone = cone
        self.target = Target(expr, names)
        self.names = names
        self.k = len(names)
        self.var_index = var_index
        lo = np.array([float(a) for a, _ in box])
        hi = np.array([float(b) for _, b in box])
        self.lo0 = np.where([Fraction(v) > q for v, (q, _) in zip(lo, box)], dn(lo), lo)  # outer float box
        self.hi0 = np.where([Fraction(v) < q for v, (_, q) in zip(hi, box)], up(hi), hi)
        self.lo_in = np.where([Fraction(v) < q for v, (q, _) in zip(lo, box)], up(lo), lo)  # inner float box
        self.hi_in = np.where([Fraction(v) > q for v, (_, q) in zip(hi, box)], dn(hi), hi)
        self.width0 = np.where(self.hi0 > self.lo0, self.hi0 - self.lo0, 1.0)
        self.eps = eps
        self.deadline = self.t0 + time_limit_s
        self.rel_gap = rel_gap
        self.max_patterns = max_patterns
        self.max_units = 96      # enumeration is attempted on reps with at most this many unstable units
        self.lower: Fraction | None = None
        self.lower_f = 0.0
        self.witness: np.ndarray | None = None
        self.settled = 0.0
        self.heap: list = []
        self.count = itertools.count()
        self.boxes = 0
        self.max_unstable = 0
        self.max_pat = 0
        self.exact_evals = 0
        self.min_width_hit = False
        self.root = root_rep(cone, var_index, self.k, self.lo0, self.hi0)
        self._bp: dict[int, tuple] = {}
        self._rows_F = None
        self.rng = np.random.default_rng(seed)

    # -- thresholds and status
    def threshold(self) -> float:
        """Boxes whose bound is at most this are settled: ``eps`` when deciding, else ``(1 + gap) lower``."""
        if self.eps is not None:
            return self.eps
        return (1.0 + self.rel_gap) * self.lower_f if self.lower_f > 0 else 0.0

    def upper(self) -> float:
        return max(self.settled, -self.heap[0][0] if self.heap else 0.0)

    def done(self) -> bool:
        if not self.heap:
            return True
        if self.eps is not None and self.lower is not None and self.lower_f > self.eps:
            return True
        return -self.heap[0][0] <= self.threshold()

    # -- one batch of boxes
    def process(self, items: list) -> list[_Node]:
        """Bound a batch of boxes; ``items`` are ``(state, lo, hi, depth, parent bound)``.

        A child's bound is never above its parent's (which covers it). Past the deadline, boxes still get a
        bound, only the cheap one (no simplification or pattern enumeration)."""
        B = len(items)
        k = self.k
        lo = np.stack([it[1] for it in items], axis=1) if k else np.zeros((0, B))
        hi = np.stack([it[2] for it in items], axis=1) if k else np.zeros((0, B))
        gd = self.target.data(lo, hi)
        rows = []                                 # (F, E, CF, CE, CS, use_up, use_lo, box index)
        new_states = [None] * B
        groups: dict[int, list[int]] = {}
        for b, it in enumerate(items):
            groups.setdefault(id(it[0]), []).append(b)
        for idx in groups.values():
            state = items[idx[0]][0]
            if isinstance(state, _PatState):
                feas = state.feasible(lo[:, idx], hi[:, idx])
                for t, b in enumerate(idx):
                    keep = feas[t]
                    st = state
                    if keep.sum() <= state.P // 2 and state.P >= 4:
                        st = state.subset(keep)
                        keep = np.ones(st.P, dtype=bool)
                    new_states[b] = st
                    rows.append((st.F[keep], st.E[keep], st.CF[keep], st.CE[keep], st.CS[keep], True, True, b,
                                 st.rep.o))
            else:
                self._process_reps(state, idx, lo, hi, rows, new_states)
        ub = np.minimum(self._bounds(rows, gd, B), [it[4] for it in items])
        nodes = [_Node(lo[:, b].copy(), hi[:, b].copy(), float(ub[b]), new_states[b], items[b][3]) for b in range(B)]
        self.boxes += B
        self._candidates(nodes, gd)
        return nodes

    def _process_reps(self, state: "_RepState", idx: list, lo, hi, rows, new_states) -> None:
        rep = state.rep
        l, h = lo[:, idx], hi[:, idx]
        prop = propagate(rep, l, h) if rep.n > 1 else None       # a lone output unit is already affine
        K1 = self.k + 1
        for t, b in enumerate(idx):
            r2 = rep
            late = time.perf_counter() > self.deadline
            if prop is not None:
                cls = prop.cls[:, t]
                # minimal already when every unit but the output is an unstable ReLU
                if not late and not (cls[:-1] == UNSTABLE).all():
                    r2 = simplify(rep, cls, prop.zlo[:, t], prop.zhi[:, t], prop.hmag[:, t], l[:, t], h[:, t])
                z = np.zeros((1, 0, K1)), np.zeros((1, 0))
                rows.append((prop.out_U[:, t][None], prop.out_E[t:t + 1], z[0], z[1], z[1], True, False, b, rep.o))
                rows.append((prop.out_L[:, t][None], prop.out_E[t:t + 1], z[0], z[1], z[1], False, True, b, rep.o))
            nu = r2.n_relu
            self.max_unstable = max(self.max_unstable, nu)
            pat = None
            failed = state.failed
            if nu == 0 and r2.n == 1:
                pat = (np.concatenate([r2.a[-1], [r2.c[-1]]])[None], r2.E[-1:].copy(),
                       np.zeros((1, 0, K1)), np.zeros((1, 0)), np.zeros((1, 0)))
            elif 0 < nu <= min(self.max_units, (3 * failed) // 4) and not late:
                hm = prop.hmag[:, t] if (prop is not None and r2 is rep) else None
                pat = enumerate_patterns(r2, l[:, t], h[:, t], hm, self.max_patterns)
                if pat is None:
                    failed = nu
            if pat is None:
                new_states[b] = _RepState(r2, failed)
                if prop is None:
                    raise TheoryError("internal: a single-unit rep is affine and always has its pattern")
            else:
                st = _PatState(r2, *pat)
                self.max_pat = max(self.max_pat, st.P)
                new_states[b] = st
                rows.append((st.F, st.E, st.CF, st.CE, st.CS, True, True, b, r2.o))

    def _bounds(self, rows, gd, B) -> np.ndarray:
        K1 = self.k + 1
        J = max((r[2].shape[1] for r in rows), default=0)
        cnt = [r[0].shape[0] for r in rows]
        N = sum(cnt)
        F = np.concatenate([r[0] for r in rows]) if rows else np.zeros((0, K1))
        E = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0)
        CF = np.zeros((N, J, K1))
        CE = np.zeros((N, J))
        CS = np.zeros((N, J))
        o = 0
        for r, n in zip(rows, cnt):
            j = r[2].shape[1]
            CF[o:o + n, :j], CE[o:o + n, :j], CS[o:o + n, :j] = r[2], r[3], r[4]
            o += n
        use_up = np.repeat([r[5] for r in rows], cnt).astype(bool)
        use_lo = np.repeat([r[6] for r in rows], cnt).astype(bool)
        bi = np.repeat([r[7] for r in rows], cnt).astype(np.int64)
        O = np.repeat(np.stack([r[8] for r in rows]), cnt, axis=0) if rows else np.zeros((0, self.k))
        s_up, s_lo, direction = form_bounds(F, E, CF, CE, CS, use_up, use_lo, bi, gd, O)
        up_b = np.full(B, -np.inf)
        lo_b = np.full(B, -np.inf)
        np.maximum.at(up_b, bi, s_up)
        np.maximum.at(lo_b, bi, s_lo)
        # a side with no row at all (cannot happen for a sound state) is unbounded
        seen_up = np.zeros(B, bool)
        seen_lo = np.zeros(B, bool)
        seen_up[bi[use_up]] = True
        seen_lo[bi[use_lo]] = True
        up_b = np.where(seen_up, up_b, np.inf)
        lo_b = np.where(seen_lo, lo_b, np.inf)
        # side "up" uses min(relaxation U, max over patterns); rows of one box are combined per kind
        self._dirs = (bi, np.maximum(s_up, s_lo), direction)
        self._rows_F = F
        if any(not (r[5] and r[6]) for r in rows):   # boxes with relaxation rows: min(relax, patterns) per side
            up_b, lo_b = self._combine(rows, cnt, s_up, s_lo, B)
        ub = np.maximum(np.maximum(up_b, lo_b), 0.0)
        return np.where(np.isnan(ub), np.inf, ub)

    @staticmethod
    def _combine(rows, cnt, s_up, s_lo, B):
        rel_up = np.full(B, np.inf)
        rel_lo = np.full(B, np.inf)
        pat_up = np.full(B, np.inf)
        pat_lo = np.full(B, np.inf)
        has_pat = np.zeros(B, bool)
        o = 0
        for r, n in zip(rows, cnt):
            b = r[7]
            if r[5] and not r[6]:
                rel_up[b] = min(rel_up[b], s_up[o:o + n].max())
            elif r[6] and not r[5]:
                rel_lo[b] = min(rel_lo[b], s_lo[o:o + n].max())
            else:
                m_up = s_up[o:o + n].max() if n else -np.inf
                m_lo = s_lo[o:o + n].max() if n else -np.inf
                pat_up[b] = m_up if not has_pat[b] else max(pat_up[b], m_up)
                pat_lo[b] = m_lo if not has_pat[b] else max(pat_lo[b], m_lo)
                has_pat[b] = True
            o += n
        return np.minimum(rel_up, pat_up), np.minimum(rel_lo, pat_lo)

    # -- lower bounds
    def _candidates(self, nodes: list[_Node], gd: GData) -> None:
        bi, val, direction = self._dirs
        B = len(nodes)
        k = self.k
        best_row = np.full(B, -1)
        best_val = np.full(B, -np.inf)
        for n in range(bi.size):
            if val[n] > best_val[bi[n]]:
                best_val[bi[n]], best_row[bi[n]] = val[n], n
        by_rep: dict[int, tuple] = {}
        for b, node in enumerate(nodes):
            if node.upper <= self.lower_f:
                continue
            c = gd.c[:, b]
            half = 0.5 * (node.hi - node.lo)
            pts = [c, node.lo + (node.hi - node.lo) * self.rng.random(k)]
            if best_row[b] >= 0 and k:
                pts.append(np.clip(c + np.sign(direction[best_row[b]]) * half, node.lo, node.hi))
                st = self._stationary(best_row[b], b, gd)
                if st is not None:
                    pts.append(np.clip(st, node.lo, node.hi))
            rep = node.state.rep
            entry = by_rep.setdefault(id(rep), (rep, []))
            entry[1].extend(pts)
        best_x, best = None, self.lower_f * (1 + 1e-12)
        for rep, pts in by_rep.values():
            P = np.clip(np.stack(pts, axis=1), self.lo_in[:, None], self.hi_in[:, None])
            with np.errstate(all="ignore"):
                err = np.abs(_rep_eval(rep, P) - self.target.values_np(P))
            err = np.where(np.isfinite(err), err, -1.0)
            i = int(np.argmax(err))
            if err[i] > best:
                best, best_x = float(err[i]), P[:, i].copy()
        if best_x is not None:
            self._exact_candidate(best_x)

    def _stationary(self, row: int, b: int, gd: GData):
        """Stationary point of the quadratic model ``F(x) - g(c) - dg(c).(x - c) - (x - c)^T H (x - c) / 2``."""
        if gd.g2 is None or self._rows_F is None:
            return None
        k = self.k
        a = self._rows_F[row, :k]
        with np.errstate(invalid="ignore", over="ignore"):  # a midpoint of (-inf, inf) near a singularity is nan
            g1 = np.array([0.5 * (gd.g1[i][0][b] + gd.g1[i][1][b]) for i in range(k)])
            H = np.array([[0.5 * (gd.g2[i][j][0][b] + gd.g2[i][j][1][b]) for j in range(k)] for i in range(k)])
        if not (np.all(np.isfinite(g1)) and np.all(np.isfinite(H))):
            return None                                     # only a search heuristic: no candidate from this box
        try:
            y = np.linalg.solve(H, a - g1)
        except np.linalg.LinAlgError:
            return None
        return gd.c[:, b] + y if np.all(np.isfinite(y)) else None

    def _exact_candidate(self, x: np.ndarray) -> None:
        self.exact_evals += 1
        val = exact_output(self.cone, self.root, x, self.var_index)
        g = self.target.point_hp([Fraction(float(v)) for v in x])
        if g is None:
            return
        lo_e = max(val - g[1], g[0] - val, Fraction(0))
        if self.lower is None or lo_e > self.lower:
            self.lower, self.lower_f, self.witness = lo_e, float(lo_e), x.copy()

    # -- splitting
    def split(self, node: _Node):
        if not self.k:
            return None
        w = (node.hi - node.lo) / self.width0
        ax = int(np.argmax(w))
        a, b = node.lo[ax], node.hi[ax]
        mid = 0.5 * (a + b)
        rep = node.state.rep
        bp = self._bp.get(id(rep))
        if bp is None or bp[0] is not rep:
            bp = self._bp[id(rep)] = (rep, *breakpoints(rep))
        bax, bpos = bp[1], bp[2]
        if bax.size:
            cand = bpos[(bax == ax) & (bpos > a + 0.25 * (b - a)) & (bpos < b - 0.25 * (b - a))]
            if cand.size:
                mid = float(cand[np.argmin(np.abs(cand - mid))])
        if not a < mid < b:
            return None
        hi1 = node.hi.copy()
        hi1[ax] = mid
        lo2 = node.lo.copy()
        lo2[ax] = mid
        return (node.lo, hi1), (lo2, node.hi)

    def push(self, node: _Node) -> None:
        if node.upper <= self.threshold():
            self.settled = max(self.settled, node.upper)
        else:
            heapq.heappush(self.heap, (-node.upper, next(self.count), node))

    def report(self) -> None:
        """Call the progress callback with ``{boxes, open_boxes, upper, lower, elapsed_s}`` (lower None while
        no witness is known). The callback must not raise; it only observes."""
        if self.progress is not None:
            self.progress({"boxes": self.boxes, "open_boxes": len(self.heap), "upper": self.upper(),
                           "lower": None if self.lower is None else self.lower_f,
                           "elapsed_s": time.perf_counter() - self.t0})

    def run(self) -> None:
        for node in self.process([(_RepState(self.root), self.lo0, self.hi0, 0, np.inf)]):
            self.push(node)
        self.report()
        while not self.done() and time.perf_counter() < self.deadline:
            thr = self.threshold()
            batch = min(256, max(8, len(self.heap) // 2))
            items = []
            while self.heap and len(items) < 2 * batch and -self.heap[0][0] > thr:
                node = heapq.heappop(self.heap)[2]
                kids = self.split(node)
                if kids is None:
                    self.min_width_hit = True
                    self.settled = max(self.settled, node.upper)
                    continue
                for lo, hi in kids:
                    items.append((node.state, lo, hi, node.depth + 1, node.upper))
            if not items:
                break
            for node in self.process(items):
                self.push(node)
            self.report()
