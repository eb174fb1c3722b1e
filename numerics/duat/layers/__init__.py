"""numerics.duat.layers: one matrix-vector form per supported leaf module type (docs/duat.md).

Each handler maps a leaf module at a sample ``h`` to a :class:`LeafMap` (``W``, ``b``, static part and dynamic
factor); :data:`LEAVES` dispatches on the exact module type (a subclass may override ``forward``, which the
walker must not guess at). :data:`SUPPORTED_NAMES` lists them for error messages.

* convolutions (M1): :func:`conv_matrix`; pooling (M2, M3); activations as diagonal matrices (M4,
  :data:`ACTIVATIONS`); BatchNorm / LayerNorm (M5, M6); token-wise Linear and :class:`ChannelsToTokens` (M7,
  M8); multi-head self-attention (M9).

A new layer type: a handler in the module of its family, one entry in :data:`LEAVES`, and a claim in
``checks.duat`` comparing it with an independent form of :mod:`numerics.duat.references`.
All forms are our reconstruction of Wang & Li, "Dynamic Universal Approximation Theory".
"""

from ._activations import ACTIVATIONS
from ._conv import conv_matrix
from ._dispatch import LEAVES, SUPPORTED_NAMES
from ._leaf import LeafMap, flat
from ._linear import ChannelsToTokens

__all__ = ["LEAVES", "SUPPORTED_NAMES", "LeafMap", "flat", "ACTIVATIONS", "conv_matrix", "ChannelsToTokens"]
