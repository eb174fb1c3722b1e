"""A builder of one-position ReLU networks, layer by layer, from exact affine forms.

The Yarotsky circuits (:mod:`theory.heads._polynomial_plan`) are written one ReLU layer at a time:
``open()`` starts a layer, every ``relu(form)`` appends a unit ``relu(form)`` (``form`` an
:class:`~theory.heads._affine.Aff` over the previous layer's units) and returns that unit as a form over the
new layer, ``close()`` stores the layer. :meth:`LayerBuilder.network` appends the linear readout.

Shapes: every layer is a 1x1 :class:`theory.spec.PointwiseLayer` with weight ``(width_out, width_in)`` and
bias ``(width_out,)`` (an empty layer keeps one zero row); the first layer reads the ``k`` inputs, the
network has ``d = 1``, ``c_in = k`` and one output. Source: bookkeeping only (reconstruction).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..spec import Network, PointwiseLayer, SparseArray
from ._affine import Aff

_ONE = Fraction(1)


class LayerBuilder:
    """Accumulates 1x1 layers on one position: ``open()``, ``relu(form) -> unit form``, ``close()``."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.width = k
        self.layers: list[PointwiseLayer] = []
        self.rows: list[Aff] | None = None

    def inputs(self) -> list[Aff]:
        """The ``k`` inputs as forms over the input layer."""
        return [Aff({j: _ONE}) for j in range(self.k)]

    def open(self) -> None:
        self.rows = []

    def relu(self, form: Aff) -> Aff:
        """A new unit ``relu(form)`` (form over the previous layer); returns it as a form over the new layer."""
        rows = self._open_rows()
        rows.append(form)
        return Aff({len(rows) - 1: _ONE})

    def close(self) -> None:
        rows = self._open_rows()
        self.layers.append(self._layer(rows, relu=True))
        self.width = len(rows)
        self.rows = None

    def _open_rows(self) -> list[Aff]:
        """The rows of the open layer; a RuntimeError outside ``open()`` ... ``close()`` (a bug of the caller)."""
        if self.rows is None:
            raise RuntimeError("LayerBuilder: relu() or close() without open()")
        return self.rows

    def _layer(self, rows: list[Aff], relu: bool) -> PointwiseLayer:
        shape = (max(len(rows), 1), self.width)
        w = {(r, u): c for r, f in enumerate(rows) for u, c in f.coef.items()}
        b = {(r,): f.const for r, f in enumerate(rows)}
        return PointwiseLayer(
            SparseArray.from_dict(shape, w, arg="weight"), SparseArray.from_dict(shape[:1], b, arg="bias"), relu=relu
        )

    def network(self, out: Aff, meta: dict[str, Any]) -> Network:
        """The stored ReLU layers and a linear readout computing ``out``."""
        layers = tuple(self.layers) + (self._layer([out], relu=False),)
        return Network(d=1, c_in=self.k, layers=layers, meta=meta)
