"""cnnverify.theory: exact constructions of depth-log d CNNs and their exact evaluation.

Everything here is exact (Python Fractions, sympy); nothing imports torch. The constructions are our
reconstructions of Wang & Wu (NeurIPS 2023), see ``shared/papers/wang_wu_2023.md`` section 4.

Public API:

* specs: :class:`Network`, layers :class:`ConvLayer`, :class:`LocalLayer`, :class:`PointwiseLayer`,
  :class:`DenseLayer`, storage :class:`SparseArray`;
* constructions: :func:`gather`, :func:`select`, :func:`tree_sum`, :class:`TwoLayerHead`, :func:`compose`,
  :func:`to_lcn`, :func:`to_fcn`;
* evaluation: :func:`evaluate_exact`, :func:`trace_exact`, :func:`symbolic`;
* files: :func:`save`, :func:`load`, :func:`to_json`, :func:`from_json`;
* approximation and proofs: :class:`Head` (a network with an a-priori error bound), :class:`Certificate`;
  z3 proofs :func:`prove_routing` (induction over levels), :func:`prove_equivalent_monolithic` and
  :func:`encode` (one query over the output's cone), :func:`prove_bound` (sup-norm bound vs a polynomial);
  :func:`certify_sup_error` (sup-norm error vs any target, interval branch and bound);
* heads with proved a-priori bounds: :func:`square_head`, :func:`product_head`, :func:`polynomial_head`
  (Yarotsky), :func:`pl_head` (Kuhn interpolation); :func:`approximate_head`, :func:`approximate_sparse`
  (routing + a head sized for a given eps); :func:`latex` (formula or layer-by-layer LaTeX);
* errors: :class:`TheoryError` (a ``ValueError``) for every bad input.
"""

from ._certificate import METHODS, STATUSES, Certificate, library_versions
from ._compose import compose, to_fcn, to_lcn
from ._errors import TheoryError
from ._exact import evaluate_exact, trace_exact
from ._head import Head, as_box, head_symbols, symbols_for
from ._heads import TwoLayerHead, tree_sum
from ._approximate import approximate_head, approximate_sparse
from ._bnb import certify_sup_error
from ._latex import latex
from ._pl import pl_head
from ._yarotsky import polynomial_head, product_head, square_head
from ._io import atomic_write_dir, atomic_write_file, from_json, load, save, spec_bytes, to_json
from ._layers import ConvLayer, DenseLayer, Layer, LocalLayer, PointwiseLayer
from ._network import Network
from ._rational import as_rational
from ._routing import ARCHITECTURES, gather, select
from ._sparse import SparseArray
from ._symbolic import input_name, input_symbols, symbolic
from ._target import enclose_target
from ._z3_bound import prove_bound, sympy_to_z3
from ._z3_encode import encode, prove_equivalent_monolithic
from ._z3_routing import prove_routing

__all__ = [
    "Certificate", "Head", "METHODS", "STATUSES", "as_box", "atomic_write_file", "head_symbols",
    "library_versions", "symbols_for",
    "ARCHITECTURES", "ConvLayer", "DenseLayer", "Layer", "LocalLayer", "Network", "PointwiseLayer",
    "SparseArray", "TheoryError", "TwoLayerHead", "as_rational", "atomic_write_dir", "spec_bytes", "compose", "evaluate_exact", "from_json",
    "enclose_target", "gather", "input_name", "input_symbols", "load", "save", "select", "symbolic", "to_fcn", "to_json", "to_lcn",
    "trace_exact", "tree_sum",
    "approximate_head", "approximate_sparse", "latex", "pl_head", "polynomial_head", "product_head", "square_head",
    "certify_sup_error", "encode", "prove_bound", "prove_equivalent_monolithic", "prove_routing", "sympy_to_z3",
]
