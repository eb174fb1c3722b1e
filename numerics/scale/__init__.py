"""numerics.scale: evaluation and sup-norm error checks of exact specs at scale (GPU when present).

* evaluation paths: :class:`StructuredPath` (only the output's cone, :func:`cone`) and :class:`DensePath`
  (fused matrix products); :func:`evaluate_at_scale` / :class:`ScaleRun` (batched, in a memory budget);
* :func:`check_at_scale` / :class:`ScaleReport`: sampling, gradient ascent, exact re-evaluation of the worst
  point (a rigorous lower bound), certificates and float error; :class:`UnsoundCertificateWarning`; its options
  as one frozen record :class:`ScaleOptions` (``options=``), or as keywords naming the record's fields;
* ``progress`` of both runs: None (a bar on stderr when it is a terminal), True / False, or a callable receiving
  ``{"samples_done", "samples", "seconds"}`` after every batch (as :func:`theory.certify_sup_error`'s callable);
* float error: :func:`rounding_bound` (a :class:`theory.spec.RoundingBound`: a-priori, gamma_n), :func:`float_deviation`,
  :func:`gamma`, :func:`unit_roundoff`;
* claims at scale, as plain result dicts: :func:`claim_routing_at_scale`, :func:`claim_head_bound`,
  :func:`claim_sparse_approx`.
"""

from ._check import check_at_scale
from ._claims import claim_head_bound, claim_routing_at_scale, claim_sparse_approx
from ._dense import DensePath
from ._evaluate import ScaleRun, evaluate_at_scale
from ._options import ScaleOptions
from ._paths import StructuredPath, cone
from ._report import ScaleReport, UnsoundCertificateWarning
from ._rounding import float_deviation, gamma, rounding_bound, unit_roundoff

__all__ = [
    "StructuredPath",
    "DensePath",
    "cone",
    "ScaleRun",
    "evaluate_at_scale",
    "ScaleReport",
    "UnsoundCertificateWarning",
    "check_at_scale",
    "ScaleOptions",
    "rounding_bound",
    "float_deviation",
    "gamma",
    "unit_roundoff",
    "claim_routing_at_scale",
    "claim_head_bound",
    "claim_sparse_approx",
]
