"""The DUAT definition claims duat.E20 and duat.E21: which functions are DUAT functions, and the UAT inside it.

E20: residual CV models are DUAT functions under the operational definition (the forms of E10, E11, E13 pass),
with the caveat that unrestricted parameter maps admit every function (a vacuity witness, computed). E21: a DUAT
sum with constant parameter maps is exactly the UAT sum (a sympy identity). Source: Wang & Li, DUAT (arXiv
2407.17480), our reconstruction (docs/duat.md; docs/catalogue.md lists the claims).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import sympy

from numerics.duat import references as ref

from ..claims import Context, Result
from ._networks import e10_resnet, e11_vit
from ._parts import Part, _result
from ._residual import e13_residual


# ------------------------------------------------------------------------------------------------ E20, E21
def vacuity_witness(f: Callable[[np.ndarray], np.ndarray], xs: np.ndarray, theta: Callable) -> Part:
    """With ``N = 1``, ``W = 0`` and ``alpha(x) = f(x) / sigmoid(theta(x))``, ``G(x) = alpha(x) sigmoid(theta(x))``
    reproduces any ``f``: the unrestricted DUAT definition admits every function."""
    sig = lambda t: 1.0 / (1.0 + np.exp(-t))
    alpha = f(xs) / sig(theta(xs))
    G = alpha * sig(0.0 * xs.sum(axis=1) + theta(xs))
    return {"ok": ref.close(G, f(xs)), "max_err": ref.max_err(G, f(xs))}


def e20_duat_functions(ctx: Context) -> Result:
    parts = {
        name: {"ok": r.status == "pass", "status": r.status}
        for name, r in (
            ("E10 ResNet blocks", e10_resnet(ctx)),
            ("E11 ViT block", e11_vit(ctx)),
            ("E13 residual form", e13_residual(ctx)),
        )
    }
    rng = ctx.np_rng("f")
    a, B, w = rng.normal(size=3), rng.normal(size=(3, 3)), rng.normal(size=3)
    f = lambda x: np.sin(x @ a) + np.einsum("ni,ij,nj->n", x, B, x)
    parts["vacuity witness (random smooth f)"] = vacuity_witness(f, rng.normal(size=(200, 3)), lambda x: np.cos(x @ w))
    return _result(
        parts,
        "residual CV models are DUAT functions under the operational definition (E10, E11, E13)",
        note="caveat: with unrestricted parameter maps every f is a DUAT function (N = 1, alpha = "
        "f / sigma(theta)), so the claim has content only for the forward-pass maps",
    )


def duat_reduces_to_uat(n: int = 2, hidden: int = 2) -> bool:
    """sympy: a DUAT sum with constant parameter maps equals the UAT sum (symbolic identity)."""
    xs = sympy.symbols(f"x0:{n}")
    sigma = sympy.Function("sigma")
    alpha, theta = (
        [sympy.Function(f"alpha{j}") for j in range(hidden)],
        [sympy.Function(f"theta{j}") for j in range(hidden)],
    )
    W = [[sympy.Function(f"W{j}_{i}") for i in range(n)] for j in range(hidden)]
    a, t = sympy.symbols(f"a0:{hidden}"), sympy.symbols(f"t0:{hidden}")
    w = [[sympy.Symbol(f"w{j}_{i}") for i in range(n)] for j in range(hidden)]
    duat_form = sum(
        alpha[j](*xs) * sigma(sum(W[j][i](*xs) * xs[i] for i in range(n)) + theta[j](*xs)) for j in range(hidden)
    )
    subs = {alpha[j]: sympy.Lambda(xs, a[j]) for j in range(hidden)}
    subs.update({theta[j]: sympy.Lambda(xs, t[j]) for j in range(hidden)})
    subs.update({W[j][i]: sympy.Lambda(xs, w[j][i]) for j in range(hidden) for i in range(n)})
    const = duat_form.subs(subs).doit()
    uat = sum(a[j] * sigma(sum(w[j][i] * xs[i] for i in range(n)) + t[j]) for j in range(hidden))
    return sympy.simplify(const - uat) == 0


def e21_universal(ctx: Context) -> Result:
    ok = duat_reduces_to_uat()
    return Result(
        "pass" if ok else "fail",
        observed={"constant_maps_give_uat_form": ok},
        expected="DUAT with constant alpha_j, W_j, theta_j is exactly the UAT sum",
        tolerance="exact",
        note="a logical corollary of the UAT (constant maps are DUAT maps); nothing numerical to test",
    )
