"""The DUAT residual-form claim duat.E13: what an identity skip gives the input of every later layer.

Pre-activation stacks: block ``l``'s first pre-activation is a fixed learned weight on the raw input plus an
input-dependent bias (``B_l x_0 + theta_l(x_0)``); post-activation stacks: the raw input's weight is the product of
the blocks' ReLU masks; a plain net reaches layers after the first activation only through it. Each statement is
checked against torch's own intermediate values (forward hooks), and structurally (``linear_reach``). The
``verify_*`` functions take the values under test, so tests can plant a violation. Source: Wang & Li, DUAT (arXiv
2407.17480), our reconstruction (docs/duat.md; docs/catalogue.md lists the claim).
"""

from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import nn

from numerics import duat
from numerics.duat import references as ref

from ..claims import Context, Result
from ._networks import plain_net
from ._parts import Part, _gen, _model, _randn, _result


# ------------------------------------------------------------------------------------------------ E13
def _hooked(model: nn.Module, x: torch.Tensor, modules: Mapping[str, list[nn.Module]]) -> dict[str, list]:
    """Forward ``x`` and collect ``(input, output)`` of each listed module, per name, in call order."""
    got: dict[str, list] = {k: [] for k in modules}
    handles = [
        m.register_forward_hook(lambda mod, i, o, k=k: got[k].append((i[0][0].detach(), o[0].detach())))
        for k, ms in modules.items()
        for m in ms
    ]
    try:
        with torch.no_grad():
            model(x[None])
    finally:
        for h in handles:
            h.remove()
    return got


def verify_preact_form(x0: torch.Tensor, pre: list, residuals: list, bns: list) -> Part:
    """Pre-activation identity-skip stack: block ``l``'s first pre-activation equals ``B_l x_0 + theta_l`` with
    ``B_l`` the fixed BN scale and ``theta_l = B_l sum_{k<l} r_k + t_l`` (r_k: the residual branch outputs)."""
    err, stream = 0.0, torch.zeros_like(x0)
    for z, r, bn in zip(pre, residuals, bns):
        s = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()[:, None, None]
        t = bn.bias.detach()[:, None, None] - s * bn.running_mean[:, None, None]
        got = s * x0 + (s * stream + t)
        err = max(err, ref.max_err(got.numpy(), z.numpy()))
        stream = stream + r
    return {"ok": err <= 1e-12 * (1 + max(float(z.abs().max()) for z in pre)), "max_err": err}


def preact_parts(model: nn.Sequential, x: torch.Tensor) -> tuple[list, list, list]:
    """Per block: the first pre-activation ``bn1(x_l)``, the residual ``r_l = block(x_l) - x_l``, the ``bn1``."""
    got = _hooked(model, x, {"bn1": [b.get_submodule("bn1") for b in model], "block": list(model)})
    return [o for _, o in got["bn1"]], [o - i for i, o in got["block"]], [b.bn1 for b in model]


def verify_postact_form(x0: torch.Tensor, branches: list, masks: list, xL: torch.Tensor) -> Part:
    """Post-activation identity stack: ``x_L = (prod_l D_l) x_0 + sum_k (prod_{l>=k} D_l) F_k`` (mask-gated raw input)."""
    gate, acc = torch.ones_like(x0), torch.zeros_like(x0)
    for f, d in zip(branches, masks):
        acc, gate = d * (acc + f), d * gate
    got = gate * x0 + acc
    err = ref.max_err(got.numpy(), xL.numpy())
    return {
        "ok": ref.close(got.numpy(), xL.numpy()),
        "max_err": err,
        "raw_input_weight_zeros": int((gate == 0).sum()),
        "raw_input_weight_size": gate.numel(),
    }


def postact_parts(model: nn.Sequential, x: torch.Tensor) -> tuple[list, list, torch.Tensor]:
    """Per block: the branch ``F_l = bn2(...)`` and the output mask ``D_l = 1[x_l + F_l > 0]``; and ``x_L``."""
    got = _hooked(model, x, {"bn2": [b.get_submodule("bn2") for b in model], "block": list(model)})
    branches = [o for _, o in got["bn2"]]
    masks = [((i + f) > 0).double() for (i, _), f in zip(got["block"], branches)]
    return branches, masks, got["block"][-1][1]


def sigma_free_after_first(model: nn.Module) -> list[str]:
    """Learned layers after the first activation that the raw input reaches without an activation (structural)."""
    reach, seen = ref.linear_reach(model), False
    out = []
    for path, linear in reach:
        if not linear:
            seen = True
        elif seen:
            out.append(path)
    return out


def e13_residual(ctx: Context) -> Result:
    g = _gen(ctx, "nets")
    blocks = 4 if ctx.full else 3
    x, x2 = _randn((4, 6, 6), g), _randn((4, 6, 6), g)
    pre = _model(nn.Sequential(*[duat.PreActBlock(4, 4) for _ in range(blocks)]), g)
    z, r, bns = preact_parts(pre, x)
    z2, r2, _ = preact_parts(pre, x2)
    part = verify_preact_form(x, z, r, bns)
    theta = lambda zz, xx, bn: zz - (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()[:, None, None] * xx
    change = min(
        ref.max_err(theta(a, x, bn).numpy(), theta(b, x2, bn).numpy()) for a, b, bn in list(zip(z, z2, bns))[1:]
    )
    parts = {
        "pre-activation: z_l = B_l x_0 + theta_l(x_0)": {
            **part,
            "min_theta_change_x_vs_x'": change,
            "ok": part["ok"] and change > 0,
        }
    }
    post = _model(nn.Sequential(*[duat.BasicBlock(4, 4) for _ in range(blocks)]), g)
    f, d, xl = postact_parts(post, x)
    part = verify_postact_form(x, f, d, xl)
    gate_changes = not torch.equal(math.prod(d), math.prod(postact_parts(post, x2)[1]))
    parts["post-activation: raw-input weight prod D_l(x)"] = {
        **part,
        "gate_varies_with_x": gate_changes,
        "ok": part["ok"] and gate_changes and part["raw_input_weight_zeros"] > 0,
    }
    found = {
        "plain": sigma_free_after_first(_model(plain_net(), g)),
        "post-activation": sigma_free_after_first(post),
        "pre-activation": sigma_free_after_first(pre),
    }
    parts["structure: layers after the first sigma reached without sigma"] = {
        "ok": not found["plain"] and not found["post-activation"] and len(found["pre-activation"]) == blocks - 1,
        **found,
    }
    return _result(
        parts,
        "identity skips: fixed learned weight on x_0 plus input-dependent bias; post-activation: "
        "raw-input weight mask-gated; plain net: x_0 reaches layers >= 2 only through sigma",
    )
