"""numerics.duat: the matrix-vector method of "Dynamic Universal Approximation Theory" (Wang & Li, arXiv
2407.17480): a network at an input ``x`` as ``f(x) = W(x) x + b(x)``.

The per-layer matrices are our reconstruction (docs/duat.md, forms M1-M11), built from index formulas and
stored sparse: :func:`conv_matrix` (M1), :func:`decompose` / :func:`decompose_layers` (any module whose forward
torch.fx traces to supported layers and ops, in module or functional form: the traced graph of local maps is
composed from the output side when ``n_out < n_in``, else from the input side, in sparse blocks while they are
sparse and dense blocks through torch's kernels after; per-node records with static matrices and dynamic
factors), :func:`receptive_field` (support of the composed static matrices and the closed form),
:func:`estimate_memory` / :class:`MemoryEstimate` (the nonzeros of ``W`` and the peak bytes, from the shapes
alone: the guard every decomposition runs against its ``memory_budget``), and reference modules
(:class:`BasicBlock`, :class:`PreActBlock`, :class:`ViTBlock`, :class:`PatchEmbed`, :func:`vgg_small`,
:func:`reference_model`).

Internals: ``_trace`` (torch.fx tracing with the supported layers as leaves; node names and source lines for
errors), ``_graph`` (the traced graph at ``x`` as local maps), ``_ops`` (functional forms, data movement, ``+``
and ``*`` by constants), ``_maps`` (gather / matrix / conv maps with their batched operators), ``_accumulate``
(forward / reverse order, sparse / dense blocks), ``_decompose`` (the public API), ``_estimate``,
``_estimate_walk`` and ``_estimate_rules`` (the memory estimate: its records, the walk over the graph, the
per-node rules).

Subpackages and public modules: :mod:`numerics.duat.layers` (one form per leaf type), :mod:`numerics.duat.models`
(the reference models), :mod:`numerics.duat.references` (independent second computations of each form, for
checks), :mod:`numerics.duat.experiments` (the empirical experiments).
"""

from . import experiments, models, references
from ._decompose import Decomposition, LayerRecord, decompose, decompose_layers
from ._estimate import MemoryEstimate, StepEstimate, estimate_memory
from ._receptive import ReceptiveField, closed_form_rf, receptive_field
from .layers import SUPPORTED_NAMES, ChannelsToTokens, conv_matrix
from .models import (
    MODEL_NAMES,
    BasicBlock,
    PatchEmbed,
    PreActBlock,
    Residual,
    ViTBlock,
    init_,
    reference_model,
    vgg_small,
)

__all__ = [
    "conv_matrix",
    "decompose",
    "decompose_layers",
    "Decomposition",
    "LayerRecord",
    "receptive_field",
    "estimate_memory",
    "MemoryEstimate",
    "StepEstimate",
    "ReceptiveField",
    "closed_form_rf",
    "BasicBlock",
    "PreActBlock",
    "ViTBlock",
    "PatchEmbed",
    "ChannelsToTokens",
    "Residual",
    "vgg_small",
    "reference_model",
    "init_",
    "MODEL_NAMES",
    "SUPPORTED_NAMES",
    "models",
    "references",
    "experiments",
]
