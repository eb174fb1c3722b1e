"""cnnverify.numerics: torch modules from exact specs, float checks at scale, learning experiments, DUAT.

One subpackage per concept; everything public is re-exported here. Float comparisons use the named entries of
:data:`TOLERANCES`; every bad input is a :class:`NumericsError` (a ``ValueError``).

* :mod:`numerics.convert`: :func:`to_module`, the only exact-to-float conversion in the project; weight files
  :func:`export`, :func:`save_module`, :func:`load_module` (safetensors, never unpickled; ``theory.save`` / ``theory.load`` are the spec alone); ONNX files :func:`export_onnx`;
  torch modules and ONNX files in, losslessly: :func:`from_torch`, :func:`from_onnx`;
* :mod:`numerics.scale`: :func:`check_at_scale` (sup-norm error: sampling, search, exact witness, certificates,
  float error; its options as keywords or one :class:`ScaleOptions` record), :func:`evaluate_at_scale` (batched
  evaluation in a memory budget), the evaluation paths :class:`StructuredPath` (output cone only) and
  :class:`DensePath` (fused matrix products), the rounding-error bound :func:`rounding_bound`, and the claims at
  scale :func:`claim_routing_at_scale`, :func:`claim_head_bound`, :func:`claim_sparse_approx`;
* :mod:`numerics.learning`: the learning experiments: regression :class:`Task` s, the CNN / LCN / FCN tree
  ensemble :class:`TreeArch` trained by :func:`train_ensemble` (seeds and learning rates vectorised), one sweep
  point :func:`train_point`, the resumable sample-complexity sweep :func:`run_separation` (search
  :class:`ThresholdSearch`, fits :func:`bootstrap_fit`, executors :func:`make_executor`) and the equivariance
  experiment :func:`equivariance_run`;
* :mod:`numerics.peers`: the routing claim (and linear sup-norm claims) as VNN-LIB files :func:`export_vnnlib`
  (properties :func:`routing_property`, :func:`target_property`), and :func:`crosscheck` against a peer verifier
  (Marabou), every counterexample replayed exactly (verdicts agree / disagree / spurious / unknown);
* :mod:`numerics.duat`: the matrix-vector method of the DUAT paper (``f(x) = W(x) x + b(x)``), its reference
  models and its empirical experiments;
* :func:`torch_threads`: a context manager that sets torch's thread count and restores it; :func:`usable_cores`
  (the cores this process may use) and :func:`set_worker_threads` (a worker process's initializer).
"""

from . import convert, duat, learning, peers, scale
from ._errors import NumericsError
from ._threads import set_worker_threads, torch_threads, usable_cores
from ._tolerances import TOLERANCES, Tolerance
from .convert import (
    DTYPES,
    WEIGHTS_FILE,
    DenseOnSignal,
    LocallyConnected1d,
    SpecModule,
    export,
    export_onnx,
    float_bytes,
    from_onnx,
    from_torch,
    load_module,
    resolve_device,
    resolve_dtype,
    round_rational,
    save_module,
    to_module,
)
from .learning import (
    ARCHS,
    TASKS,
    TRANSFORMS,
    LineFit,
    SweepConfig,
    Task,
    ThresholdSearch,
    TrainSettings,
    TreeArch,
    bootstrap_fit,
    equivariance_run,
    interpolate_n_star,
    log2_fit,
    loglog_fit,
    make_executor,
    ratio_fit,
    run_separation,
    separation_config,
    train_ensemble,
    train_point,
)
from .peers import Crosscheck, Property, crosscheck, export_vnnlib, routing_property, target_property
from .scale import (
    DensePath,
    ScaleOptions,
    ScaleReport,
    ScaleRun,
    StructuredPath,
    UnsoundCertificateWarning,
    check_at_scale,
    claim_head_bound,
    claim_routing_at_scale,
    claim_sparse_approx,
    cone,
    evaluate_at_scale,
    float_deviation,
    gamma,
    rounding_bound,
    unit_roundoff,
)

__all__ = [
    "WEIGHTS_FILE",
    "export",
    "load_module",
    "save_module",
    "export_onnx",
    "DTYPES",
    "DenseOnSignal",
    "LocallyConnected1d",
    "NumericsError",
    "SpecModule",
    "TOLERANCES",
    "Tolerance",
    "float_bytes",
    "resolve_device",
    "resolve_dtype",
    "round_rational",
    "to_module",
    "from_torch",
    "from_onnx",
    "DensePath",
    "StructuredPath",
    "cone",
    "ScaleRun",
    "evaluate_at_scale",
    "ScaleReport",
    "UnsoundCertificateWarning",
    "check_at_scale",
    "ScaleOptions",
    "float_deviation",
    "gamma",
    "rounding_bound",
    "unit_roundoff",
    "claim_head_bound",
    "claim_routing_at_scale",
    "claim_sparse_approx",
    "TASKS",
    "Task",
    "ARCHS",
    "TreeArch",
    "TrainSettings",
    "train_ensemble",
    "train_point",
    "TRANSFORMS",
    "equivariance_run",
    "ThresholdSearch",
    "LineFit",
    "bootstrap_fit",
    "interpolate_n_star",
    "log2_fit",
    "loglog_fit",
    "ratio_fit",
    "make_executor",
    "SweepConfig",
    "run_separation",
    "separation_config",
    "Property",
    "routing_property",
    "target_property",
    "export_vnnlib",
    "Crosscheck",
    "crosscheck",
    "torch_threads",
    "usable_cores",
    "set_worker_threads",
    "convert",
    "scale",
    "learning",
    "duat",
    "peers",
]
