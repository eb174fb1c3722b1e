"""The best-first branch-and-bound search of :func:`certify_sup_error` over sub-boxes (see :mod:`theory.certify._certify`).

A box's state is a rep (:class:`~theory.certify._box_state.RepState`, bounded by propagation and simplified per box)
or, once small enough, its enumerated activation patterns (:class:`~theory.certify._box_state.PatState`, only
filtered on sub-boxes). :class:`Search` bounds boxes in vectorised batches (:func:`~._batch_bounds.bound_rows` over
:func:`~._form_bounds.form_bounds`), splits the worst ones (along the widest scaled axis, at a ReLU kink near the
middle when there is one; every split goes into the :class:`~._cover.CoverLog`), and keeps the best rigorous lower
bound found at candidate points (:mod:`._candidates`). A :class:`SupSearch` (``"interval-bnb"``): the upper bound,
the largest bound of the settled and open boxes, holds at any time.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from .._errors import TheoryError
from ._batch_bounds import Row, bound_rows
from ._box_state import Node, PatState, RepState
from ._candidates import best_candidate
from ._cone import Cone, breakpoints, root_rep
from ._cover import CoverLog
from ._enclosure import Target
from ._intervals import dn, up
from ._patterns import enumerate_patterns
from ._propagate import UNSTABLE, exact_output, propagate
from ._simplify import simplify
from ._sup_search import Budget, SupSearch

METHOD = "interval-bnb"


class Search(SupSearch):
    """Interval branch and bound for ``sup_box |net - g|`` over the output's cone (run it with :meth:`run`).

    Args:
        cone: the output's cone (:func:`theory.certify._cone.extract_cone`).
        expr: the target ``g`` in the search variables ``names``.
        names: the ``k`` search variables; ``var_index[i]`` is the variable of cone input ``i``.
        box: ``k`` exact intervals ``(lo, hi)``; the search covers the outer float box, candidates stay inside.
        eps: stop once the bound is ``<= eps`` or a witness exceeds it (None: stop at the relative gap).
        time_limit_s, rel_gap, max_patterns, seed, progress, max_work: as in :func:`theory.certify_sup_error`;
            one unit of work is one box taken from the heap to be split (:class:`~theory.certify._sup_search.Budget`).
    """

    def __init__(
        self,
        cone: Cone,
        expr: sp.Expr,
        names: list[str],
        var_index: list[int],
        box: tuple,
        eps: float | None,
        time_limit_s: float,
        rel_gap: float,
        max_patterns: int,
        seed: int = 0,
        progress: Callable[[dict], None] | None = None,
        max_work: int | None = None,
    ) -> None:
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
        self.budget: Budget = Budget(self.t0 + time_limit_s, max_work)
        self.rel_gap = rel_gap
        self.max_patterns = max_patterns
        self.max_units = 96  # enumeration is attempted on reps with at most this many unstable units
        self._lower: Fraction | None = None
        self.lower_f = 0.0
        self._witness: np.ndarray | None = None
        self.settled = 0.0
        self.heap: list[tuple[float, int, Node]] = []
        self.count = itertools.count()
        self._boxes = 0
        self._max_unstable = 0
        self.max_pat = 0
        self._exact_evals = 0
        self._min_width_hit = False
        self.root = root_rep(cone, var_index, self.k, self.lo0, self.hi0)
        self._bp: dict[int, tuple] = {}
        self._rows_F: np.ndarray | None = None
        self.rng = np.random.default_rng(seed)
        self.cover: CoverLog = CoverLog()  # the final cover, the certificate's proof object (_cover)
        self.frame = {"kind": "box", "root": [[a.hex(), b.hex()] for a, b in zip(self.lo0.tolist(), self.hi0.tolist())]}

    # -- the SupSearch interface
    @property
    def method(self) -> str:
        return METHOD

    @property
    def lower(self) -> Fraction | None:
        return self._lower

    @property
    def witness(self) -> np.ndarray | None:
        return self._witness

    @property
    def boxes(self) -> int:
        return self._boxes

    @property
    def open_boxes(self) -> int:
        return len(self.heap)

    @property
    def max_unstable(self) -> int:
        return self._max_unstable

    @property
    def exact_evals(self) -> int:
        return self._exact_evals

    @property
    def min_width_hit(self) -> bool:
        return self._min_width_hit

    @property
    def deadline(self) -> float:
        return self.budget.deadline

    @property
    def structure(self) -> None:  # the general search records none: the caller says why no piecewise one ran
        return None

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
        if self.eps is not None and self._lower is not None and self.lower_f > self.eps:
            return True
        return -self.heap[0][0] <= self.threshold()

    # -- one batch of boxes
    def process(self, items: list) -> list[Node]:
        """Bound a batch of boxes; ``items`` are ``(state, lo, hi, depth, parent bound)``.

        A child's bound is never above its parent's (which covers it). Past the deadline, boxes still get a
        bound, only the cheap one (no simplification or pattern enumeration)."""
        B = len(items)
        k = self.k
        lo = np.stack([it[1] for it in items], axis=1) if k else np.zeros((0, B))
        hi = np.stack([it[2] for it in items], axis=1) if k else np.zeros((0, B))
        gd = self.target.data(lo, hi)
        rows: list[Row] = []  # (F, E, CF, CE, CS, use_up, use_lo, box index, origin)
        new_states: list[Any] = [None] * B
        groups: dict[int, list[int]] = {}
        for b, it in enumerate(items):
            groups.setdefault(id(it[0]), []).append(b)
        for idx in groups.values():
            state = items[idx[0]][0]
            if isinstance(state, PatState):
                feas = state.feasible(lo[:, idx], hi[:, idx])
                for t, b in enumerate(idx):
                    keep = feas[t]
                    st = state
                    if keep.sum() <= state.P // 2 and state.P >= 4:
                        st = state.subset(keep)
                        keep = np.ones(st.P, dtype=bool)
                    new_states[b] = st
                    rows.append(
                        (st.F[keep], st.E[keep], st.CF[keep], st.CE[keep], st.CS[keep], True, True, b, st.rep.o)
                    )
            else:
                self._process_reps(state, idx, lo, hi, rows, new_states)
        bounds, self._dirs, self._rows_F = bound_rows(rows, gd, B, k)
        ub = np.minimum(bounds, [it[4] for it in items])
        nodes = [
            Node(lo[:, b].copy(), hi[:, b].copy(), float(ub[b]), new_states[b], items[b][3], items[b][5])
            for b in range(B)
        ]
        self._boxes += B
        x = best_candidate(
            nodes,
            gd,
            self._dirs,
            self._rows_F,
            lower_f=self.lower_f,
            rng=self.rng,
            lo_in=self.lo_in,
            hi_in=self.hi_in,
            target=self.target,
        )
        if x is not None:
            self._exact_candidate(x)
        return nodes

    def _process_reps(
        self, state: RepState, idx: list[int], lo: np.ndarray, hi: np.ndarray, rows: list[Row], new_states: list[Any]
    ) -> None:
        rep = state.rep
        l, h = lo[:, idx], hi[:, idx]
        prop = propagate(rep, l, h) if rep.n > 1 else None  # a lone output unit is already affine
        K1 = self.k + 1
        for t, b in enumerate(idx):
            r2 = rep
            late = time.perf_counter() > self.budget.deadline  # only past the deadline: never on the work budget
            if prop is not None:
                cls = prop.cls[:, t]
                # minimal already when every unit but the output is an unstable ReLU
                if not late and not (cls[:-1] == UNSTABLE).all():
                    r2 = simplify(rep, cls, prop.zlo[:, t], prop.zhi[:, t], prop.hmag[:, t], l[:, t], h[:, t])
                z = np.zeros((1, 0, K1)), np.zeros((1, 0))
                rows.append((prop.out_U[:, t][None], prop.out_E[t : t + 1], z[0], z[1], z[1], True, False, b, rep.o))
                rows.append((prop.out_L[:, t][None], prop.out_E[t : t + 1], z[0], z[1], z[1], False, True, b, rep.o))
            nu = r2.n_relu
            self._max_unstable = max(self._max_unstable, nu)
            pat = None
            failed = state.failed
            if nu == 0 and r2.n == 1:
                pat = (
                    np.concatenate([r2.a[-1], [r2.c[-1]]])[None],
                    r2.E[-1:].copy(),
                    np.zeros((1, 0, K1)),
                    np.zeros((1, 0)),
                    np.zeros((1, 0)),
                )
            elif 0 < nu <= min(self.max_units, (3 * failed) // 4) and not late:
                hm = prop.hmag[:, t] if (prop is not None and r2 is rep) else None
                pat = enumerate_patterns(r2, l[:, t], h[:, t], hm, self.max_patterns)
                if pat is None:
                    failed = nu
            if pat is None:
                new_states[b] = RepState(r2, failed)
                if prop is None:
                    raise TheoryError("internal: a single-unit rep is affine and always has its pattern")
            else:
                st = PatState(r2, *pat)
                self.max_pat = max(self.max_pat, st.P)
                new_states[b] = st
                rows.append((st.F, st.E, st.CF, st.CE, st.CS, True, True, b, r2.o))

    # -- lower bounds
    def _exact_candidate(self, x: np.ndarray) -> None:
        """Evaluate the candidate ``x`` exactly; keep it as the witness when its error beats the lower bound."""
        self._exact_evals += 1
        val = exact_output(self.cone, self.root, x, self.var_index)
        g = self.target.point_hp([Fraction(float(v)) for v in x])
        if g is None:
            return
        lo_e = max(val - g[1], g[0] - val, Fraction(0))
        if self._lower is None or lo_e > self._lower:
            self._lower, self.lower_f, self._witness = lo_e, float(lo_e), x.copy()

    # -- splitting
    def split(
        self, node: Node
    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], int, float] | None:
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
        return (node.lo, hi1), (lo2, node.hi), ax, mid

    def push(self, node: Node) -> None:
        if node.upper <= self.threshold():
            self.settled = max(self.settled, node.upper)
            self.cover.leaf(node.nid, node.upper)
        else:
            heapq.heappush(self.heap, (-node.upper, next(self.count), node))

    def report(self) -> None:
        """Call the progress callback with ``{boxes, open_boxes, upper, lower, elapsed_s}`` (lower None while
        no witness is known). The callback must not raise; it only observes."""
        if self.progress is not None:
            self.progress(
                {
                    "boxes": self.boxes,
                    "open_boxes": len(self.heap),
                    "upper": self.upper(),
                    "lower": None if self._lower is None else self.lower_f,
                    "elapsed_s": time.perf_counter() - self.t0,
                }
            )

    def run(self) -> None:
        for node in self.process([(RepState(self.root), self.lo0, self.hi0, 0, np.inf, self.cover.root())]):
            self.push(node)
        self.report()
        while not self.done():
            self.budget.stopped_by = self.budget.spent()
            if self.budget.stopped_by is not None:
                break
            thr = self.threshold()
            batch = min(256, max(8, len(self.heap) // 2))
            items: list[tuple[RepState | PatState, np.ndarray, np.ndarray, int, float, int]] = []
            while self.heap and len(items) < 2 * batch and -self.heap[0][0] > thr and self.budget.take():
                node = heapq.heappop(self.heap)[2]
                kids = self.split(node)
                if kids is None:
                    self._min_width_hit = True
                    self.settled = max(self.settled, node.upper)
                    self.cover.leaf(node.nid, node.upper)
                    continue
                ids = self.cover.split(node.nid, kids[2], kids[3])
                for (lo, hi), nid in zip(kids[:2], ids):
                    items.append((node.state, lo, hi, node.depth + 1, node.upper, nid))
            if not items:
                break
            for node in self.process(items):
                self.push(node)
            self.report()
        for _, _, node in self.heap:  # the open boxes are leaves of the final cover too
            self.cover.leaf(node.nid, node.upper)
