"""The frame of the DUAT empirical claims (E16, E17, empirical parts of E18 and E19): sizes and the decision rule.

Each empirical claim trains small seeded CNN ensembles on the bar-relation task (``numerics.duat.experiments._task``: our
reconstruction of a task that needs global information) and applies a criterion declared in ``expected``
before anything runs; it passes only when that criterion is met and fails with the numbers otherwise. The
paper's statements are informal ("the paper's apparent claim", docs/catalogue.md), so each is tested as
an empirical trend, not a law. The claims: E16 and E17 in ``_trends.py`` (models trained from scratch), the
empirical parts of E18 and E19 in ``_pretrained.py`` (adapting and pruning pretrained models); the
not-testable ones (E22, informal steps) in ``_catalogue.py``.

Kind: ``'numerical'``. ``'empirical-rate'`` is reserved for rate claims checked by a log-log slope over a
declared window with a ``'rate:<band>'`` tolerance (docs/soundness.md); these claims compare seeded
measurements (means and seed spreads) under a declared decision rule, with tolerance ``None``.

Profiles: ``full`` uses 16 x 16 images and 5 seeds (more steps); ``quick`` is a reduced version (12 x 12 images,
3 seeds, fewer steps) and says so in its note. Model seeds are ``1000 * ctx.seed + i``, so E18 and E19 share
their pretrained models. float32 on the CPU, one torch thread.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from numerics.duat.experiments import ConvArch, TrainSpec

from ..claims import Context, Result

QUICK_NOTE = "quick profile: a reduced run (12x12 images, 3 seeds, fewer steps); --profile full: 16x16, 5 seeds"
MAX_PARAM_MISMATCH = 0.10
"""Largest relative difference of a depth's parameter count from the target (matched parameters, E16)."""
SIGMAS = 1.0
"""Decision margin in pooled seed standard deviations: a difference of means counts only beyond 1 pooled sd
(about 1.6 standard errors of the difference for 5 seeds: a trend criterion, not a significance test)."""
MIN_EFFECT = 0.05
"""Smallest difference of mean accuracies that counts as a trend: models at chance on 500 test images scatter by
about 0.022 each, so their means differ by up to ~0.05 by luck, which a 1-sd margin over 3 seeds does not exclude."""

PROFILES: dict[str, dict[str, Any]] = {
    "quick": {
        "seeds": 3,
        "side": 12,
        "depth": {
            "depths": (1, 2, 3, 4),
            "target_params": 400,
            "n_train": 1000,
            "n_test": 500,
            "spec": TrainSpec(200, batch=32, lr=1e-2),
        },
        "residual": {
            "blocks": 4,
            "width": 6,
            "n_train": 300,
            "n_test": 500,
            "loss_target": 0.2,
            "spec": TrainSpec(800, batch=32, lr=3e-3, eval_every=25),
        },
        "pretrained": {
            "arch": ConvArch((6, 6, 6, 6), pools=(0, 1)),
            "n_train": 1000,
            "n_test": 500,
            "pretrain": TrainSpec(200, batch=32, lr=1e-2),
        },
        "adapt": TrainSpec(150, batch=32, lr=1e-2),
        "finetune": None,
    },
    "full": {
        "seeds": 5,
        "side": 16,
        "depth": {
            "depths": (1, 2, 3, 4),
            "target_params": 800,
            "n_train": 2000,
            "n_test": 1000,
            "spec": TrainSpec(600, batch=32, lr=1e-2),
        },
        "residual": {
            "blocks": 4,
            "width": 8,
            "n_train": 500,
            "n_test": 1000,
            "loss_target": 0.2,
            "spec": TrainSpec(1500, batch=32, lr=3e-3, eval_every=25),
        },
        "pretrained": {
            "arch": ConvArch((8, 8, 8, 8), pools=(0, 1, 2)),
            "n_train": 2000,
            "n_test": 1000,
            "pretrain": TrainSpec(800, batch=32, lr=1e-2),
        },
        "adapt": TrainSpec(300, batch=32, lr=1e-2),
        "finetune": TrainSpec(50, batch=32, lr=3e-3),
    },
}
"""Experiment sizes per profile."""


def _setup(ctx: Context) -> tuple[dict[str, Any], tuple[int, ...], str]:
    """The profile's sizes, the model seeds and the note."""
    p = PROFILES[ctx.profile]
    return p, tuple(1000 * ctx.seed + i for i in range(p["seeds"])), "" if ctx.full else QUICK_NOTE


def _with(res: Result, plot: str, note: str) -> Result:
    """``res`` with the plot file in its evidence and ``note``."""
    return Result(
        res.status,
        observed=res.observed,
        expected=res.expected,
        tolerance=res.tolerance,
        evidence={**res.evidence, "plot": plot},
        note=note.strip(),
    )


def pooled_sd(*groups: Sequence[float]) -> float:
    """``sqrt(mean of the groups' sample variances)`` (ddof 1; a one-value group contributes 0)."""
    return float(math.sqrt(np.mean([np.var(g, ddof=1) if len(g) > 1 else 0.0 for g in groups])))


def _beats(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Whether ``mean(a) - mean(b) > max(SIGMAS * pooled sd, MIN_EFFECT)``, with the numbers."""
    diff, sd = float(np.mean(a) - np.mean(b)), pooled_sd(a, b)
    margin = max(SIGMAS * sd, MIN_EFFECT)
    return {"difference": diff, "pooled_sd": sd, "margin": margin, "beats": bool(diff > margin)}
