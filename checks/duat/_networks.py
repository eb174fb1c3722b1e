"""The DUAT exact claims about whole networks: duat.E10-E12, E14, E15 (single layers, E1-E9, are in ``_layers``;
the residual form E13 in ``_residual``; E18, E19 in ``_adaptation``; E20, E21 in ``_definition``; the table of
every ``duat.*`` claim is ``_catalogue``).

Every check compares a form of :mod:`numerics.duat` (or a closed form) with an independent computation: torch's
forward pass, autograd Jacobians, dense reference forms (``numerics.duat.references``), sympy. Float
comparisons use ``TOLERANCES['float64_affine']`` (atol = rtol = 1e-12: float64 re-association of at most a few
thousand O(1) products stays near 1e-14; a wrong index or factor gives O(1) errors); structural statements are
compared exactly. The ``verify_*`` functions take the object under test as an argument, so tests can plant a
violation (a wrong conv index, a perturbed W, a flipped mask, a wrong rank) and require that it be caught.
Source: Wang & Li, DUAT (arXiv 2407.17480); forms M1-M11 of docs/duat.md (our reconstruction), claims as listed
in docs/catalogue.md.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from numerics import duat
from numerics.duat import references as ref

from ..claims import Context, Result
from ._parts import Part, _gen, _model, _out, _randn, _result, affine_part, matrix_part


# ------------------------------------------------------------------------------------------------ E10, E11
def jacobian(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """Dense autograd Jacobian of ``x -> model(x[None])[0].flatten()`` (independent of the walker)."""
    f = lambda v: model(v.reshape(x.shape)[None])[0].reshape(-1)
    return torch.autograd.functional.jacobian(f, x.reshape(-1).clone(), vectorize=True).detach().numpy()


def verify_jacobian(W, b, model: nn.Module, x: torch.Tensor) -> Part:
    """``W == autograd Jacobian`` and ``W x + b == model(x)`` within float64_affine (piecewise-linear nets)."""
    j, out = matrix_part(W, jacobian(model, x)), affine_part(W, b, x, _out(model, x))
    return {"ok": j["ok"] and out["ok"], "jacobian_max_err": j["max_err"], "output_max_err": out["max_err"]}


def e10_resnet(ctx: Context) -> Result:
    g = _gen(ctx, "resnet")
    side = 8 if ctx.full else 6
    parts = {}
    for name, m in (
        ("post-activation (projection + identity)", nn.Sequential(duat.BasicBlock(3, 4), duat.BasicBlock(4, 4))),
        ("pre-activation (projection + identity)", nn.Sequential(duat.PreActBlock(3, 4), duat.PreActBlock(4, 4))),
    ):
        model = _model(m, g)
        x = _randn((3, side, side), g)
        w, b = duat.decompose(model, x)
        parts[name] = verify_jacobian(w, b, model, x)
    return _result(parts, "f(x) = W(x) x + b(x) with W(x) == autograd Jacobian (float64_affine)")


def e11_vit(ctx: Context) -> Result:
    g = _gen(ctx, "vit")
    dim, tokens = (16, 8) if ctx.full else (8, 5)
    block = _model(duat.ViTBlock(dim, 2, 2), g)
    X = _randn((tokens, dim), g)
    w, b = duat.decompose(block, X)
    W_ref, b_ref = ref.vit_block_reference(block, X)
    parts = {
        "W == (I + K2 G K1 L2)(I + M_A L1)": matrix_part(w, W_ref),
        "b == composed bias": matrix_part(b, b_ref),
        "W x + b == forward": affine_part(w, b, X, _out(block, X)),
    }
    return _result(parts, "pre-LN ViT block = W(x) x + b(x) (M11 composed from the reference M6, M7, M9, GELU forms)")


# ------------------------------------------------------------------------------------------------ E12
def plain_net() -> nn.Sequential:
    """VGG-style ReLU/max-pool net on 3 x 8 x 8 (no skips)."""
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 5),
    )


def residual_net() -> nn.Sequential:
    """Post- and pre-activation residual blocks with a max-pool on 3 x 8 x 8."""
    return nn.Sequential(
        duat.BasicBlock(3, 4),
        nn.MaxPool2d(2),
        duat.PreActBlock(4, 4),
        duat.BasicBlock(4, 4),
        nn.Flatten(),
        nn.Linear(64, 5),
    )


def verify_constancy(model: nn.Module, x: torch.Tensor, dx: torch.Tensor, others) -> Part:
    """``W, b`` at ``x + dx`` equal those at ``x`` (to 1e-12: float64_affine), and ``W`` differs at each of ``others``."""
    w, b = duat.decompose(model, x)
    w2, b2 = duat.decompose(model, x + dx)
    same = matrix_part(w, w2)["ok"] and matrix_part(b, b2)["ok"]
    differ = [ref.max_err(w, duat.decompose(model, o)[0]) for o in others]
    return {
        "ok": same and min(differ) > 0,
        "W_change_within_region": ref.max_err(w, w2),
        "b_change_within_region": ref.max_err(b, b2),
        "min_W_change_across_regions": min(differ),
    }


def e12_constancy(ctx: Context) -> Result:
    g = _gen(ctx, "nets")
    parts = {}
    for name, build in (("plain (VGG-style)", plain_net), ("residual", residual_net)):
        for trial in range(3 if ctx.full else 1):
            model = _model(build(), g)
            x = _randn((3, 8, 8), g)
            margin = ref.boundary_margin(duat.decompose_layers(model, x, cumulative=True).layers, x)
            dx = 0.1 * margin * (2 * torch.rand(x.shape, generator=g, dtype=torch.float64) - 1)
            part = verify_constancy(model, x, dx, [_randn((3, 8, 8), g) for _ in range(3)])
            parts[f"{name} #{trial}"] = {
                **part,
                "ok": part["ok"] and margin > 0,
                "margin_linf": margin,
                "perturbation_linf": float(dx.abs().max()),
            }
    return _result(
        parts,
        "W and b unchanged under |dx|_inf <= margin/10 (margin to the nearest ReLU/argmax "
        "boundary from the pre-activations); W differs at random other inputs",
        note="plain and residual ReLU/max-pool nets alike",
    )


# ------------------------------------------------------------------------------------------------ E14
def layer_changes(model: nn.Module, x: torch.Tensor, x2: torch.Tensor) -> dict[str, float]:
    """Frobenius change of the local layer matrices between ``x`` and ``x2``, split: ``static`` (conv, linear, BN,
    pools' fixed matrices), ``gating`` (ReLU masks, max-pool selections: rows where the 0/1 pattern flips) and
    ``continuous`` (every other change: gates of smooth activations, LayerNorm scales, attention)."""
    a = duat.decompose_layers(model, x).layers
    b = duat.decompose_layers(model, x2).layers
    out = {"static": 0.0, "gating": 0.0, "continuous": 0.0}
    for ra, rb in zip(a, b):
        if ra.matrix is None:
            continue
        d = ref.dense(ra.matrix) - ref.dense(rb.matrix)
        sq = float((d**2).sum())
        key = (
            "static"
            if not ra.weight_dynamic
            else "gating"
            if ("mask" in ra.factors or "selection" in ra.factors)
            else "continuous"
        )
        out[key] += sq
    return {k: math.sqrt(v) for k, v in out.items()}


def e14_cnn_vs_vit(ctx: Context) -> Result:
    g = _gen(ctx, "nets")
    cnn, vit = _model(plain_net(), g), _model(duat.ViTBlock(8, 2, 2), g)
    x, x2 = _randn((3, 8, 8), g), _randn((3, 8, 8), g)
    split = layer_changes(cnn, x, x2)
    parts: dict[str, Part] = {
        "CNN: conv matrices fixed, all change is 0/1 gating": {
            **split,
            "ok": split["static"] == 0.0 and split["continuous"] == 0.0 and split["gating"] > 0,
        }
    }
    X, dX = _randn((5, 8), g), _randn((5, 8), g)
    attn = lambda Y: next(
        ref.dense(r.matrix) for r in duat.decompose_layers(vit, Y).layers if r.kind == "MultiheadAttention"
    )
    base = attn(X)
    rates = [float(np.linalg.norm(attn(X + t * dX) - base)) / t for t in (1e-3, 1e-4, 1e-5)]
    steps = [abs(rates[1] - rates[0]), abs(rates[2] - rates[1])]
    parts["ViT: attention weight changes continuously, ||dW|| proportional to t"] = {
        "ok": min(rates) > 0 and steps[1] * 5 <= steps[0] + 1e-300,
        "rate_per_t": rates,
        "successive_differences": steps,
    }
    vsplit = layer_changes(vit, X, X + 1e-3 * dX)
    parts["ViT: small change is continuous (no gating in attention/LN/GELU)"] = {
        **vsplit,
        "ok": vsplit["continuous"] > 0 and vsplit["gating"] == 0.0 and vsplit["static"] == 0.0,
    }
    return _result(
        parts,
        "conv matrices never vary; a CNN's W(x) changes only by 0/1 gating; attention weights "
        "vary continuously (||W(X + t dX) - W(X)|| / t converges, first order in t)",
        note="criterion for proportionality: the difference quotients converge at first order "
        "(successive differences shrink >= 5x per decade of t)",
        tolerance="exact",
    )


# ------------------------------------------------------------------------------------------------ E15
def rf_closed_form(layers: list[tuple[int, int]]) -> int:
    """``r_L = 1 + sum_l (k_l - 1) prod_{m<l} s_m`` per axis for ``[(k, s), ...]`` (computed here independently)."""
    r, jump = 1, 1
    for k, s in layers:
        r, jump = r + (k - 1) * jump, jump * s
    return r


def e15_receptive(ctx: Context) -> Result:
    parts: dict[str, Part] = {}
    conv = lambda: nn.Conv2d(1, 1, 3, padding=1)
    stacks: dict[str, tuple[list[nn.Module], int]] = {
        "3x3 stride-1": ([conv() for _ in range(6 if ctx.full else 4)], 32),
        "3x3, 2x2/2 pool after every second conv": (
            [m for _ in range(3 if ctx.full else 2) for m in (conv(), conv(), nn.MaxPool2d(2))],
            64,
        ),
    }
    for name, (layers, side) in stacks.items():
        counts, want = [], []
        for i, m in enumerate(layers):
            if isinstance(m, nn.Conv2d) and i + 1 < len(layers) and isinstance(layers[i + 1], nn.MaxPool2d):
                continue  # measured after the pool that follows
            rf = duat.receptive_field(nn.Sequential(*layers[: i + 1]), (1, side, side))
            ks = [(3, 1) if isinstance(l, nn.Conv2d) else (2, 2) for l in layers[: i + 1]]
            r = rf_closed_form(ks)
            counts.append(int(rf.counts[rf.central_index()]))
            want.append(r * r)
            if rf.closed_form != (r, r):
                want[-1] = -1  # the library's closed form disagrees with ours
        parts[name] = {"ok": counts == want, "central_counts": counts, "closed_form_squared": want}
    notes = [9, 36, 100, 256, 576, 1296][: len(parts["3x3, 2x2/2 pool after every second conv"]["central_counts"])]
    parts["pooled sequence equals the notes' 9, 36, 100, 256, 576, 1296"] = {
        "ok": parts["3x3, 2x2/2 pool after every second conv"]["central_counts"] == notes
    }
    return _result(
        parts,
        "central receptive field = (1 + sum_l (k_l - 1) prod_{m<l} s_m)^2 inputs (no clipping)",
        tolerance="exact",
        note="" if ctx.full else "quick profile: 4 stride-1 layers, 2 conv-conv-pool stages",
    )
