"""The state of network import: affine forms of the current spec signal, and the spec layers written from them.

:class:`AffineForms`, the base of :class:`numerics.convert._lower.Lowering` (which adds the tensor operations),
holds the spec written so far and follows every tensor of the graph (a :class:`Sym`) as exact affine forms of the
current spec signal ``h`` (the input, then the output of the last spec layer): element ``e`` is
``sum_u a[e, u] h[u] + a0[e]`` with rational ``a``, at most :data:`MAX_TERMS` coefficients per layer. A ``relu``
writes the forms it needs as one spec layer with ReLU (:meth:`AffineForms._emit`), after which they are ``h`` itself
again; a tree layer of the untouched signal waits in its :class:`Sym` and is written as it is
(:meth:`AffineForms._settle`). Spec units are position-major: unit ``p C + c`` is element ``[c, p]``, and of a 2-D
signal unit ``(h W + w) C + c`` is element ``[c, h, w]`` (:meth:`AffineForms._canon`).

Skips (``y = x + f(x)``, ``y = g(x) + f(x)``): while a layer is written, every other tensor still needed later
(``keep``) is carried along in extra channels: after a ReLU layer as the pair ``(relu(x), relu(-x))``, read back
as ``x = relu(x) - relu(-x)``; after a layer without ReLU as ``x`` itself. At the join, ``g(x) + f(x)`` is a sum of
forms, written with the next layer. Exact in rational arithmetic, so lossless (reconstruction, ours: the spec is a
chain, so a skip travels through the branch's layers as channels of dense layers).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction

import numpy as np

import theory
from theory.cli import MEMORY_BUDGET, check_budget, guard_memory

from .._errors import NumericsError, bad
from ._lower_layers import recover

MAX_TERMS = 5_000_000
"""Most nonzero coefficients the affine forms of one layer may hold (about 1 GB of Python objects): a skip block,
a 2-D layer or an ONNX graph lowered this way is written as dense layers, which grow as positions x positions."""

_ONE, _ZERO = Fraction(1), Fraction(0)


BYTES_PER_COEFFICIENT = 160
"""Estimated bytes of one exact coefficient while a network is imported (a ``Fraction`` with its two ints, its
place in a list of terms, and the int64 form id beside it), for the memory guard of :meth:`AffineForms.guard`."""


class Sym:
    """One tensor of the traced graph: ``index`` holds the id of each element's affine form (batch axis of size 1
    at ``baxis``); ``layer`` is a tree layer of the untouched signal not written yet (its output, before ReLU)."""

    def __init__(self, index: np.ndarray, baxis: int, layer: theory.Layer | None = None):
        self.index, self.baxis, self.layer = index, baxis, layer

    @property
    def shape(self) -> tuple[int, ...]:
        """The tensor's shape without the batch axis."""
        return tuple(s for i, s in enumerate(self.index.shape) if i != self.baxis)


class AffineForms:
    """The spec written so far and the affine forms of the tensors on its current signal; ``keep`` (set by the
    driver before each operation) lists the tensors still needed after it, which any layer written now must carry."""

    def __init__(self, input_shape: Sequence[int], *, recover: bool = False, memory_budget: int = MEMORY_BUDGET):
        shape = tuple(input_shape)
        if len(shape) not in (1, 2, 3) or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, (bool, np.bool_)) and s >= 1 for s in shape
        ):
            raise bad(
                "input_shape",
                input_shape,
                "(d,), (c_in, d) or (c_in, H, W) with positive int sizes: one sample's shape",
            )
        self.budget = check_budget(memory_budget, error=NumericsError)
        self.guard(math.prod(int(s) for s in shape), "input_shape", "the input's affine forms")
        self.c_in = 1 if len(shape) == 1 else int(shape[0])
        self.hw = tuple(int(s) for s in shape[1:]) if len(shape) == 3 else None  # a 2-D input: d = H W
        self.d = int(np.prod(shape[1:] if len(shape) > 1 else shape))
        self.flat_input, self.recover = len(shape) == 1, recover
        self.layers: list[theory.Layer] = []
        self.keep: list[Sym] = []
        self.weight_ops = 0
        self._reset(self.d, self.c_in, relu=False)

    def guard(self, coefficients: int, where: str, what: str) -> None:
        """Refuse, before anything is built, an operation of about ``coefficients`` exact coefficients whose
        estimated size (:data:`BYTES_PER_COEFFICIENT` each) exceeds the memory budget."""
        guard_memory(
            f"import at {where!r}" if where else "import",
            coefficients * BYTES_PER_COEFFICIENT,
            self.budget,
            f"{what} (about {float(coefficients):.3g} exact coefficients)",
            "import a smaller input shape",
            error=NumericsError,
        )

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
