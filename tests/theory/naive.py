"""A naive dense evaluator and random networks, for cross-checking ``theory``'s exact evaluation.

``naive_forward`` loops over ``layer.weight.to_dense()`` with the layer formulas of the Wang & Wu (2023)
architectures (reconstruction, docs/catalogue.md; conv: shared kernel = stride; local: untied; pointwise: 1x1;
dense: flattened signal). It shares nothing with ``theory``'s cone/edge machinery. ``random_network`` draws random
sparse networks of all four kinds (mixed ReLU flags, several input channels).
"""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

from theory import ConvLayer, DenseLayer, LocalLayer, Network, PointwiseLayer, SparseArray

ZERO = Fraction(0)


def naive_forward(net: Network, x) -> list[list[list[Fraction]]]:
    """Every level as nested lists ``h[position][channel]``; ``x`` has shape ``(c_in, d)``."""
    h = [[Fraction(x[c][p]) for c in range(net.c_in)] for p in range(net.d)]
    levels = [h]
    for layer in net.layers:
        W, b = layer.weight.to_dense(), layer.bias.to_dense()
        n_in = len(h)
        if isinstance(layer, ConvLayer):
            c_out, c_in, s = W.shape
            out = [
                [
                    b[o] + sum((W[o, c, t] * h[p * s + t][c] for c in range(c_in) for t in range(s)), ZERO)
                    for o in range(c_out)
                ]
                for p in range(n_in // s)
            ]
        elif isinstance(layer, LocalLayer):
            n_out, c_out, c_in, s = W.shape
            out = [
                [
                    b[p, o] + sum((W[p, o, c, t] * h[p * s + t][c] for c in range(c_in) for t in range(s)), ZERO)
                    for o in range(c_out)
                ]
                for p in range(n_out)
            ]
        elif isinstance(layer, PointwiseLayer):
            c_out, c_in = W.shape
            out = [
                [b[o] + sum((W[o, c] * h[p][c] for c in range(c_in)), ZERO) for o in range(c_out)] for p in range(n_in)
            ]
        elif isinstance(layer, DenseLayer):
            n_out, c_out, n_w, c_in = W.shape
            out = [
                [
                    b[p, o] + sum((W[p, o, n, c] * h[n][c] for n in range(n_w) for c in range(c_in)), ZERO)
                    for o in range(c_out)
                ]
                for p in range(n_out)
            ]
        else:  # pragma: no cover
            raise AssertionError(type(layer))
        if layer.relu:
            out = [[max(v, ZERO) for v in row] for row in out]
        h = out
        levels.append(h)
    return levels


def naive_dependencies(net: Network) -> list[set[int]]:
    """Input positions each output unit reaches through nonzero weights (boolean propagation, dense)."""
    deps = [[{p} for _ in range(net.c_in)] for p in range(net.d)]
    for layer in net.layers:
        W = layer.weight.to_dense()
        n_in = len(deps)
        if isinstance(layer, ConvLayer):
            c_out, c_in, s = W.shape
            deps = [
                [
                    set().union(*(deps[p * s + t][c] for c in range(c_in) for t in range(s) if W[o, c, t] != 0))
                    for o in range(c_out)
                ]
                for p in range(n_in // s)
            ]
        elif isinstance(layer, LocalLayer):
            n_out, c_out, c_in, s = W.shape
            deps = [
                [
                    set().union(*(deps[p * s + t][c] for c in range(c_in) for t in range(s) if W[p, o, c, t] != 0))
                    for o in range(c_out)
                ]
                for p in range(n_out)
            ]
        elif isinstance(layer, PointwiseLayer):
            c_out, c_in = W.shape
            deps = [
                [set().union(*(deps[p][c] for c in range(c_in) if W[o, c] != 0)) for o in range(c_out)]
                for p in range(n_in)
            ]
        else:
            n_out, c_out, n_w, c_in = W.shape
            deps = [
                [
                    set().union(*(deps[n][c] for n in range(n_w) for c in range(c_in) if W[p, o, n, c] != 0))
                    for o in range(c_out)
                ]
                for p in range(n_out)
            ]
    return [u for row in deps for u in row]


def flat(level) -> tuple[Fraction, ...]:
    return tuple(v for row in level for v in row)


def rand_q(rng: random.Random) -> Fraction:
    return Fraction(rng.randint(-7, 7), rng.choice((1, 2, 3, 5)))


def rand_sparse(rng: random.Random, shape, density: float) -> SparseArray:
    dense = np.empty(int(np.prod(shape)), dtype=object)
    dense[:] = [rand_q(rng) if rng.random() < density else 0 for _ in range(dense.size)]
    return SparseArray.from_dense(dense.reshape(shape))


@st.composite
def random_network(draw, kinds=("conv", "local", "pointwise", "dense"), max_depth=4):
    """A random valid network: positions chain (tree layers tile), channels chain, sparse rational weights."""
    seed = draw(st.integers(0, 2**32))
    rng = random.Random(seed)
    c_in = draw(st.integers(1, 3))
    d = draw(st.sampled_from([1, 2, 3, 4, 6, 8, 9, 12]))
    depth = draw(st.integers(1, max_depth))
    density = draw(st.sampled_from([0.3, 0.6, 1.0]))
    n, c = d, c_in
    layers = []
    for _ in range(depth):
        options = [kd for kd in kinds if kd in ("pointwise", "dense") or any(n % s == 0 for s in (2, 3))]
        if not options:
            options = ["pointwise"]
        kind = draw(st.sampled_from(options))
        c_out = draw(st.integers(1, 3))
        relu = draw(st.booleans())
        if kind in ("conv", "local"):
            s = draw(st.sampled_from([s for s in (2, 3) if n % s == 0]))
            n_out = n // s
            if kind == "conv":
                layer = ConvLayer(
                    rand_sparse(rng, (c_out, c, s), density), rand_sparse(rng, (c_out,), density), relu=relu
                )
            else:
                layer = LocalLayer(
                    rand_sparse(rng, (n_out, c_out, c, s), density),
                    rand_sparse(rng, (n_out, c_out), density),
                    relu=relu,
                )
        elif kind == "pointwise":
            n_out = n
            layer = PointwiseLayer(
                rand_sparse(rng, (c_out, c), density), rand_sparse(rng, (c_out,), density), relu=relu
            )
        else:
            n_out = draw(st.integers(1, 4))
            layer = DenseLayer(
                rand_sparse(rng, (n_out, c_out, n, c), density), rand_sparse(rng, (n_out, c_out), density), relu=relu
            )
        layers.append(layer)
        n, c = n_out, c_out
    return Network(d=d, c_in=c_in, layers=tuple(layers))


def random_input(net: Network, seed: int) -> list[list[Fraction]]:
    rng = random.Random(seed)
    return [[rand_q(rng) for _ in range(net.d)] for _ in range(net.c_in)]


def as_arg(net: Network, x):
    """The argument form evaluate_exact takes: (d,) for one channel, else (c_in, d)."""
    return x[0] if net.c_in == 1 else x
