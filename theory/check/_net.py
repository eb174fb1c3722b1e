"""The network as the checker sees it: the output's cone, level by level, exact and as balls.

:class:`ConeNet` reads a :class:`theory.Network` record (its layers' nonzero weights and biases) backwards from
the output into sparse rows over the units the output depends on: ``z_l = W_l h_(l-1) + b_l``,
``h_l = relu(z_l)`` where the layer has a ReLU. Inputs outside the cone cannot change the output, so only the
cone's input units are variables. Two evaluations:

* :meth:`ConeNet.exact`: many points at once, exactly, as integer numerators over one denominator per level
  (``int64`` products where a bound computed beforehand in Python integers proves they cannot overflow, Python
  integers otherwise), with every pre-activation's sign;
* :meth:`ConeNet.enclose`: over a box, per unit an affine form in the box's variables with ``arb`` ball
  coefficients plus an error radius; an unstable ReLU is relaxed by a line of slope in ``[0, 1]`` (Wong and
  Kolter, "Provable defenses against adversarial examples via the convex outer adversarial polytope", ICML 2018).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from math import gcd, lcm

import numpy as np
from flint import arb
from scipy import sparse

from ..spec import Network, input_name
from ._balls import ball
from ._pairs import pair_exempt

MAX_CONE_EDGES = 5_000_000
"""Most nonzero weights of the output's cone the checker reads (a larger cone is refused)."""
_INT64 = 2**62


