"""The float side of :func:`numerics.check_at_scale`: deviations from exact arithmetic at the witnesses, against the
a-priori rounding bound, and the cross-check of the first samples through a second evaluation path.

Both report plain dicts (``ScaleReport.float_error`` and ``ScaleReport.cross_check``). The bound is
:func:`numerics.rounding_bound` (Higham's model, :mod:`numerics.scale._rounding`); a measured deviation above it,
or two paths further apart than twice it, is reported, not raised.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import theory

from ..convert import to_module
from ._dense import DensePath
from ._engine import Engine
from ._paths import StructuredPath
from ._rounding import float_deviation, rounding_bound
from ._target import Target


def float_error(
    net: theory.Network, eng: Engine, tg: Target, points: torch.Tensor, full_points: list[np.ndarray], dt: torch.dtype
) -> dict[str, Any]:
    """Deviation of float32/float64 evaluations from exact arithmetic at ``points`` (representable in ``dt``).

    ``points (m, len(tg.units))`` are the witnesses on the target's units, ``full_points`` the same points as full
    inputs (``(d,)`` or ``(c_in, d)`` arrays). Every path that fits the budget is measured (structured, dense, and
    the plain module up to ``2^20`` inputs) in ``dt`` and float64, against :func:`numerics.float_deviation`.
    Returns ``{"measured": {"path/dtype": ...}, "a_priori_box": {dtype: {"bound", "exact_layers", "layers"}}}``:
    the a-priori bound (:func:`numerics.rounding_bound`) on the box's magnitudes.
    """
    outs: dict[str, torch.Tensor] = {}
    dtypes = [dt] + ([torch.float64] if dt != torch.float64 else [])
    full_bytes = len(full_points) * net.d * net.c_in * 8
    with torch.no_grad():
        for t in dtypes:
            name = str(t).replace("torch.", "")
            mod = eng.module if t == dt else to_module(net, t, eng.device)
            sp_ = eng.structured if t == dt else StructuredPath(net, mod)
            outs[f"structured/{name}"] = sp_.from_live(points.to(t)[:, eng.live_idx])
            dense = DensePath(net, mod)
            if eng.planned_bytes(len(full_points), "dense") + full_bytes <= eng.memory_budget:
                x = torch.as_tensor(np.stack(full_points), dtype=t, device=eng.device)
                outs[f"dense/{name}"] = dense(x.view(len(full_points), net.c_in, net.d))
                if net.d * net.c_in <= 1 << 20:
                    outs[f"module/{name}"] = mod(x.view(len(full_points), net.c_in, net.d))
    box_mag = np.array([float(max(abs(a), abs(b))) for a, b in tg.box])[
        np.searchsorted(tg.units, eng.structured.live_units)
    ]
    apriori = {str(t).replace("torch.", ""): rounding_bound(net, box_mag, t) for t in dtypes}
    return {
        "measured": float_deviation(net, full_points, outs),
        "a_priori_box": {
            k: {"bound": v.total, "exact_layers": len(v.exact_layers), "layers": net.depth} for k, v in apriori.items()
        },
    }


def cross_check(eng: Engine, rows: int, tg: Target) -> dict[str, Any]:
    """The first ``rows`` samples through the chosen path and a second one; routing must agree bit for bit.

    Returns ``{"rows", "paths", "max_abs_diff", "bitwise_equal", "rounding_bound_x2", "consistent"}`` (the two
    paths agree within twice the a-priori rounding bound), or ``{"rows": 0}`` (with ``"skipped"`` when the full
    rows do not fit the memory budget).
    """
    if rows == 0:
        return {"rows": 0}
    other = "dense" if eng.path == "structured" else "structured"
    need = eng.planned_bytes(rows, "dense")
    if need > eng.memory_budget:
        return {"rows": 0, "skipped": f"{rows} full rows need {need} bytes > memory_budget"}
    cols = eng.columns(0, rows)
    with torch.no_grad():
        a, b = eng.evaluate(0, cols), eng.evaluate(0, cols, other)
    diff = float((a.double() - b.double()).abs().max())
    box_mag = np.array([float(max(abs(p), abs(q))) for p, q in tg.box])[
        np.searchsorted(tg.units, eng.structured.live_units)
    ]
    bound = 2 * rounding_bound(eng.net, box_mag, eng.dtype).total
    return {
        "rows": rows,
        "paths": [eng.path, other],
        "max_abs_diff": diff,
        "bitwise_equal": bool(torch.equal(a, b)),
        "rounding_bound_x2": bound,
        "consistent": diff <= bound,
    }
