"""cnnverify.numerics: torch modules from exact specs, float checks at scale.

:func:`to_module` is the only exact-to-float conversion in the project. Float comparisons use the named
entries of :data:`TOLERANCES`. At scale: :func:`check_at_scale` (sup-norm error: sampling, search, exact
witness, certificates, float error), :func:`evaluate_at_scale` (batched evaluation in a memory budget), the
evaluation paths :class:`StructuredPath` (output cone only) and :class:`DensePath` (fused matrix products),
and the rounding-error bound :func:`rounding_bound`.

Learning experiments (issue 5): regression :class:`Task` s, the CNN / LCN / FCN tree ensemble :class:`TreeArch`
trained by :func:`train_ensemble` (seeds and learning rates vectorised), one sweep point :func:`train_point`, the
resumable sample-complexity sweep :func:`run_separation` (search :class:`ThresholdSearch`, fits
:func:`bootstrap_fit`, executors :func:`make_executor`) and the equivariance experiment :func:`equivariance_run`.
The matrix-vector method of the DUAT paper is the subpackage :mod:`numerics.duat`.
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
from ._tasks import TASKS, Task
from ._ensemble import ARCHS, TreeArch
from ._train import TrainSettings, train_ensemble, train_point
from ._equivariance import TRANSFORMS, equivariance_run
from ._nsearch import ThresholdSearch
from ._fit import LineFit, bootstrap_fit, interpolate_n_star, log2_fit, loglog_fit, ratio_fit
from ._executors import make_executor
from ._separation import SweepConfig, run_separation, separation_config
from . import duat

__all__ = [
    "SPEC_FILE", "WEIGHTS_FILE", "export", "load", "save",
    "DTYPES", "DenseOnSignal", "LocallyConnected1d", "NumericsError", "SpecModule", "TOLERANCES", "Tolerance",
    "float_bytes", "resolve_device", "resolve_dtype", "round_rational", "to_module",
    "DensePath", "StructuredPath", "cone", "ScaleRun", "evaluate_at_scale", "ScaleReport", "UnsoundCertificateWarning",
    "check_at_scale", "RoundingBound", "float_deviation", "gamma", "rounding_bound", "unit_roundoff",
    "claim_head_bound", "claim_routing_at_scale", "claim_sparse_approx",
    "TASKS", "Task", "ARCHS", "TreeArch", "TrainSettings", "train_ensemble", "train_point", "TRANSFORMS",
    "equivariance_run", "ThresholdSearch", "LineFit", "bootstrap_fit", "interpolate_n_star", "log2_fit", "loglog_fit",
    "ratio_fit", "make_executor", "SweepConfig", "run_separation", "separation_config", "duat",
]
