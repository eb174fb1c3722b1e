"""The DUAT adaptation claims duat.E18 (LoRA) and duat.E19 (pruning): an exact part merged with an empirical part.

Exact parts: a conv matrix is linear in its kernel and a rank-r kernel update has ``rank M(dK) <= r Ho Wo``
(E18); removing hidden units of a UAT-form layer changes the output by exactly their terms (E19). Empirical parts
(``_pretrained``): LoRA rank against adaptation, accuracy against the pruning ratio. :func:`merge` makes one
Result of the two (a crash in either part is ``unknown``, the other still reported). Float comparisons use
``TOLERANCES['float64_affine']``; ranks are numpy's SVD-threshold ranks. Source: Wang & Li, DUAT (arXiv
2407.17480), our reconstruction (docs/duat.md; docs/catalogue.md lists the claims).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

from numerics import duat
from numerics.duat import references as ref

from ..claims import Context, Result
from ._parts import Part, _gen, _model, _randn, _result, _uat_layers, matrix_part
from ._pretrained import lora_adaptation, pruning_curve


# ------------------------------------------------------------------------------------------------ E18, E19
def verify_lora_rank(M_dK, rank: int, out_hw: int, full_dims: tuple[int, ...]) -> Part:
    """``rank M(dK) <= r Ho Wo``, attained when ``r Ho Wo <= min(dims)`` (numpy matrix_rank, SVD threshold)."""
    got = int(np.linalg.matrix_rank(ref.dense(M_dK)))
    bound = rank * out_hw
    return {"ok": got <= bound and (got == bound or bound > min(full_dims)), "rank": got, "bound": bound}


def e18_exact(ctx: Context) -> Result:
    g = _gen(ctx, "kernels")
    cout, cin, k, side = 6, 4, 3, 6
    shape = (cin, side, side)
    K = _randn((cout, cin, k, k), g)
    parts = {}
    for r in (1, 2, 3):
        dK = (_randn((cout, r), g) @ _randn((r, cin * k * k), g)).reshape(cout, cin, k, k)
        lin = matrix_part(
            duat.conv_matrix(K + dK, shape, padding=1),
            ref.dense(duat.conv_matrix(K, shape, padding=1)) + ref.dense(duat.conv_matrix(dK, shape, padding=1)),
        )
        m = duat.conv_matrix(dK, shape, padding=1)
        rank = verify_lora_rank(m, r, side * side, tuple(m.shape))
        parts[f"r={r}"] = {
            "ok": lin["ok"] and rank["ok"],
            "linearity_max_err": lin["max_err"],
            **{a: b for a, b in rank.items() if a != "ok"},
        }
    return _result(
        parts,
        "M(K + dK) = M(K) + M(dK); rank M(dK) <= r Ho Wo for a rank-r (C_out x C_in k^2) update, attained",
        note="6 -> 4 channels, 3x3 kernel, 6x6 input, padding 1 (Ho Wo = 36)",
    )


def verify_pruning(model: nn.Sequential, pruned: nn.Sequential, removed: np.ndarray, x: torch.Tensor) -> Part:
    """``G(x) - G_P(x) == sum_{j in P} alpha_j sigma(w_j . x + b_j)`` within float64_affine, and the bound
    ``|G - G_P| <= sum_{j in P} |alpha_j| |sigma_j|``."""
    l1, act, l2 = _uat_layers(model)
    with torch.no_grad():
        delta = (model(x) - pruned(x)).numpy()
        s = act(x @ l1.weight.T + l1.bias)[:, removed].numpy()
    alpha = l2.weight.detach().numpy()[:, removed]
    want = s @ alpha.T
    bound = np.abs(s) @ np.abs(alpha).T
    return {
        "ok": ref.close(delta, want) and bool(np.all(np.abs(want) <= bound)),
        "max_err": ref.max_err(delta, want),
        "max_output_change": float(np.abs(delta).max()),
    }


def prune(model: nn.Sequential, keep: np.ndarray) -> nn.Sequential:
    """The UAT-form net without the hidden units outside ``keep``."""
    l1, act, l2 = _uat_layers(model)
    a, b = nn.Linear(l1.in_features, len(keep)).double(), nn.Linear(len(keep), l2.out_features).double()
    with torch.no_grad():
        a.weight.copy_(l1.weight[keep]), a.bias.copy_(l1.bias[keep])
        b.weight.copy_(l2.weight[:, keep]), b.bias.copy_(l2.bias)
    return nn.Sequential(a, act, b).eval()


def e19_exact(ctx: Context) -> Result:
    g = _gen(ctx, "nets")
    rng = ctx.np_rng("units")
    parts = {}
    for act in (nn.ReLU(), nn.Tanh()):
        model = _model(nn.Sequential(nn.Linear(4, 32), act, nn.Linear(32, 3)), g)
        removed = np.sort(rng.choice(32, 12, replace=False))
        parts[type(act).__name__] = verify_pruning(
            model, prune(model, np.setdiff1d(np.arange(32), removed)), removed, _randn((64, 4), g)
        )
    return _result(parts, "removing hidden units P changes the output by exactly sum_{j in P} alpha_j sigma_j(x)")


def merge(exact: Result, empirical: Result, note: str) -> Result:
    """One Result from an exact and an empirical part: fail if either fails, pass only if both pass, else unknown."""
    statuses = (exact.status, empirical.status)
    status = "fail" if "fail" in statuses else "pass" if statuses == ("pass", "pass") else "unknown"
    return Result(
        status,
        observed={"exact": exact.observed, "empirical": empirical.observed},
        expected={"exact": exact.expected, "empirical": empirical.expected},
        tolerance=exact.tolerance,
        evidence={
            "exact": {**exact.evidence, "note": exact.note},
            "empirical": {**empirical.evidence, "note": empirical.note},
        },
        note=note,
    )


def _safe(check: Callable[[Context], Result], ctx: Context) -> Result:
    """``check(ctx)``, or an ``unknown`` Result naming the exception (the other part is still reported)."""
    try:
        return check(ctx)
    except Exception as e:  # noqa: BLE001 -- a crashing part decides nothing; reported with its cause
        return Result("unknown", evidence={"exception": type(e).__name__, "message": str(e)})


def e18_lora(ctx: Context) -> Result:
    return merge(
        _safe(e18_exact, ctx),
        _safe(lora_adaptation, ctx),
        "exact part: linearity and rank bound of conv matrices; empirical part: LoRA rank vs adaptation",
    )


def e19_pruning(ctx: Context) -> Result:
    return merge(
        _safe(e19_exact, ctx),
        _safe(pruning_curve, ctx),
        "exact part: output change of a pruned UAT layer; empirical part: accuracy vs pruning ratio",
    )
