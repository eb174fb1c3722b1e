"""numerics.duat.experiments: the DUAT empirical experiments (claims duat.E16-E19, docs/catalogue.md).

Seed-stacked small 2-D CNN ensembles (:class:`ConvArch`, one grouped convolution per layer) trained on the
bar-relation task (:func:`bars_task`, a task that needs global information) with :class:`TrainSpec`:

* :func:`depth_experiment` (E16: deeper CNNs at matched parameter count), :func:`residual_experiment` (E17:
  residual vs plain);
* :func:`lora_experiment` (E18: low-rank kernel updates vs a full fine-tune), :func:`pruning_experiment` (E19:
  accuracy after global magnitude pruning);
* :func:`spread` (mean, sd, min, max of per-seed numbers).

Each returns a plain JSON-able dict of per-seed numbers; the claims in ``checks.duat`` apply the declared
criteria. The architectures and the task are ours.
"""

from ._adaptation import lora_experiment, pruning_experiment
from ._models import ConvArch
from ._task import bars_task
from ._train import TrainSpec, spread
from ._trends import depth_experiment, residual_experiment

__all__ = [
    "ConvArch",
    "TrainSpec",
    "bars_task",
    "spread",
    "depth_experiment",
    "residual_experiment",
    "lora_experiment",
    "pruning_experiment",
]
