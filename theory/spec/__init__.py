"""theory.spec: the exact network spec, its storage, files and exact evaluation.

A :class:`Network` is a frozen, self-validating feed-forward ReLU network on a 1-D signal of length ``d`` whose
weights are exact rationals (docs/architecture.md). Nothing here approximates or imports torch.

* the record: :class:`Network`; layer kinds :class:`Layer`, :class:`ConvLayer` (shared, kernel = stride),
  :class:`LocalLayer` (untied per position), :class:`PointwiseLayer` (1x1), :class:`DenseLayer` (on the
  flattened signal); sparse exact storage :class:`SparseArray`; :func:`as_rational` (the one parser of
  exact numbers);
* exact evaluation: :func:`evaluate_exact`, :func:`trace_exact` (Fractions); :func:`symbolic` (sympy),
  :func:`input_name`, :func:`input_symbols`, :func:`input_unit` (a name or an alias -> its input unit, the
  one mapping of names to inputs); :func:`latex` (formula or layer by layer);
* float evaluation: :func:`rounding_bound` (:class:`RoundingBound`), the a-priori bound on ``|float output -
  exact output|`` of a float evaluation keyed by the format's name (``"float32"``, ...), with
  :func:`unit_roundoff`, :func:`gamma` and the output's cone level by level :func:`cone_levels` (torch-free;
  ``numerics.rounding_bound`` wraps it for torch dtypes);
* files: :func:`save`, :func:`load` (``spec.json``: weights and meta each covered by a hash;
  :class:`MetaNotCoveredWarning` for old files whose meta is not: ``Network.meta_covered``, and
  :func:`uncovered_meta_error`, the error of a command asked to act on such a meta), :data:`SPEC_FILE`,
  :func:`to_json`, :func:`from_json`, :func:`spec_bytes` (reading and writing go through :mod:`theory.io`).
"""

from ._exact import evaluate_exact, trace_exact
from ._files import SPEC_FILE, MetaNotCoveredWarning, from_json, load, save, spec_bytes, to_json, uncovered_meta_error
from ._latex import latex
from ._layers import ConvLayer, DenseLayer, Layer, LocalLayer, PointwiseLayer
from ._network import Network
from ._rational import as_rational
from ._rounding import RoundingBound, cone_levels, gamma, rounding_bound, unit_roundoff
from ._sparse import SparseArray
from ._symbolic import input_name, input_symbols, input_unit, symbolic

__all__ = [
    "Network",
    "Layer",
    "ConvLayer",
    "LocalLayer",
    "PointwiseLayer",
    "DenseLayer",
    "SparseArray",
    "as_rational",
    "evaluate_exact",
    "trace_exact",
    "symbolic",
    "input_name",
    "input_symbols",
    "input_unit",
    "latex",
    "SPEC_FILE",
    "MetaNotCoveredWarning",
    "uncovered_meta_error",
    "save",
    "load",
    "to_json",
    "from_json",
    "spec_bytes",
    "RoundingBound",
    "rounding_bound",
    "unit_roundoff",
    "gamma",
    "cone_levels",
]
