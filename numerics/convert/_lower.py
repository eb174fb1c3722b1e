"""The shared half of network import: tensor operations on one traced input become a chain of exact spec layers.

:func:`numerics.from_torch` (an ``fx`` graph or a layer list) and :func:`numerics.from_onnx` (an ONNX graph) both
drive a :class:`Lowering`. It follows every tensor of the graph as exact affine forms of the current spec signal
``h`` (the input, then the output of the last spec layer): element ``e`` of a tensor is
``sum_u a[e, u] h[u] + a0[e]`` with rational ``a``. Data movement (reshape, transpose, flatten) only reorders
forms; a weight operation (convolution, matrix product) builds new forms; a ``relu`` writes the forms it needs as
one spec layer with ReLU, after which they are ``h`` itself again. A weight operation on forms that already hold
one is written first as a layer without ReLU, so each torch / ONNX weight operation stays its own spec layer.

Skips (``y = x + f(x)``, ``y = g(x) + f(x)``): a layer written while other tensors are still needed carries them in
extra channels, and a join is a sum of forms: :mod:`numerics.convert._lower_forms`, which holds the forms and
writes the layers; this module holds the tensor operations on them.

Shapes: a tensor is kept as an int array of form ids of its torch shape with the batch axis of size 1.
Convolutions read ``(batch, channels, positions)``; spec units are position-major, unit ``p C + c`` is element
``[c, p]``. A 2-D signal ``(batch, C, H, W)`` is a spec signal of ``H W`` positions, ``p = h W + w``: unit
``(h W + w) C + c`` is element ``[c, h, w]``; 2-D convolutions and average pooling build forms
(:meth:`Lowering.linear`), so they become dense layers (no tree layer kind is 2-D). A torch module's 1-D
convolutions on an untouched signal keep their tree layers (conv, pointwise, LCN, dense as written); carried
skips, and everything when ``recover`` is set, go through dense layers, from which ``recover`` finds pointwise /
conv / locally connected structure again where the weights have it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

import theory

from .._errors import NumericsError, bad, theory_errors
from ._lower_forms import _ONE, _ZERO, AffineForms, Sym


class Lowering(AffineForms):
    """Builds the spec layer by layer; ``keep`` (set by the driver before each operation) lists the tensors
    still needed after it, which any layer written now must carry (the forms and the layers:
    :class:`AffineForms`)."""

    # ---------------------------------------------------------------- weight operations
    def _before_weights(self, v: Sym) -> Sym:
        v = self._settle(v)
        self.weight_ops += 1
        return self._emit(v, relu=False) if self._weighted(v) else v

    def tree(self, v: Sym, make: Callable[[int, int], theory.Layer], where: str) -> Sym:
        """A layer on ``(batch, C, n)``: ``make(C, n)`` gives it (without ReLU) as if ``v`` were the signal."""
        v = self._before_weights(v)
        if v.index.ndim != 3 or v.baxis != 0:
            raise bad(
                where,
                f"a layer on a signal of shape {v.shape} (after Flatten/Linear?)",
                "a (batch, channels, positions) signal",
            )
        ids, (n, c), _ = self._canon(v)
        layer = make(c, n)
        if layer.c_in != c:
            raise bad(where, f"a {layer.kind} layer reading {layer.c_in} channels", f"{c} channels, as the signal has")
        with theory_errors(f"{where}: "):
            n_out = layer.out_positions(n)
        out_shape = (1, layer.c_out, n_out)
        if not self.keep and np.array_equal(ids, np.arange(self.units)):
            return Sym(np.full(out_shape, -1, np.int64), 0, layer)
        units = np.arange(n_out * layer.c_out, dtype=np.int64)
        which, in_units, nz = layer.edges(units)
        biases = layer.bias_of(units)
        terms: list[list[tuple[Fraction, int]]] = [[] for _ in units]
        for w, i, z in zip(which.tolist(), ids[in_units].tolist(), nz.tolist()):
            terms[w].append((layer.weight.values[z], i))
        out = np.array([self._combine(t, biases[u], True) for u, t in enumerate(terms)], np.int64)
        return Sym(out.reshape(1, n_out, layer.c_out).transpose(0, 2, 1).copy(), 0)

    def linear(self, v: Sym, out_shape: tuple[int, ...], taps: list, biases: list, where: str) -> Sym:
        """A weight operation given by its taps: output element ``e`` (C order of ``out_shape``, batch first) is
        ``biases[e] + sum coef v[i]`` over ``(coef, i)`` in ``taps[e]``, ``i`` a flat index of ``v``'s shape."""
        v = self._before_weights(v)
        a = np.moveaxis(v.index, v.baxis, 0)[0].reshape(-1)
        out = [self._combine([(c, int(a[i])) for c, i in t], b, True) for t, b in zip(taps, biases)]
        return Sym(np.array(out, np.int64).reshape(1, *out_shape), 0)

    def matmul(self, v: Sym, m: np.ndarray, where: str) -> Sym:
        """``v @ m`` for an exact constant ``m`` of shape ``(K, N)`` or ``(..., K, N)`` (numpy broadcasting)."""
        v = self._before_weights(v)
        a = v.index
        if m.ndim < 2 or a.ndim < 2 or a.shape[-1] != m.shape[-2] or v.baxis == a.ndim - 1:
            raise bad(
                where,
                f"a product of a signal of shape {v.shape} with a constant of shape {m.shape}",
                "signal (..., K) @ constant (K, N) or (..., K, N), the batch axis not contracted",
            )
        try:
            stack = np.broadcast_shapes(a.shape[:-2], m.shape[:-2])
        except ValueError:
            raise bad(where, f"stacks {a.shape[:-2]} and {m.shape[:-2]}", "broadcastable stack shapes") from None
        lead = len(stack) + 2 - a.ndim
        if v.baxis < a.ndim - 2 and stack[v.baxis + lead] != 1:
            raise bad(where, f"a constant of shape {m.shape} broadcast along the batch axis", "one matrix per sample")
        self.guard(math.prod(stack) * a.shape[-2] * a.shape[-1] * m.shape[-1], where, "a matrix product's terms")
        ab = np.broadcast_to(a, (*stack, *a.shape[-2:]))
        mb = np.broadcast_to(m, (*stack, *m.shape[-2:]))
        out = np.empty((*stack, ab.shape[-2], m.shape[-1]), np.int64)
        for s in np.ndindex(*stack):
            cols = [[(c, k) for k, c in enumerate(mb[s][:, j]) if c] for j in range(m.shape[-1])]  # nonzeros only
            for r, row in enumerate(ab[s].tolist()):
                for j, col in enumerate(cols):
                    out[(*s, r, j)] = self._combine([(c, row[k]) for c, k in col], _ZERO, True)
        return Sym(out, v.baxis + lead)

    # ---------------------------------------------------------------- sums and data movement
    def add_const(self, v: Sym, const: np.ndarray, where: str) -> Sym:
        """``v + const`` (exact, numpy broadcasting that keeps the batch axis of size 1)."""
        v = self._settle(v)
        try:
            shape = np.broadcast_shapes(v.index.shape, const.shape)
        except ValueError:
            raise bad(
                where,
                f"a constant of shape {const.shape} added to a signal of shape {v.shape}",
                "a constant that broadcasts against the signal",
            ) from None
        lead = len(shape) - v.index.ndim
        if shape[v.baxis + lead] != 1:
            raise bad(where, f"a constant of shape {const.shape} broadcast along the batch axis", "one sample's shape")
        a, c = np.broadcast_to(v.index, shape), np.broadcast_to(const, shape)
        out = np.array(
            [self._combine([(_ONE, int(i))], k, False) for i, k in zip(a.reshape(-1), c.reshape(-1))], np.int64
        )
        return Sym(out.reshape(shape), v.baxis + lead)

    def add(self, a: Sym, b: Sym, sign: int, where: str) -> Sym:
        """``a + sign b`` of two traced tensors of the same shape (a skip's join)."""
        a, b = self._settle(a), self._settle(b)
        if a.index.shape != b.index.shape or a.baxis != b.baxis:
            raise bad(
                where,
                f"a sum of tensors of shapes {a.shape} and {b.shape}",
                "two tensors of the same shape (no broadcasting), e.g. x + f(x) with f keeping the shape",
            )
        s = Fraction(sign)
        out = [
            self._combine([(_ONE, int(i)), (s, int(j))], _ZERO, False)
            for i, j in zip(a.index.reshape(-1), b.index.reshape(-1))
        ]
        return Sym(np.array(out, np.int64).reshape(a.index.shape), a.baxis)

    def transpose(self, v: Sym, perm: Sequence[int], where: str) -> Sym:
        v = self._settle(v)
        if sorted(perm) != list(range(v.index.ndim)):
            raise bad(where, f"perm {list(perm)}", f"a permutation of the {v.index.ndim} axes")
        return Sym(v.index.transpose(perm), list(perm).index(v.baxis))

    def flatten(self, v: Sym, axis: int, where: str) -> Sym:
        """ONNX ``Flatten`` / ``torch.flatten(x, 1)``: ``(batch, ...) -> (batch, prod(...))`` (axis 1 only)."""
        v = self._settle(v)
        if axis != 1 or v.baxis != 0:
            raise bad(
                where,
                f"flatten at axis {axis} of a tensor with the batch on axis {v.baxis}",
                "flattening everything after the batch axis (axis 1, batch first)",
            )
        return Sym(v.index.reshape(1, -1), 0)

    def reshape(self, v: Sym, dims: Sequence[int], where: str) -> Sym:
        """ONNX ``Reshape`` (0 copies a dimension, -1 is inferred); the batch axis must stay an axis of its own.

        The batch goes to a copied axis (0 at its own place), else to the -1, else to a literal 1 at its own place
        (a file exported with batch size 1)."""
        v = self._settle(v)
        full, b = v.index.shape, v.baxis
        pre, post = int(np.prod(full[:b])), int(np.prod(full[b + 1 :]))
        dims = [int(d) for d in dims]
        candidates = (
            ([b] if b < len(dims) and dims[b] == 0 else [])
            + [i for i, d in enumerate(dims) if d == -1]
            + ([b] if b < len(dims) and dims[b] == 1 else [])
        )
        for j in candidates:
            raw = [full[i] if d == 0 and i < len(full) else d for i, d in enumerate(dims)]
            raw[j] = 1
            if raw.count(-1) > 1 or any(d == 0 or d < -1 for d in raw):
                continue
            if -1 in raw:
                known = int(np.prod([d for d in raw if d != -1]))
                if (pre * post) % known:
                    continue
                raw[raw.index(-1)] = (pre * post) // known
            if int(np.prod(raw[:j])) == pre and int(np.prod(raw[j + 1 :])) == post:
                return Sym(v.index.reshape(raw), j)
        raise bad(
            where,
            f"a reshape of a tensor of shape {v.shape} (batch axis {b}) to {dims}",
            "a reshape that keeps the batch as an axis of its own (0 copies it, or -1 infers it)",
        )

    # ---------------------------------------------------------------- the spec
    def finish(self, v: Sym, meta: dict[str, Any], prefix: str, empty: str) -> theory.Network:
        """The network whose output is ``v`` flattened: ``(batch, F)`` in order, ``(batch, C, n)`` and
        ``(batch, C, H, W)`` position-major (position ``h W + w``)."""
        self.keep = []
        v = self._settle(v)
        if v.baxis != 0 or v.index.ndim not in (2, 3, 4):
            raise NumericsError(
                f"{prefix}the output has shape {v.shape} with the batch on axis {v.baxis}; allowed: "
                "(batch, features), (batch, channels, positions) or (batch, channels, H, W)"
            )
        if not self.weight_ops:
            raise NumericsError(f"{prefix}{empty}")
        ids, _, _ = self._canon(v)
        if not (self.layers and np.array_equal(ids, np.arange(self.units))):
            self._emit(v, relu=False)
        with theory_errors(prefix):
            return theory.Network(d=self.d, c_in=self.c_in, layers=tuple(self.layers), meta=meta)