class ConeNet:
    """The cone of output unit ``output`` of ``net``: ``inputs`` (its input units, sorted), ``names`` (their names),
    per layer the sparse rows ``(dst, src, weights)``, the biases ``b`` and ``relu``."""

    def __init__(self, net: Network, output: int = 0) -> None:
        units = [np.array([output], dtype=np.int64)]
        raw: list[tuple] = []
        for layer in reversed(net.layers):
            which, src, nz = layer.edges(units[0])
            raw.insert(0, (which, src, layer.weight.values[nz], layer.bias_of(units[0])))
            units.insert(0, np.unique(src))
            if sum(r[0].size for r in raw) > MAX_CONE_EDGES:
                raise ValueError(f"the output's cone has more than {MAX_CONE_EDGES} nonzero weights")
        self.inputs = [int(u) for u in units[0]]
        self.names = [input_name(net, u) for u in self.inputs]
        self.sizes = [int(u.size) for u in units]
        self.layers = []
        for i, (which, src, vals, bias) in enumerate(raw):
            w = [Fraction(v) for v in vals]
            relu = np.full(self.sizes[i + 1], bool(net.layers[i].relu))
            self.layers.append([which, np.searchsorted(units[i], src), w, [Fraction(v) for v in bias], relu])
        self.exempt = pair_exempt(self.layers, self.sizes)
        self.edges = sum(len(layer[2]) for layer in self.layers)
        self._rows: list[list[list[tuple[int, arb]]]] | None = None

    # ------------------------------------------------------------------ exact
    def exact(
        self, points: np.ndarray, denom: int, signs: bool = False
    ) -> tuple[list[Fraction], list[tuple[np.ndarray, np.ndarray]]]:
        """The output at each point exactly. ``points``: integer numerators ``(inputs, P)`` (an int64 or object
        array) over the common denominator ``denom``. With ``signs`` also, per ReLU layer, the sign of every
        pre-activation at every point, ``(units, P)`` int8."""
        N, D = points, int(denom)
        out_signs = []
        for (dst, src, w, b, relu), n, exempt in zip(self.layers, self.sizes[1:], self.exempt):
            Dw = lcm(1, *(v.denominator for v in w))
            D2 = lcm(Dw * D, *(v.denominator for v in b))
            wn = [int(v * Dw) for v in w]
            bn = np.array([int(v * D2) for v in b], dtype=object)
            m1 = D2 // (Dw * D)
            peak = np.zeros(n, dtype=object)  # a bound on |W N| per unit, in Python integers
            big = np.abs(N).max(axis=1) if N.size else np.zeros(N.shape[0], dtype=object)
            np.add.at(peak, dst, np.array([abs(v) for v in wn], dtype=object) * big.astype(object)[src])
            fits = N.dtype != object and max([0, *(peak * m1 + np.abs(bn)).tolist()]) < _INT64
            if fits:
                W = sparse.csr_matrix((np.array(wn, dtype=np.int64), (dst, src)), shape=(n, N.shape[0]))
                Z = np.asarray(W @ N) * np.int64(m1) + bn.astype(np.int64)[:, None]
            else:
                No = N.astype(object)
                Z = np.zeros((n, N.shape[1]), dtype=object)
                for r, c, v in zip(dst.tolist(), src.tolist(), wn):
                    Z[r] += v * No[c]
                Z = Z * m1 + bn[:, None]
            if relu.any():
                check = relu & ~exempt
                if signs and check.any():
                    out_signs.append((np.flatnonzero(check), np.sign(Z[check]).astype(np.int8)))
                Z = np.where(relu[:, None], np.maximum(Z, 0), Z)
            g = gcd(int(np.gcd.reduce(Z.ravel())), D2) if fits and Z.size else 1  # the level's common factor
            N, D = (Z // g, D2 // g) if g > 1 else (Z, D2)
            if N.dtype == object and np.abs(N).max(initial=0) < _INT64:
                N = N.astype(np.int64)
        return [Fraction(int(v), D) for v in N[0]], out_signs

    # ------------------------------------------------------------------ balls
    def _ball_rows(self) -> list[list[list[tuple[int, arb]]]]:
        if self._rows is None:
            self._rows = []
            for (dst, src, w, _, _), n in zip(self.layers, self.sizes[1:]):
                rows: list[list[tuple[int, arb]]] = [[] for _ in range(n)]
                for r, c, v in zip(dst.tolist(), src.tolist(), w):
                    rows[r].append((c, ball(v)))
                self._rows.append(rows)
        return self._rows

    def enclose(self, mid: Sequence[arb], rad: Sequence[arb], var_of: Sequence[int]) -> tuple[list[arb], arb, arb]:
        """An affine enclosure of the output on the box ``mid +- rad`` of the variables (``var_of[j]``: the
        variable of input ``j``): ``(a, c, e)`` with ``net(x) in a . (x - mid) + c + [-e, e]`` for every ``x``
        of the box."""
        k = len(mid)
        zero = arb(0)
        forms = []
        for v in var_of:
            f = [zero] * (k + 1)
            f[v], f[k] = arb(1), mid[v]
            forms.append((f, zero))
        for rows, (_, _, _, b, relu) in zip(self._ball_rows(), self.layers):
            new = []
            for r, row in enumerate(rows):
                f = [zero] * k + [ball(b[r])]
                e = zero
                for c, w in row:
                    fc, ec = forms[c]
                    f = [a + w * x for a, x in zip(f, fc)]
                    e += abs(w) * ec
                if relu[r]:
                    f, e = _relu(f, e, rad, k)
                new.append((f, e))
            forms = new
        f, e = forms[0]
        return f[:k], f[k], e


def _relu(f: list[arb], e: arb, rad: Sequence[arb], k: int) -> tuple[list[arb], arb]:
    width = e
    for i in range(k):
        width += abs(f[i]) * rad[i]
    lo, hi = f[k] - width, f[k] + width
    if lo >= 0:
        return f, e
    if hi <= 0:
        return [arb(0)] * (k + 1), arb(0)
    lam = arb(float(hi.mid() / (hi.mid() - lo.mid())))  # any slope in [0, 1] is sound; the chord's is tightest
    lam = lam if 0 <= lam <= 1 else arb(0.5)
    top = arb.max(-lam * lo, (1 - lam) * hi).upper()  # relu(z) - lam z lies in [0, top] for z in [lo, hi]
    f = [lam * a for a in f]
    f[k] += top / 2
    return f, lam * e + top / 2
