"""cnnverify.numerics: torch modules from exact specs, float checks at scale.

:func:`to_module` is the only exact-to-float conversion in the project. Float comparisons use the named
entries of :data:`TOLERANCES`. At scale: :func:`check_at_scale` (sup-norm error: sampling, search, exact
witness, certificates, float error), :func:`evaluate_at_scale` (batched evaluation in a memory budget), the
evaluation paths :class:`StructuredPath` (output cone only) and :class:`DensePath` (fused matrix products),
and the rounding-error bound :func:`rounding_bound`.
"""

from ._convert import (DTYPES, DenseOnSignal, LocallyConnected1d, SpecModule, float_bytes, resolve_device,
                       resolve_dtype, round_rational, to_module)
from ._errors import NumericsError
from ._io import SPEC_FILE, WEIGHTS_FILE, export, load, save
from ._tolerances import TOLERANCES, Tolerance
from ._dense import DensePath
from ._paths import StructuredPath, cone
from ._scale import ScaleRun, evaluate_at_scale
from ._check import ScaleReport, UnsoundCertificateWarning, check_at_scale
from ._floaterr import RoundingBound, float_deviation, gamma, rounding_bound, unit_roundoff
from ._claims import claim_head_bound, claim_routing_at_scale, claim_sparse_approx

__all__ = [
    "SPEC_FILE", "WEIGHTS_FILE", "export", "load", "save",
    "DTYPES", "DenseOnSignal", "LocallyConnected1d", "NumericsError", "SpecModule", "TOLERANCES", "Tolerance",
    "float_bytes", "resolve_device", "resolve_dtype", "round_rational", "to_module",
    "DensePath", "StructuredPath", "cone", "ScaleRun", "evaluate_at_scale", "ScaleReport", "UnsoundCertificateWarning",
    "check_at_scale", "RoundingBound", "float_deviation", "gamma", "rounding_bound", "unit_roundoff",
    "claim_head_bound", "claim_routing_at_scale", "claim_sparse_approx",
]
