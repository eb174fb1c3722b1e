"""theory.heads: networks on the routed coordinates, with their exact or a-priori error bounds.

* the record: :class:`Head` (a network on ``k`` inputs, its target, box and proved a-priori bound),
  :func:`as_box`, :func:`head_symbols`, :func:`symbols_for`;
* exact: :class:`TwoLayerHead` (any two-layer ReLU net, the universality head);
* Yarotsky heads (Yarotsky 2017, standard): :func:`square_head`, :func:`product_head`, :func:`polynomial_head`;
* piecewise-linear interpolation on the Kuhn (Freudenthal) triangulation with a proved bound: :func:`pl_head`;
* targets: the whitelisted target expressions and their interval enclosures, :func:`enclose_target`.
"""

from ._interpolation import pl_head
from ._record import Head, as_box, head_symbols, symbols_for
from ._target import enclose_target
from ._two_layer import TwoLayerHead
from ._yarotsky import polynomial_head, product_head, square_head

__all__ = [
    "Head",
    "as_box",
    "head_symbols",
    "symbols_for",
    "TwoLayerHead",
    "square_head",
    "product_head",
    "polynomial_head",
    "pl_head",
    "enclose_target",
]
