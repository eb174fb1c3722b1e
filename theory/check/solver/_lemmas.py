"""The checker's own queries, built from the network record and the claim as cvc5 terms.

* The routing induction (premises, one lemma per level, the readout lemma, the index identities): for the
  select claim ``output j == x[i_j]`` on a tree of shared kernel = stride = s convolutions, ``d = s^L``, with
  ``2k`` channels holding ``relu(+-x)`` (Wang & Wu, "Approximation of functions by deep CNNs with sparse
  connections", arXiv 2305.08404; the induction is our reconstruction, docs/certificates.md).
* The monolithic equivalence ``net(x) == x[support]`` over the outputs' cone, every ReLU unit a constant
  ``h{level}_{unit}`` defined by ``h == ite(z > 0, z, 0)`` (:func:`encode_cone`, also used by head bounds).

Every query is the negation of the fact (``unsat`` proves it). Variables are named as the certificate's queries
name them, so a certificate's query and the checker's can be compared as formulas.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ...spec import ConvLayer, Network, PointwiseLayer, input_name


class Terms:
    """A thin cvc5 term builder: named constants, exact rationals, sums, ReLU."""

    def __init__(self, tm: Any) -> None:
        import cvc5

        self.tm, self.K = tm, cvc5.Kind
        self.zero = tm.mkReal(0)
        self._consts: dict[tuple[str, bool], Any] = {}

    def var(self, name: str, integer: bool = False) -> Any:
        """The constant ``name`` of sort Int or Real: one term per name and sort, shared by every query built or
        read with this builder (so the certificate's queries and the checker's speak of the same constants)."""
        key = (name, integer)
        if key not in self._consts:
            self._consts[key] = self.tm.mkConst(self.tm.getIntegerSort() if integer else self.tm.getRealSort(), name)
        return self._consts[key]

    def op(self, kind: str, *args: Any) -> Any:
        return self.tm.mkTerm(getattr(self.K, kind), *args)

    def affine(self, terms: list[tuple[Fraction, Any]], b: Fraction) -> Any:
        parts = [t if w == 1 else self.op("MULT", self.tm.mkReal(w.numerator, w.denominator), t) for w, t in terms]
        parts += [self.tm.mkReal(b.numerator, b.denominator)] if b else []
        return parts[0] if len(parts) == 1 else (self.op("ADD", *parts) if parts else self.zero)

    def relu(self, e: Any) -> Any:
        return self.op("ITE", self.op("GT", e, self.zero), e, self.zero)

    def signed(self, e: int, v: Any) -> Any:
        return self.relu(v if e == 0 else self.op("NEG", v))

    def any_differs(self, outs: list[Any], wants: list[Any]) -> Any:
        d = [self.op("DISTINCT", o, w) for o, w in zip(outs, wants)]
        return d[0] if len(d) == 1 else self.op("OR", *d)


def premises(net: Network, k: int) -> tuple[list[tuple[str, bool]], int, int]:
    """The induction's structural premises, read from the spec: ``([(name, holds)], s, L)``."""
    tree, last = net.layers[:-1], net.layers[-1]
    L = len(tree)
    kernels = {getattr(layer, "kernel", 0) for layer in tree}
    s = kernels.pop() if len(kernels) == 1 else 0
    return (
        [
            ("one input channel", net.c_in == 1),
            ("shared ConvLayer filters", L >= 1 and all(type(layer) is ConvLayer for layer in tree)),
            ("kernel = stride = s for all tree layers", s >= 2),
            ("d = s^L", s >= 2 and net.d == s**L),
            ("channels 1 -> 2k -> ... -> 2k", tuple(net.channels[: L + 1]) == (1,) + (2 * k,) * L),
            ("readout PointwiseLayer (k, 2k)", type(last) is PointwiseLayer and last.weight.shape == (k, 2 * k)),
        ],
        s,
        L,
    )


def _outputs(T: Terms, layer: Any, child: Any) -> list[Any]:
    """One position's outputs: ``act(sum_(o, c, t) w h_t[c] + b_o)``; ``child(c, t)`` is the input term."""
    rows: list[list[tuple[Fraction, Any]]] = [[] for _ in range(layer.c_out)]
    for coords, w in layer.weight.items():
        rows[coords[0]].append((w, child(coords[1], coords[2] if len(coords) > 2 else 0)))
    bias = dict(layer.bias.items())
    outs = [T.affine(row, bias.get((o,), Fraction(0))) for o, row in enumerate(rows)]
    return [T.relu(o) for o in outs] if layer.relu else outs


