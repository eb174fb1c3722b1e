"""The shared half of network import: tensor operations on one traced input become a chain of exact spec layers.

:func:`numerics.from_torch` (an ``fx`` graph or a layer list) and :func:`numerics.from_onnx` (an ONNX graph) both
drive a :class:`Lowering`. It follows every tensor of the graph as exact affine forms of the current spec signal
``h`` (the input, then the output of the last spec layer): element ``e`` of a tensor is
``sum_u a[e, u] h[u] + a0[e]`` with rational ``a``. Data movement (reshape, transpose, flatten) only reorders
forms; a weight operation (convolution, matrix product) builds new forms; a ``relu`` writes the forms it needs as
one spec layer with ReLU, after which they are ``h`` itself again. A weight operation on forms that already hold
one is written first as a layer without ReLU, so each torch / ONNX weight operation stays its own spec layer.

Skips (``y = x + f(x)``, ``y = g(x) + f(x)``): while a layer is written, every other tensor still needed later
(``keep``) is carried along in extra channels: after a ReLU layer as the pair ``(relu(x), relu(-x))``, read back
as ``x = relu(x) - relu(-x)``; after a layer without ReLU as ``x`` itself. At the join, ``g(x) + f(x)`` is a sum of
forms, written with the next layer. Exact in rational arithmetic, so lossless (reconstruction, ours: the spec is a
chain, so a skip travels through the branch's layers as channels of dense layers).

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

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

import theory

from .._errors import NumericsError, bad, theory_errors
from ._lower_layers import recover

MAX_TERMS = 5_000_000
"""Most nonzero coefficients the affine forms of one layer may hold (about 1 GB of Python objects): a skip block,
a 2-D layer or an ONNX graph lowered this way is written as dense layers, which grow as positions x positions."""

_ONE, _ZERO = Fraction(1), Fraction(0)


class Sym:
    """One tensor of the traced graph: ``index`` holds the id of each element's affine form (batch axis of size 1
    at ``baxis``); ``layer`` is a tree layer of the untouched signal not written yet (its output, before ReLU)."""

    def __init__(self, index: np.ndarray, baxis: int, layer: theory.Layer | None = None):
        self.index, self.baxis, self.layer = index, baxis, layer

    @property
    def shape(self) -> tuple[int, ...]:
        """The tensor's shape without the batch axis."""
        return tuple(s for i, s in enumerate(self.index.shape) if i != self.baxis)


