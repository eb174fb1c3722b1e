"""cnnverify.theory: exact constructions of depth-log d CNNs, their exact evaluation and proofs.

Everything here is exact (Python Fractions, sympy, z3); nothing imports torch. The constructions are our
reconstructions of Wang & Wu (NeurIPS 2023), see ``shared/papers/wang_wu_2023.md`` section 4.

One subpackage per concept; everything public is re-exported here:

* :mod:`theory.formula`: :func:`parse_formula`, the one whitelist parser of formula text (targets, bounds);
* :mod:`theory.spec`: :class:`Network`, layers :class:`ConvLayer`, :class:`LocalLayer`, :class:`PointwiseLayer`,
  :class:`DenseLayer`, storage :class:`SparseArray`, :func:`as_rational`; exact and symbolic evaluation
  :func:`evaluate_exact`, :func:`trace_exact`, :func:`symbolic`, :func:`latex`, input names
  :func:`input_name`, :func:`input_symbols`, :func:`input_unit`; files :func:`save`,
  :func:`load`, :func:`to_json`, :func:`from_json` (:class:`MetaNotCoveredWarning`); :func:`read_json`,
  :func:`parse_json` (the one reader of JSON files: a corrupted file is a clear error);
* :mod:`theory.heads`: :class:`Head` (a network with an a-priori error bound), :class:`TwoLayerHead`,
  Yarotsky heads :func:`square_head`, :func:`product_head`, :func:`polynomial_head`, Kuhn interpolation
  :func:`pl_head`, target enclosures :func:`enclose_target`;
* :mod:`theory.constructions`: :func:`gather`, :func:`select`, :func:`tree_sum`, :func:`compose`,
  :func:`to_lcn`, :func:`to_fcn`, :func:`approximate_head`, :func:`approximate_sparse`;
* :mod:`theory.prove`: :class:`Certificate`; z3 proofs :func:`prove_routing` (induction over levels),
  :func:`prove_equivalent_monolithic` and :func:`encode` (one query over the output's cone),
  :func:`prove_bound` (sup-norm bound vs a polynomial); :func:`recheck` (every z3 query of a proof re-checked by
  cvc5 from its SMT-LIB 2 text);
* :mod:`theory.certify`: :func:`certify_sup_error` (sup-norm error vs any target, interval branch and bound);
* command lines (shared by ``python -m theory``, ``numerics`` and ``checks``; docs/cli.md): the exit codes
  :data:`EXIT_OK`, :data:`EXIT_FAIL`, :data:`EXIT_USAGE`, :data:`EXIT_UNSOUND`, :data:`EXIT_PIPE`,
  :data:`EXIT_CODES`; output paths :func:`check_writable`, :func:`check_replaceable`, the marker
  :data:`MARKER_FILE` (:func:`read_marker`, :func:`write_marker`); :func:`parse_int_list`,
  :func:`join_option_values`, :func:`run_cli`,
  :class:`ProgressLine`; memory budgets :data:`MEMORY_BUDGET`, :func:`check_budget`, :func:`parse_size`,
  :func:`format_bytes`, :func:`format_count`;
* errors: :class:`TheoryError` (a ``ValueError``) for every bad input.
"""

from ._errors import TheoryError
from ._budget import MEMORY_BUDGET, check_budget, format_bytes, format_count, parse_size
from ._commands import (EXIT_CODES, EXIT_FAIL, EXIT_OK, EXIT_PIPE, EXIT_UNSOUND, EXIT_USAGE, ProgressLine,
                        join_option_values, parse_int_list, run_cli)
from .formula import parse_formula
from .spec import (MARKER_FILE, SPEC_FILE, ConvLayer, DenseLayer, Layer, LocalLayer, Network, PointwiseLayer,
                   SparseArray, as_rational, atomic_write_dir, atomic_write_file, check_replaceable, check_writable,
                   evaluate_exact, from_json, input_name, input_symbols, input_unit, latex, load, read_marker, save,
                   spec_bytes, symbolic, to_json, trace_exact, write_marker)
from .spec import MetaNotCoveredWarning, parse_json, read_json, uncovered_meta_error
from .heads import (Head, TwoLayerHead, as_box, enclose_target, head_symbols, pl_head, polynomial_head,
                    product_head, square_head, symbols_for)
from .constructions import (ARCHITECTURES, approximate_head, approximate_sparse, compose, gather, select, to_fcn,
                            to_lcn, tree_sum)
from .prove import (METHODS, SOLVERS, STATUSES, Certificate, encode, library_versions, prove_bound,
                    prove_equivalent_monolithic, prove_routing, recheck, sympy_to_z3)
from .certify import certify_sup_error

__all__ = [
    "TheoryError", "parse_formula",
    "EXIT_OK", "EXIT_FAIL", "EXIT_USAGE", "EXIT_UNSOUND", "EXIT_PIPE", "EXIT_CODES", "parse_int_list",
    "join_option_values", "run_cli",
    "ProgressLine", "MEMORY_BUDGET", "check_budget", "parse_size", "format_bytes", "format_count", "MARKER_FILE", "check_writable", "check_replaceable", "read_marker", "write_marker",
    "Network", "Layer", "ConvLayer", "LocalLayer", "PointwiseLayer", "DenseLayer", "SparseArray", "as_rational",
    "evaluate_exact", "trace_exact", "symbolic", "input_name", "input_symbols", "input_unit", "latex",
    "SPEC_FILE", "MetaNotCoveredWarning", "read_json", "parse_json", "uncovered_meta_error", "save", "load", "to_json", "from_json", "spec_bytes", "atomic_write_file", "atomic_write_dir",
    "Head", "as_box", "head_symbols", "symbols_for", "TwoLayerHead", "square_head", "product_head",
    "polynomial_head", "pl_head", "enclose_target",
    "ARCHITECTURES", "gather", "select", "tree_sum", "compose", "to_lcn", "to_fcn", "approximate_head",
    "approximate_sparse",
    "Certificate", "STATUSES", "METHODS", "library_versions", "prove_routing", "encode",
    "prove_equivalent_monolithic", "prove_bound", "sympy_to_z3", "recheck", "SOLVERS",
    "certify_sup_error",
]
