"""theory.constructions: the depth-log d CNNs of the papers, built as exact specs (reconstructions).

Wang & Wu (NeurIPS 2023, arXiv 2305.08404); every construction is our reconstruction, checked by the toolkit
(docs/catalogue.md, "Wang & Wu: what is reconstructed").

* routing: :func:`gather` (all d inputs to the root: universality), :func:`select` (any k far-apart inputs);
  :data:`ARCHITECTURES` (``cnn``, ``lcn``, ``fcn``);
* :func:`tree_sum` (a per-patch two-layer head summed over the tree);
* :func:`compose` (routing + head), :func:`to_lcn`, :func:`to_fcn` (the same function without weight sharing
  or without locality, for parameter counts);
* approximation: :func:`approximate_head`, :func:`approximate_sparse` (routing + a head sized for a given eps).
"""

from ._approximate import approximate_head, approximate_sparse
from ._compose import compose, to_fcn, to_lcn
from ._routing import ARCHITECTURES, gather, select
from ._tree_sum import tree_sum

__all__ = [
    "ARCHITECTURES",
    "gather",
    "select",
    "tree_sum",
    "compose",
    "to_lcn",
    "to_fcn",
    "approximate_head",
    "approximate_sparse",
]
