"""numerics.learning: CNN / LCN / FCN sample complexity measured by training, and equivariance.

Source: Wang & Wu 2023 (arXiv 2305.08404); the experiment design is ours (docs/separation.md).

* data: regression :class:`Task` s (:data:`TASKS`);
* models and training: the tree ensemble :class:`TreeArch` (:data:`ARCHS`: cnn, lcn, fcn), trained by
  :func:`train_ensemble` (seeds and learning rates vectorised; :class:`TrainSettings`: :data:`OPTIMIZERS`,
  weight decay, minibatches; :func:`require_equivariant`); one sweep point :func:`train_point`;
* the sweep: :func:`run_separation` / :class:`SweepConfig` / :func:`separation_config` (resumable store,
  plots), the threshold search :class:`ThresholdSearch`, fits :func:`bootstrap_fit`, :func:`loglog_fit`,
  :func:`log2_fit`, :func:`ratio_fit`, :func:`interpolate_n_star`, :func:`fit_n_star` (:class:`LineFit`), executors
  :func:`make_executor`; the command line is ``python -m numerics separation``;
* baselines outside the tree family on the same data: :func:`baseline_point` (:data:`BASELINES`: a two-layer
  FCN, min-norm least squares);
* equivariance of gradient training: :func:`equivariance_run` (:data:`TRANSFORMS`).
"""

from ._baselines import BASELINES, baseline_point
from ._config import PROFILES, SweepConfig, separation_config
from ._equivariance import TRANSFORMS, equivariance_run
from ._executors import make_executor
from ._fit import LineFit, bootstrap_fit, interpolate_n_star, log2_fit, loglog_fit, ratio_fit
from ._nstar import fit_n_star
from ._optim import OPTIMIZERS, require_equivariant
from ._sweep import run_separation
from ._tasks import TASKS, Task
from ._threshold import ThresholdSearch
from ._train import TrainSettings, train_ensemble, train_point
from ._tree import ARCHS, TreeArch

__all__ = [
    "TASKS",
    "Task",
    "ARCHS",
    "TreeArch",
    "TrainSettings",
    "train_ensemble",
    "train_point",
    "PROFILES",
    "SweepConfig",
    "run_separation",
    "separation_config",
    "ThresholdSearch",
    "LineFit",
    "bootstrap_fit",
    "interpolate_n_star",
    "fit_n_star",
    "log2_fit",
    "loglog_fit",
    "ratio_fit",
    "make_executor",
    "TRANSFORMS",
    "equivariance_run",
    "OPTIMIZERS",
    "require_equivariant",
    "BASELINES",
    "baseline_point",
]