class Lowering:
    """Builds the spec layer by layer; ``keep`` (set by the driver before each operation) lists the tensors
    still needed after it, which any layer written now must carry."""

    def __init__(self, input_shape: Sequence[int], *, recover: bool = False):
        shape = tuple(input_shape)
        if len(shape) not in (1, 2, 3) or not all(isinstance(s, (int, np.integer)) and s >= 1 for s in shape):
            raise bad(
                "input_shape", input_shape, "(d,), (c_in, d) or (c_in, H, W) with positive sizes: one sample's shape"
            )
        self.c_in = 1 if len(shape) == 1 else int(shape[0])
        self.hw = tuple(int(s) for s in shape[1:]) if len(shape) == 3 else None  # a 2-D input: d = H W
        self.d = int(np.prod(shape[1:] if len(shape) > 1 else shape))
        self.flat_input, self.recover = len(shape) == 1, recover
        self.layers: list[theory.Layer] = []
        self.keep: list[Sym] = []
        self.weight_ops = 0
        self._reset(self.d, self.c_in, relu=False)

    def _reset(self, n: int, c: int, relu: bool) -> None:
        self.n, self.c, self.units, self.h_relu = n, c, n * c, relu
        self.forms: list[tuple[dict[int, Fraction], Fraction, bool]] = []  # ids >= units; ids < units: h[id]
        self.terms = 0

    def input(self) -> Sym:
        """The network's input: ``(1, d)`` or ``(1, c_in, d)`` of identity forms."""
        ids = np.arange(self.units, dtype=np.int64)
        if self.flat_input:
            return Sym(ids.reshape(1, self.d), 0)
        if self.hw:  # position p = h W + w
            return Sym(ids.reshape(1, *self.hw, self.c_in).transpose(0, 3, 1, 2).copy(), 0)
        return Sym(ids.reshape(1, self.d, self.c_in).transpose(0, 2, 1).copy(), 0)

    # ---------------------------------------------------------------- forms
    def _form(self, i: int) -> tuple[dict[int, Fraction], Fraction, bool]:
        return ({int(i): _ONE}, _ZERO, False) if i < self.units else self.forms[i - self.units]

    def _combine(self, terms: list[tuple[Fraction, int]], const: Fraction, weighted: bool) -> int:
        """A new form ``const + sum coef form[id]``; an exact ``h[u]`` not made by a weight operation is ``u``."""
        acc: dict[int, Fraction] = {}
        for coef, i in terms:
            if coef:
                f, k, w = self._form(i)
                weighted = weighted or w
                const += coef * k
                for u, a in f.items():
                    acc[u] = acc.get(u, _ZERO) + coef * a
        acc = {u: a for u, a in acc.items() if a}
        if not weighted and const == 0 and len(acc) == 1 and next(iter(acc.values())) == 1:
            return next(iter(acc))
        self.terms += len(acc) + 1
        if self.terms > MAX_TERMS:
            raise NumericsError(
                f"network import: the affine forms of one layer exceed {MAX_TERMS} coefficients; "
                "skip blocks, 2-D layers, ONNX graphs are lowered through dense layers, growing with "
                "positions x positions; import a smaller network"
            )
        self.forms.append((acc, const, weighted))
        return self.units + len(self.forms) - 1

    def _weighted(self, v: Sym) -> bool:
        return any(self.forms[i - self.units][2] for i in np.unique(v.index) if i >= self.units)

    # ---------------------------------------------------------------- writing layers
    @staticmethod
    def _canon(v: Sym) -> tuple[np.ndarray, tuple[int, int], Callable[[np.ndarray], np.ndarray]]:
        """Element ids in spec unit order, the layout ``(n, C)``, and the map from new unit ids back to the shape."""
        a = np.moveaxis(v.index, v.baxis, 0)[0]
        if a.ndim == 2 and v.baxis == 0:
            c, n = a.shape
            return a.T.reshape(-1), (n, c), lambda ids: ids.reshape(1, n, c).transpose(0, 2, 1).copy()
        if a.ndim == 3 and v.baxis == 0:  # (C, H, W): position h W + w, channel c
            c, hh, ww = a.shape
            return (
                a.transpose(1, 2, 0).reshape(-1),
                (hh * ww, c),
                lambda ids: ids.reshape(1, hh, ww, c).transpose(0, 3, 1, 2).copy(),
            )
        return a.reshape(-1), (1, a.size), lambda ids: np.expand_dims(ids.reshape(a.shape), v.baxis)

    def _settle(self, v: Sym, relu: bool = False) -> Sym:
        """Write ``v``'s pending tree layer (it reads all of ``h``, which nothing else still reads: a tree layer is
        only left pending when ``keep`` was empty), and make ``v``, in place, the new ``h``."""
        if v.layer is None:
            return v
        layer = type(v.layer)(v.layer.weight, v.layer.bias, relu=relu)
        n_out = layer.out_positions(self.n)
        self.layers.append(layer)
        self._reset(n_out, layer.c_out, relu)
        v.index, v.layer = self._canon(v)[2](np.arange(self.units, dtype=np.int64)), None
        return v

    def _emit(self, v: Sym, relu: bool) -> Sym:
        """Write the layer computing ``v`` (and carrying ``keep``); return ``v`` as units of the new ``h``."""
        v = self._settle(v)
        keep = list({id(k): k for k in self.keep}.values())
        ids, (n_out, c_out), back = self._canon(v)
        carry = sorted({int(i) for k in keep for i in np.unique(k.index)})
        whole = not carry and np.array_equal(ids, np.arange(self.units))
        if whole:  # h itself (a ReLU on the input, or after a layer others read): a 1x1 identity layer
            n_out, c_out = self.n, self.c
        per = 2 if relu else 1
        rows = [(r, int(i), 1) for r, i in enumerate(ids)]
        base = len(rows)
        rows += [(base + per * j + s, i, 1 - 2 * s) for j, i in enumerate(carry) for s in range(per)]
        if carry:
            n_out, c_out = 1, base + per * len(carry)
        keys, vals, bkeys, bvals = [], [], [], []
        for r, i, sign in rows:
            f, k, _ = self._form(i)
            keys += [r * self.units + u for u in f]
            vals += [sign * a for a in f.values()]
            if k:
                bkeys.append(r)
                bvals.append(sign * k)
        weight = theory.SparseArray.from_coo(
            (n_out, c_out, self.n, self.c),
            np.array(np.unravel_index(np.array(keys, np.int64), (n_out, c_out, self.n, self.c))).T.reshape(-1, 4),
            vals,
        )
        bias = theory.SparseArray.from_coo(
            (n_out, c_out),
            np.array(np.unravel_index(np.array(bkeys, np.int64), (n_out, c_out))).T.reshape(-1, 2),
            bvals,
        )
        if whole or (self.recover and not carry):
            layer = recover(weight, bias, relu)
        else:
            layer = theory.DenseLayer(weight, bias, relu=relu)
        self.layers.append(layer)
        self._reset(n_out, c_out, relu)
        remap = {}
        for j, i in enumerate(carry):
            a = base + per * j
            remap[i] = self._combine([(_ONE, a), (-_ONE, a + 1)], _ZERO, False) if relu else a
        for kept in keep:
            if kept.index.size:
                kept.index = np.vectorize(remap.__getitem__, otypes=[np.int64])(kept.index)
        return Sym(back(np.arange(base, dtype=np.int64)), v.baxis)

    def relu(self, v: Sym) -> Sym:
        """``relu(v)``: flips the last layer's ReLU on where nothing else reads it, else writes a layer."""
        if v.layer is not None and not self.keep:
            return self._settle(v, relu=True)
        v = self._settle(v)
        if np.all(v.index < self.units):
            if self.h_relu:
                return v  # relu(relu(z)) = relu(z)
            if self.layers and not self.keep:
                last = self.layers[-1]
                self.layers[-1] = type(last)(last.weight, last.bias, relu=True)
                self.h_relu = True
                return v
        return self._emit(v, relu=True)

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
