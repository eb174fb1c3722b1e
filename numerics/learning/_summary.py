"""The summary of a separation sweep: per (arch, d) the threshold n*, its fits over d, and the ratios between archs.

n*(d) is the smallest training-set size whose trained model reaches a median-over-seeds relative test error
``test MSE / Var(y) <= tau`` (:func:`passes`); :func:`summarize` turns the stored points and each search's final
state into the plain-JSON summary the driver (:func:`numerics.learning.run_separation`) writes: n* on the grid,
interpolated and fitted on the error curve (:func:`numerics.learning.fit_n_star`), the bootstrap fits
(:mod:`numerics.learning._fit`) and the excluded d with their reasons. Source: Wang & Wu 2023 (arXiv 2305.08404),
sample-complexity rates; the protocol is our reconstruction (docs/separation.md).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from .._errors import NumericsError
from ._config import SweepConfig
from ._fit import bootstrap_fit, interpolate_n_star, log2_fit, median_error, ratio_fit
from ._nstar import fit_n_star
from ._optim import describe_protocol


def passes(rec: Mapping[str, Any], tau: float) -> bool:
    """The pass criterion: median over seeds of the relative test error <= tau."""
    return median_error(rec["test_rel"]) <= tau


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _fit_or_error(fn: Callable[..., dict], *args: Any) -> dict:
    try:
        return fn(*args)
    except NumericsError as e:
        return {"error": str(e)}


def summarize(
    config: SweepConfig, points: Mapping[tuple[str, int, int], dict], status: Mapping[tuple[str, int], dict]
) -> dict:
    """The sweep summary from the stored points and each search's final state (see :func:`run_separation`)."""
    archs: dict[str, Any] = {}
    curves: dict[str, dict[int, list]] = {}
    for a_idx, arch in enumerate(config.archs):
        per_d, curves[arch], excluded = [], {}, []
        for d in config.ds:
            recs = sorted((r for (a, dd, _), r in points.items() if a == arch and dd == d), key=lambda r: r["n"])
            table = [
                {
                    "n": r["n"],
                    "median_test": median_error(r["test_rel"]),
                    "median_train": median_error(r["train_rel"]),
                    "test_rel": r["test_rel"],
                    "train_rel": r["train_rel"],
                    "lr": r.get("lr"),
                    "passed": passes(r, config.tau),
                }
                for r in recs
            ]
            interp, grid = interpolate_n_star([t["n"] for t in table], [t["median_test"] for t in table], config.tau)
            at = next((t for t in table if t["n"] == grid), None)
            st = status[(arch, d)]
            star = (
                fit_n_star(
                    [t["n"] for t in table],
                    [t["test_rel"] for t in table],
                    config.tau,
                    reps=config.bootstrap_reps,
                    seed=config.seed + 1000 * a_idx,
                    d=d,
                ).to_dict()
                if table
                else {"n_star_fit": None, "n_star_ci": None, "bracket": None}
            )
            per_d.append(
                {
                    "d": d,
                    "n_star": grid,
                    "n_star_interp": interp,
                    **star,
                    "censored": st["censored"],
                    "status": st["status"],
                    "error": st.get("error"),
                    "median_test_at_n_star": at and at["median_test"],
                    "median_train_at_n_star": at and at["median_train"],
                    "points": table,
                }
            )
            reason = (
                "below fit_d_min"
                if d < config.fit_d_min
                else "error"
                if st["status"] == "error"
                else "censored below (n_min passed: n* is only an upper bound)"
                if st["censored"] == "below"
                else None
            )
            if reason is None:  # censored above: no n* reached, so bootstrap_fit lists it among censored_ds
                curves[arch][d] = [(t["n"], t["test_rel"]) for t in table]
            else:
                excluded.append([d, reason])
        fit = _fit_or_error(bootstrap_fit, curves[arch], config.tau, config.bootstrap_reps, config.seed + 1000 * a_idx)
        archs[arch] = {"per_d": per_d, "fit": {**fit, "excluded_ds": excluded}}
    extra: dict[str, Any] = {}
    if "cnn" in archs and "error" not in archs["cnn"]["fit"]:
        extra["cnn_log2"] = _fit_or_error(log2_fit, archs["cnn"]["fit"]["ds"], archs["cnn"]["fit"]["n_stars"])
    for num, den in (("lcn", "cnn"), ("fcn", "lcn")):
        if num in curves and den in curves:
            extra.setdefault("ratios", {})[f"{num}/{den}"] = _fit_or_error(
                ratio_fit, curves[num], curves[den], config.tau, config.bootstrap_reps, config.seed + 7
            )
    return _finite({"config": config.to_dict(), "protocol": describe_protocol(config.train), "archs": archs, **extra})
