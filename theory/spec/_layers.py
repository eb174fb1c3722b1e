"""Layer specs: the four kinds of affine map (optionally followed by ReLU) a network spec is made of.

Every layer maps a signal ``h`` of shape ``(n_in, c_in)`` (positions, channels) to ``(n_out, c_out)``:

* :class:`ConvLayer` (CNN): shared kernel = stride = s, no padding:
  ``out[p, o] = act(b[o] + sum_{c, t} W[o, c, t] h[p*s + t, c])``, ``n_out = n_in / s``.
* :class:`LocalLayer` (LCN): the same with weights untied per output position,
  ``W[p, o, c, t]`` and ``b[p, o]``.
* :class:`PointwiseLayer` (1x1 conv): ``out[p, o] = act(b[o] + sum_c W[o, c] h[p, c])``, ``n_out = n_in``.
* :class:`DenseLayer` (FCN): ``out[p, o] = act(b[p, o] + sum_{n, c} W[p, o, n, c] h[n, c])``.

``act`` is ReLU when ``relu`` is true, else the identity. Units are numbered position-major:
unit ``u = p * channels + c``. Source: Wang & Wu (2023, arXiv 2305.08404), the CNN / LCN / FCN
architectures (reconstruction, see docs/catalogue.md, "Wang & Wu: what is reconstructed").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .._errors import TheoryError, bad
from ._sparse import SparseArray


@dataclass(frozen=True, eq=False)
class Layer:
    """Base class: an exact affine map with optional ReLU. Subclasses fix the weight layout."""

    weight: SparseArray
    bias: SparseArray
    relu: bool = True

    kind: ClassVar[str] = ""
    _weight_ndim: ClassVar[int] = 0
    _row_axes: ClassVar[int] = 1  # leading weight axes that name an output unit's row

    def __post_init__(self) -> None:
        if not isinstance(self.weight, SparseArray):
            raise bad("weight", type(self.weight).__name__, "a SparseArray (see SparseArray.from_dense)")
        if not isinstance(self.bias, SparseArray):
            raise bad("bias", type(self.bias).__name__, "a SparseArray (see SparseArray.from_dense)")
        if not isinstance(self.relu, (bool, np.bool_)):
            raise bad("relu", self.relu, "True or False")
        object.__setattr__(self, "relu", bool(self.relu))
        if self.weight.ndim != self._weight_ndim:
            raise bad(f"{self.kind} weight shape", self.weight.shape, f"{self._weight_ndim} axes: {self._layout}")
        expected = self.weight.shape[: self._row_axes]
        if self.bias.shape != expected:
            raise bad(
                f"{self.kind} bias shape", self.bias.shape, f"{expected}, matching the weight {self.weight.shape}"
            )

    _layout: ClassVar[str] = ""

    # -- shape facts -----------------------------------------------------------------
    @property
    def c_out(self) -> int:
        return self.weight.shape[self._row_axes - 1]

    @property
    def c_in(self) -> int:
        raise NotImplementedError

    @property
    def kernel(self) -> int:
        """Kernel size along positions (= stride); 1 for pointwise, 0 for dense (sees everything)."""
        raise NotImplementedError

    def out_positions(self, n_in: int) -> int:
        """Number of output positions for ``n_in`` input positions; raises if they do not fit."""
        raise NotImplementedError

    def param_count(self, biases: bool = True) -> int:
        """Dense count of this layer's free parameters (the architecture's, not the nonzeros)."""
        return self.weight.size + (self.bias.size if biases else 0)

    @property
    def nonzeros(self) -> int:
        """Stored nonzeros of weight and bias."""
        return self.weight.nnz + self.bias.nnz

    # -- connectivity ------------------------------------------------------------------
    def _row_of(self, units: np.ndarray) -> np.ndarray:
        """Weight row of each output unit."""
        return units % self.c_out if self._row_axes == 1 else units

    def _in_unit(self, units: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Input unit reached from output unit ``units`` through weight column ``cols``."""
        raise NotImplementedError

    def edges(self, units: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The nonzero-weight connections into the given output units.

        Args:
            units: int64 array (m,) of output unit ids ``p * c_out + o``.
        Returns:
            ``(which, in_units, nz)``: for every connection, the index into ``units`` it feeds, the input
            unit id ``n * c_in + c`` it reads, and the index of its weight in ``weight.values``.
        """
        row_size = self.weight.size // (
            self.weight.shape[0] if self._row_axes == 1 else self.weight.shape[0] * self.weight.shape[1]
        )
        n_rows = self.weight.size // row_size
        rowptr = np.searchsorted(self.weight.keys, np.arange(n_rows + 1, dtype=np.int64) * row_size)
        rows = self._row_of(units)
        start, count = rowptr[rows], rowptr[rows + 1] - rowptr[rows]
        which = np.repeat(np.arange(units.size, dtype=np.int64), count)
        offset = np.arange(which.size, dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
        nz = start[which] + offset
        cols = self.weight.keys[nz] % row_size
        return which, self._in_unit(units[which], cols), nz

    def bias_of(self, units: np.ndarray) -> np.ndarray:
        """Object array of the exact bias of each output unit."""
        rows = self._row_of(units)
        out = np.zeros(units.size, dtype=object)
        pos = np.searchsorted(self.bias.keys, rows)
        pos = np.minimum(pos, max(self.bias.nnz - 1, 0))
        hit = (self.bias.keys[pos] == rows) if self.bias.nnz else np.zeros(units.size, bool)
        out[hit] = self.bias.values[pos[hit]]
        return out


@dataclass(frozen=True, eq=False)
class _TreeLayer(Layer):
    """Shared part of the kernel = stride = s layers: weight's last two axes are ``(c_in, s)``."""

    stride: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.stride is not None and self.stride != self.kernel:
            raise bad(
                f"{self.kind} stride",
                self.stride,
                f"the kernel size {self.kernel}: only kernel = stride (non-overlapping) layers",
            )
        if self.kernel < 2:
            raise bad(f"{self.kind} kernel", self.kernel, "s >= 2 (a kernel of 1 is a PointwiseLayer)")

    c_in = property(lambda self: self.weight.shape[-2])
    kernel = property(lambda self: self.weight.shape[-1])

    def _in_unit(self, units: np.ndarray, cols: np.ndarray) -> np.ndarray:
        s = self.kernel
        return ((units // self.c_out) * s + cols % s) * self.c_in + cols // s


@dataclass(frozen=True, eq=False)
class ConvLayer(_TreeLayer):
    """Shared convolution, kernel = stride = s. weight ``(c_out, c_in, s)``, bias ``(c_out,)``."""

    kind: ClassVar[str] = "conv"
    _weight_ndim: ClassVar[int] = 3
    _layout: ClassVar[str] = "(c_out, c_in, s)"

    def out_positions(self, n_in: int) -> int:
        if n_in % self.kernel:
            raise TheoryError(f"conv layer with kernel = stride = {self.kernel} cannot tile {n_in} positions")
        return n_in // self.kernel


@dataclass(frozen=True, eq=False)
class LocalLayer(_TreeLayer):
    """Locally connected (untied) kernel = stride = s. weight ``(n_out, c_out, c_in, s)``, bias ``(n_out, c_out)``."""

    kind: ClassVar[str] = "local"
    _weight_ndim: ClassVar[int] = 4
    _row_axes: ClassVar[int] = 2
    _layout: ClassVar[str] = "(n_out, c_out, c_in, s)"

    def out_positions(self, n_in: int) -> int:
        n_out = self.weight.shape[0]
        if n_in != n_out * self.kernel:
            raise TheoryError(
                f"local layer with {n_out} positions x kernel {self.kernel} needs {n_out * self.kernel} input positions, got {n_in}"
            )
        return n_out


@dataclass(frozen=True, eq=False)
class PointwiseLayer(Layer):
    """1x1 convolution (dense on channels at every position). weight ``(c_out, c_in)``, bias ``(c_out,)``."""

    kind: ClassVar[str] = "pointwise"
    _weight_ndim: ClassVar[int] = 2
    _layout: ClassVar[str] = "(c_out, c_in)"

    c_in = property(lambda self: self.weight.shape[1])
    kernel = property(lambda self: 1)

    def out_positions(self, n_in: int) -> int:
        return n_in

    def _in_unit(self, units: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return (units // self.c_out) * self.c_in + cols


@dataclass(frozen=True, eq=False)
class DenseLayer(Layer):
    """Fully connected on the flattened signal. weight ``(n_out, c_out, n_in, c_in)``, bias ``(n_out, c_out)``."""

    kind: ClassVar[str] = "dense"
    _weight_ndim: ClassVar[int] = 4
    _row_axes: ClassVar[int] = 2
    _layout: ClassVar[str] = "(n_out, c_out, n_in, c_in)"

    c_in = property(lambda self: self.weight.shape[3])
    kernel = property(lambda self: 0)

    def out_positions(self, n_in: int) -> int:
        if n_in != self.weight.shape[2]:
            raise TheoryError(f"dense layer expects {self.weight.shape[2]} input positions, got {n_in}")
        return self.weight.shape[0]

    def _in_unit(self, units: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return cols


LAYER_KINDS: dict[str, type[Layer]] = {cls.kind: cls for cls in (ConvLayer, LocalLayer, PointwiseLayer, DenseLayer)}
