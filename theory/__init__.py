"""cnnverify.theory: exact constructions of depth-log d CNNs, their exact evaluation and proofs.

Everything here is exact (Python Fractions, sympy, z3); nothing imports torch. The constructions are our
reconstructions of Wang & Wu (NeurIPS 2023, arXiv 2305.08404), see docs/catalogue.md.

One subpackage per concept; everything public is re-exported here:

* :mod:`theory.formula`: :func:`parse_formula`, the one whitelist parser of formula text (targets, bounds);
* :mod:`theory.spec`: :class:`Network`, layers :class:`ConvLayer`, :class:`LocalLayer`, :class:`PointwiseLayer`,
  :class:`DenseLayer`, storage :class:`SparseArray`, :func:`as_rational`; exact and symbolic evaluation
  :func:`evaluate_exact`, :func:`trace_exact`, :func:`symbolic`, :func:`latex`, input names
  :func:`input_name`, :func:`input_symbols`, :func:`input_unit`; files :func:`save`,
  :func:`load`, :func:`to_json`, :func:`from_json` (spec files; :mod:`theory.spec` has the rest of their vocabulary);
* :mod:`theory.heads`: :class:`Head` (a network with an a-priori error bound), :class:`TwoLayerHead`,
  Yarotsky heads :func:`square_head`, :func:`product_head`, :func:`polynomial_head`, Kuhn interpolation
  :func:`pl_head`, target enclosures :func:`enclose_target`;
* :mod:`theory.constructions`: :func:`gather`, :func:`select`, :func:`tree_sum`, :func:`compose`,
  :func:`to_lcn`, :func:`to_fcn`, :func:`approximate_head`, :func:`approximate_sparse`;
* :mod:`theory.prove`: :class:`Certificate`; z3 proofs :func:`prove_routing` (induction over levels),
  :func:`prove_equivalent_monolithic` and :func:`encode` (one query over the output's cone),
  :func:`prove_bound` (sup-norm bound vs a polynomial);
* :mod:`theory.certify`: :func:`certify_sup_error` (sup-norm error vs any target, interval branch and bound);
* :mod:`theory.check`: :func:`check_certificate` (a certificate re-verified by an independent kernel: a
  sup-norm proof object, or a z3 proof's queries regenerated and answered by cvc5; :class:`CheckReport`);
* the plumbing shared by all three packages has faces of its own, not re-exported here: :mod:`theory.cli`
  (the error base, exit codes, argument helpers, progress, budgets) and :mod:`theory.io` (JSON reading, atomic
  writes, output paths and markers);
* errors: :class:`TheoryError` (a ``ValueError``) for every bad input.
"""

from . import certify, check, cli, constructions, formula, heads, io, prove, spec
from ._errors import TheoryError
from .certify import certify_sup_error
from .check import CheckReport, check_certificate
from .constructions import (
    ARCHITECTURES,
    approximate_head,
    approximate_sparse,
    compose,
    gather,
    select,
    to_fcn,
    to_lcn,
    tree_sum,
)
from .formula import parse_formula
from .heads import (
    Head,
    TwoLayerHead,
    as_box,
    enclose_target,
    head_symbols,
    pl_head,
    polynomial_head,
    product_head,
    square_head,
    symbols_for,
)
from .prove import (
    CERTIFICATE_METHODS,
    CERTIFICATE_STATUSES,
    Certificate,
    encode,
    library_versions,
    prove_bound,
    prove_equivalent_monolithic,
    prove_routing,
    sympy_to_z3,
)
from .spec import (
    ConvLayer,
    DenseLayer,
    Layer,
    LocalLayer,
    Network,
    PointwiseLayer,
    SparseArray,
    as_rational,
    evaluate_exact,
    from_json,
    input_name,
    input_symbols,
    input_unit,
    latex,
    load,
    save,
    symbolic,
    to_json,
    trace_exact,
)

__all__ = [
    "TheoryError",
    "parse_formula",
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
    "save",
    "load",
    "to_json",
    "from_json",
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
    "ARCHITECTURES",
    "gather",
    "select",
    "tree_sum",
    "compose",
    "to_lcn",
    "to_fcn",
    "approximate_head",
    "approximate_sparse",
    "Certificate",
    "CERTIFICATE_STATUSES",
    "CERTIFICATE_METHODS",
    "library_versions",
    "prove_routing",
    "encode",
    "prove_equivalent_monolithic",
    "prove_bound",
    "sympy_to_z3",
    "certify_sup_error",
    "check_certificate",
    "CheckReport",
]