def routing_lemma(T: Terms, net: Network, idx: list[int], s: int, level: int, L: int) -> Any:
    """The negation of lemma ``level`` (``L``: the readout) of the routing induction."""
    layer = net.layers[level]
    if level == 0:  # children are the inputs x_t of one block
        outs = _outputs(T, layer, lambda c, t: T.var(f"x_t{t}"))
        wants = [T.signed(e, T.var(f"x_t{i % s}")) for i in idx for e in (0, 1)]
    elif level < L:  # child t's channel 2j+e holds relu(+-y_(t, i_j mod s^level))
        span = s**level
        y = lambda t, i: T.var(f"y_t{t}_r{i % span}")  # noqa: E731
        outs = _outputs(T, layer, lambda c, t: T.signed(c % 2, y(t, idx[c // 2])))
        wants = [T.signed(e, y((i // span) % s, i)) for i in idx for e in (0, 1)]
    else:
        outs = _outputs(T, layer, lambda c, t: T.signed(c % 2, T.var(f"y_i{idx[c // 2]}")))
        wants = [T.var(f"y_i{i}") for i in idx]
    return T.any_differs(outs, wants)


def identity_query(T: Terms, s: int, level: int) -> Any:
    """The negation of ``(p s + (i div s^l) mod s) s^l + i mod s^l == p s^(l+1) + i mod s^(l+1)`` (integers)."""
    p, i, span = T.var("p", True), T.var("i", True), s**level
    n = lambda v: T.tm.mkInteger(v)  # noqa: E731
    mod = lambda a, b: T.op("INTS_MODULUS", a, n(b))  # noqa: E731
    child = T.op("ADD", T.op("MULT", p, n(s)), mod(T.op("INTS_DIVISION", i, n(span)), s))
    lhs = T.op("ADD", T.op("MULT", child, n(span)), mod(i, span))
    rhs = T.op("ADD", T.op("MULT", p, n(span * s)), mod(i, span * s))
    return T.op("NOT", T.op("EQUAL", lhs, rhs))


def identity_holds(i: int, s: int, level: int) -> bool:
    """The index identity at index ``i``, exactly: ``((i // s^l) % s) s^l + i % s^l == i % s^(l+1)`` (the terms
    in ``p`` are ``p s^(l+1)`` on both sides)."""
    span = s**level
    return ((i // span) % s) * span + i % span == i % (span * s)


def encode_cone(T: Terms, net: Network) -> tuple[list[Any], list[Any]]:
    """``(definitions, outputs)``: every ReLU unit of the outputs' cone a constant ``h{level}_{unit}`` defined by
    ``h == ite(z > 0, z, 0)``, the inputs named as :func:`theory.input_name` names them."""
    units = np.arange(net.n_outputs, dtype=np.int64)
    cone: list[tuple[np.ndarray, Any]] = []
    for layer in reversed(net.layers):  # the units each level's cone needs, from the outputs back
        edges = layer.edges(units)
        cone.insert(0, (units, edges))
        units = np.unique(edges[1])
    value = {u: T.var(input_name(net, u)) for u in units.tolist()}
    defs = []
    for level, (layer, (units, (which, src, nz))) in enumerate(zip(net.layers, cone), start=1):
        rows: list[list[tuple[Fraction, Any]]] = [[] for _ in range(units.size)]
        for r, c, n in zip(which.tolist(), src.tolist(), nz.tolist()):
            rows[r].append((Fraction(layer.weight.values[n]), value[c]))
        new = {}
        for r, (u, b) in enumerate(zip(units.tolist(), layer.bias_of(units))):
            z = T.affine(rows[r], Fraction(b))
            if layer.relu:
                h = T.var(f"h{level}_{u}")
                defs.append(T.op("EQUAL", h, T.relu(z)))
                z = h
            new[u] = z
        value = new
    return defs, [value[u] for u in range(net.n_outputs)]


def monolithic_query(T: Terms, net: Network, support: list[int]) -> Any:
    """The cone's definitions and ``OR_j net_j(x) != x[support_j]``."""
    defs, outs = encode_cone(T, net)
    claim = T.any_differs(outs, [T.var(input_name(net, i)) for i in support])
    return T.op("AND", *defs, claim) if defs else claim
