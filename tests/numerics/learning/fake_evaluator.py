"""A fake separation evaluator with a planted n*(d) = c_arch d^a_arch (no training), for the sweep tests.

Seed ``j`` at (arch, d) has the relative test error ``tau (c d^a / n)^P * z_j``, ``z_j`` lognormal with
``sigma = config["train"]["fake_sigma"]`` drawn from (config seed, arch, d, seed label) only, so each seed's
curve is monotone in n and its own threshold is ``c d^a z_j^(1/P)``. Importable by name as
:data:`EVALUATOR`, ``tests.numerics.learning.fake_evaluator:evaluate``: tests/ is a package and pytest puts the
repository root on sys.path (``pythonpath = ["."]``), which the spawned workers of the ``local`` executor inherit;
the dask tests run a LocalCluster with processes=False, in this process.

Test hooks (module state, not config, so a resumed run sees the same config): ``CALLS`` lists every evaluated
(arch, d, n); ``BUDGET`` (None: unlimited) counts down per call and raises KeyboardInterrupt at 0, simulating an
interrupted run; ``config["train"]["fake_fail"] = [arch, d]`` raises RuntimeError at every n of that search.
"""

from __future__ import annotations

import hashlib

import numpy as np

EVALUATOR = "tests.numerics.learning.fake_evaluator:evaluate"
"""This evaluator's name for ``SweepConfig(evaluator=...)``, imported by name by the sweep (and its workers)."""
PLANTED = {"cnn": (20.0, 0.0), "lcn": (4.0, 1.0), "fcn": (0.5, 2.0)}
"""arch -> (c, a): n*_true(d) = c d^a."""
P = 1.0
FAILING = "tests.numerics.learning.fake_evaluator:always_fail"
"""An evaluator that raises at every point (a sweep whose every point fails), for the exit-status tests."""
CALLS: list[tuple[str, int, int]] = []
BUDGET: int | None = None


def n_true(arch: str, d: int) -> float:
    c, a = PLANTED[arch]
    return c * d**a


def _z(config: dict, arch: str, d: int, s: int) -> float:
    sigma = float(config["train"].get("fake_sigma", 0.2))
    seed = int.from_bytes(hashlib.sha256(repr((config["seed"], arch, d, s)).encode()).digest()[:8], "big")
    return float(np.exp(sigma * np.random.default_rng(seed).standard_normal()))


def evaluate(config: dict, arch: str, d: int, n: int, *, device: str, dtype: str) -> dict:
    global BUDGET
    if BUDGET is not None:
        if BUDGET <= 0:
            raise KeyboardInterrupt("fake evaluator: budget spent")
        BUDGET -= 1
    CALLS.append((arch, d, n))
    if config["train"].get("fake_fail") == [arch, d]:
        raise RuntimeError(f"planted failure at {arch} d={d} n={n}")
    tau = config["tau"]
    test = [tau * (n_true(arch, d) / n) ** P * _z(config, arch, d, s) for s in config["seeds"]]
    return {
        "n": n,
        "d": d,
        "arch": arch,
        "test_rel": test,
        "train_rel": [0.5 * t for t in test],
        "val_rel": test,
        "lr": [config["lrs"][0]] * len(test),
        "steps": [1] * len(test),
        "seconds": 0.0,
    }


def always_fail(config: dict, arch: str, d: int, n: int, *, device: str, dtype: str) -> dict:
    raise RuntimeError(f"planted failure at every point ({arch} d={d} n={n})")
