"""DUAT exact claims about single layers, duat.E1-E9: each matrix-vector form against an independent computation.

Source: Wang & Li, DUAT (arXiv 2407.17480); forms M1-M9 of docs/duat.md (our reconstruction). The ``verify_*`` functions
take the object under test as an argument, so tests can plant a violation and require that it be caught.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import sympy
import torch
import torch.nn.functional as F
from torch import nn

from numerics import duat
from numerics.duat import references as ref

from ..claims import Context, Result
from ._parts import TOL, Part, _flat, _gen, _model, _out, _randn, _result, _uat_layers, affine_part, matrix_part


# ------------------------------------------------------------------------------------------------ E1
def verify_uat(model: nn.Sequential, x: torch.Tensor) -> Part:
    """A two-layer net ``W2 s(W1 x + b1) + b2`` equals the explicit UAT sum ``sum_j W2[:, j] s(w_j.x + b_j) + b2``."""
    l1, act, l2 = _uat_layers(model)
    w1, b1, w2, b2 = [t.detach().double().numpy() for t in (l1.weight, l1.bias, l2.weight, l2.bias)]
    sig = lambda z: act(torch.from_numpy(np.atleast_1d(z))).numpy()
    want = np.stack([ref.uat_sum(w1, b1, w2, b2, sig, _flat(xi)) for xi in x])
    with torch.no_grad():
        got = model(x).numpy()
    return {"ok": ref.close(got, want), "max_err": ref.max_err(got, want)}


def uat_symbolic(n: int = 2, hidden: int = 2) -> bool:
    """sympy: ``w2^T sigma(W1 x + b1) + b2 - sum_j w2_j sigma(w_j^T x + b1_j)`` expands to 0 (sigma undefined)."""
    sigma = sympy.Function("sigma")
    x = sympy.Matrix(sympy.symbols(f"x0:{n}"))
    w1, b1 = sympy.Matrix(hidden, n, sympy.symbols(f"w0:{hidden * n}")), sympy.Matrix(sympy.symbols(f"b0:{hidden}"))
    w2, b2 = sympy.Matrix(1, hidden, sympy.symbols(f"a0:{hidden}")), sympy.Symbol("c")
    matrix_form = (w2 * (w1 * x + b1).applyfunc(sigma))[0] + b2
    uat = sum(w2[j] * sigma((w1[j, :] * x)[0] + b1[j]) for j in range(hidden)) + b2
    return sympy.expand(matrix_form - uat) == 0


def e1_uat(ctx: Context) -> Result:
    g = _gen(ctx, "nets")
    parts = {}
    for act in (nn.ReLU(), nn.Tanh(), nn.Sigmoid()):
        n, hidden = (5, 40) if ctx.full else (3, 8)
        model = _model(nn.Sequential(nn.Linear(n, hidden), act, nn.Linear(hidden, 2)), g)
        parts[type(act).__name__] = verify_uat(model, _randn((32, n), g))
    parts["sympy n=2 N=2"] = {"ok": uat_symbolic(), "symbolic": "difference expands to 0"}
    return _result(parts, "torch forward == explicit sum over hidden units (float64_affine); symbolic identity")


# ------------------------------------------------------------------------------------------------ E2, E3
def conv_configs(rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
    """Random Conv2d settings (groups, kernel, stride, padding, dilation, input size) whose output is non-empty."""
    out: list[dict[str, Any]] = []
    while len(out) < count:
        groups = int(rng.integers(1, 4))
        cfg: dict[str, Any] = dict(
            cin=groups * int(rng.integers(1, 3)),
            cout=groups * int(rng.integers(1, 3)),
            groups=groups,
            k=(int(rng.integers(1, 5)), int(rng.integers(1, 5))),
            s=(int(rng.integers(1, 4)),) * 2,
            p=(int(rng.integers(0, 3)), int(rng.integers(0, 3))),
            d=(int(rng.integers(1, 3)),) * 2,
            hw=(int(rng.integers(4, 11)), int(rng.integers(4, 11))),
        )
        if all(n + 2 * p - d * (k - 1) - 1 >= 0 for n, p, d, k in zip(cfg["hw"], cfg["p"], cfg["d"], cfg["k"])):
            out.append(cfg)
    return out


def verify_conv(M, weight: torch.Tensor, bias: torch.Tensor, x: torch.Tensor, cfg: Mapping[str, Any]) -> Part:
    """``M x + b (x) 1 == F.conv2d(x)`` (M1) within float64_affine."""
    y = F.conv2d(x[None], weight, bias, cfg["s"], cfg["p"], cfg["d"], cfg["groups"])[0]
    return affine_part(M, np.repeat(bias.numpy(), y[0].numel()), x, _flat(y))


def e2_conv(ctx: Context) -> Result:
    g = _gen(ctx, "conv")
    errs, bad_cfgs = [], []
    for cfg in conv_configs(ctx.np_rng("configs"), 30 if ctx.full else 6):
        w = _randn((cfg["cout"], cfg["cin"] // cfg["groups"], *cfg["k"]), g)
        b, x = _randn(cfg["cout"], g), _randn((cfg["cin"], *cfg["hw"]), g)
        part = verify_conv(duat.conv_matrix(w, x.shape, cfg["s"], cfg["p"], cfg["d"], cfg["groups"]), w, b, x, cfg)
        errs.append(part["max_err"])
        if not part["ok"]:
            bad_cfgs.append(cfg)
    return Result(
        "fail" if bad_cfgs else "pass",
        observed={"configs": len(errs), "max_err": max(errs)},
        expected="conv_matrix(K) x + b == F.conv2d for every config (float64_affine)",
        tolerance=TOL,
        evidence={"failing_configs": bad_cfgs[:5]},
        note="random k, stride, padding, dilation, groups",
    )


def verify_toeplitz(M: np.ndarray, cout: int, cin: int, out_hw, in_hw) -> Part:
    """Each (o, c) block of a stride-1 conv matrix is doubly-block-Toeplitz: block (i, u) depends on ``u - i`` only,
    and each block is Toeplitz (entry (j, v) depends on ``v - j`` only). Exact equality."""
    (ho, wo), (h, w) = out_hw, in_hw
    t = M.reshape(cout, ho, wo, cin, h, w)
    outer = bool(np.array_equal(t[:, 1:, :, :, 1:, :], t[:, :-1, :, :, :-1, :]))
    inner = bool(np.array_equal(t[:, :, 1:, :, :, 1:], t[:, :, :-1, :, :, :-1]))
    return {"ok": outer and inner, "block_toeplitz": outer, "inner_toeplitz": inner}


def stride_rows(out1_hw, stride: int, cout: int, out_s_hw) -> np.ndarray:
    """Row indices ``R_s`` picking stride-1 outputs ``(o, i s, j s)``."""
    o, i, j = np.meshgrid(
        np.arange(cout), np.arange(out_s_hw[0]) * stride, np.arange(out_s_hw[1]) * stride, indexing="ij"
    )
    return ((o * out1_hw[0] + i) * out1_hw[1] + j).reshape(-1)


def pad_embedding(c: int, h: int, w: int, p: int) -> np.ndarray:
    """The 0/1 embedding ``E_p``: an image ``(c, h, w)`` into the zero-padded ``(c, h + 2p, w + 2p)``."""
    cc, u, v = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    e = np.zeros((c * (h + 2 * p) * (w + 2 * p), c * h * w))
    e[((cc * (h + 2 * p) + u + p) * (w + 2 * p) + v + p).reshape(-1), np.arange(c * h * w)] = 1.0
    return e


def e3_structure(ctx: Context) -> Result:
    g = _gen(ctx, "kernels")
    parts = {}
    for n, (cout, cin, k, hw, d, s, p) in enumerate([(2, 3, 3, 7, 1, 2, 1), (3, 2, 2, 8, 2, 3, 2)]):
        w = _randn((cout, cin, k, k), g)
        m1 = ref.dense(duat.conv_matrix(w, (cin, hw, hw), 1, p, d))
        o1 = (hw + 2 * p - d * (k - 1) - 1) + 1
        parts[f"toeplitz #{n}"] = verify_toeplitz(m1, cout, cin, (o1, o1), (hw, hw))
        ms = ref.dense(duat.conv_matrix(w, (cin, hw, hw), s, p, d))
        os_ = (o1 - 1) // s + 1
        parts[f"stride M_s == R_s M_1 #{n}"] = {
            "ok": bool(np.array_equal(ms, m1[stride_rows((o1, o1), s, cout, (os_, os_))]))
        }
        valid = ref.dense(duat.conv_matrix(w, (cin, hw + 2 * p, hw + 2 * p), 1, 0, d))
        parts[f"padding M_pad == M_valid E_p #{n}"] = {
            "ok": bool(np.array_equal(m1, valid @ pad_embedding(cin, hw, hw, p)))
        }
    return _result(
        parts, "block Toeplitz for s = 1; M_s = R_s M_1; M_pad = M_valid E_p (exact equality)", tolerance="exact"
    )


# ------------------------------------------------------------------------------------------------ E4-E9
def verify_maxpool(S, x: torch.Tensor, k: int) -> Part:
    """``S`` has one 1 per row at torch's ``return_indices`` position and ``S x == F.max_pool2d(x)`` exactly."""
    y, idx = F.max_pool2d(x[None], k, return_indices=True)
    c, h, w = x.shape
    s = ref.dense(S)
    cols = (idx[0] + torch.arange(c)[:, None, None] * h * w).reshape(-1).numpy()
    one_hot = bool(np.array_equal(s, np.eye(s.shape[1])[cols]))
    exact = bool(np.array_equal(s @ _flat(x), _flat(y)))
    return {"ok": one_hot and exact, "one_hot_at_torch_indices": one_hot, "S_x_equals_maxpool": exact}


def e4_pooling(ctx: Context) -> Result:
    g = _gen(ctx, "x")
    x, x2 = _randn((3, 8, 8), g), _randn((3, 8, 8), g)
    avg = nn.AvgPool2d(3, 2, 1)
    wa, ba = duat.decompose(avg, x)
    depthwise = duat.conv_matrix(torch.full((3, 1, 3, 3), 1 / 9, dtype=torch.float64), (3, 8, 8), 2, 1, groups=3)
    parts = {
        "avg: W x + b == F.avg_pool2d": affine_part(wa, ba, x, _out(avg, x)),
        "avg: W == depthwise conv with 1/k^2": matrix_part(wa, depthwise),
        "avg: W(x) == W(x')": {"ok": bool(np.array_equal(ref.dense(wa), ref.dense(duat.decompose(avg, x2)[0])))},
    }
    mp = nn.MaxPool2d(2)
    ws, bs = duat.decompose(mp, x)
    parts["max: S(x) one-hot, S x exact"] = {**verify_maxpool(ws, x, 2), "bias_zero": bool(torch.all(bs == 0))}
    parts["max: S(x) one-hot, S x exact"]["ok"] &= parts["max: S(x) one-hot, S x exact"]["bias_zero"]
    zw = x.reshape(3, 4, 2, 4, 2).permute(0, 1, 3, 2, 4).reshape(-1, 4).sort(dim=1).values
    gap = float((zw[:, -1] - zw[:, -2]).min())  # every window's top-2 gap: |dx| < gap/2 keeps S
    delta = 0.1 * gap * (2 * torch.rand(x.shape, generator=g, dtype=torch.float64) - 1)
    same = bool(np.array_equal(ref.dense(ws), ref.dense(duat.decompose(mp, x + delta)[0])))
    moved = not np.array_equal(ref.dense(ws), ref.dense(duat.decompose(mp, x2)[0]))
    parts["max: S constant for |dx| <= gap/10, differs at x'"] = {"ok": same and moved, "min_top2_gap": gap}
    return _result(parts, "AvgPool: fixed matrix; MaxPool: y = S(x) x, one-hot rows, S piecewise constant")


def verify_activation(module: nn.Module, z: torch.Tensor, W, b) -> Part:
    """``W`` is ``D(g(z))`` with ``g`` from :func:`ref.gate_reference`, ``b = c 1``, and ``W z + b == module(z)``."""
    gate, c = ref.gate_reference(module, z)
    diag = matrix_part(W, np.diag(_flat(gate)))
    out = affine_part(W, b, z, _flat(module(z)))
    return {
        "ok": diag["ok"] and out["ok"] and ref.close(b, np.full(z.numel(), c)),
        "gate_max_err": diag["max_err"],
        "output_max_err": out["max_err"],
    }


def e5_activations(ctx: Context) -> Result:
    g = _gen(ctx, "z")
    z = _randn(40, g)
    z[::7] = 0.0  # the removable singularity z = 0 included
    z2 = z + 0.5 + _randn(40, g)
    parts = {}
    for act in (nn.ReLU(), nn.LeakyReLU(0.1), nn.SiLU(), nn.GELU(), nn.Sigmoid(), nn.Tanh()):
        w, b = duat.decompose(act, z)
        part = verify_activation(act, z, w, b)
        part["input_dependent"] = not np.array_equal(ref.dense(w), ref.dense(duat.decompose(act, z2)[0]))
        part["ok"] &= part["input_dependent"]
        parts[type(act).__name__] = part
    return _result(
        parts,
        "sigma(z) = D(g(z)) z + sigma(0) with g from the textbook formulas (limit at z = 0); D varies with z",
        note="z contains exact zeros",
    )


def e6_norms(ctx: Context) -> Result:
    g = _gen(ctx, "norm")
    bn = _model(nn.BatchNorm2d(3), g)
    assert bn.running_var is not None and bn.running_mean is not None  # BatchNorm2d tracks running stats by default
    x, x2 = _randn((3, 5, 5), g), _randn((3, 5, 5), g)
    s = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
    t = (bn.bias - s * bn.running_mean).detach()
    w, b = duat.decompose(bn, x)
    parts = {
        "BN: W == D(s (x) 1)": matrix_part(w, np.diag(np.repeat(s.numpy(), 25))),
        "BN: b == t (x) 1": matrix_part(b, np.repeat(t.numpy(), 25)),
        "BN: W x + b == forward": affine_part(w, b, x, _out(bn, x)),
        "BN: W(x) == W(x')": {"ok": bool(np.array_equal(ref.dense(w), ref.dense(duat.decompose(bn, x2)[0])))},
    }
    ln = _model(nn.LayerNorm(6), g)
    X = _randn((4, 6), g)
    wl, bl = duat.decompose(ln, X)
    L, c = ref.layer_norm_reference(ln, X)
    inv = 1.0 / np.sqrt(X.numpy().var(axis=1) + ln.eps)
    parts["LN: W == D(gamma) sigma_t^-1 (I - 11^T/n) per token"] = matrix_part(wl, L)
    parts["LN: W x + b == forward"] = affine_part(wl, bl, X, _out(ln, X))
    parts["LN: scalars 1/sigma_t differ across tokens"] = {"ok": bool(np.ptp(inv) > 0), "inv_sigma": inv}
    return _result(
        parts, "BatchNorm (eval): fixed D(s) x + t; LayerNorm: one scalar per token times a fixed centering matrix"
    )


def e7_linear(ctx: Context) -> Result:
    g = _gen(ctx, "lin")
    lin = _model(nn.Linear(5, 3), g)
    X = _randn((4, 5), g)
    w, b = duat.decompose(lin, X)
    K, c = ref.linear_reference(lin, 4)
    W = lin.weight.detach().numpy()
    y = _out(lin, X) - c
    col = np.kron(W, np.eye(4)) @ X.numpy().reshape(-1, order="F")
    wrong = np.kron(np.eye(4), W) @ X.numpy().T.reshape(-1)  # row-major factors on a column-major vec
    parts = {
        "W == I_N (x) W_lin": matrix_part(w, K),
        "b == 1_N (x) b_lin": matrix_part(b, c),
        "row-major: (I (x) W) vec_r X == vec_r(X W^T)": affine_part(K, np.zeros(12), X, y),
        "column-major: (W (x) I) vec_c X == vec_c(X W^T)": {
            "ok": ref.close(col, y.reshape(4, 3).reshape(-1, order="F")),
            "max_err": ref.max_err(col, y.reshape(4, 3).reshape(-1, order="F")),
        },
        "column-major with row-major factors differs": {
            "ok": ref.max_err(wrong, y.reshape(4, 3).reshape(-1, order="F")) > 1e-3
        },
    }
    return _result(parts, "vec_r(X W^T + 1 b^T) = (I_N (x) W) vec_r X + 1_N (x) b; column-major swaps the factors")


def e8_patch(ctx: Context) -> Result:
    g = _gen(ctx, "patch")
    pe = _model(duat.PatchEmbed(2, 5, 4), g)
    x = _randn((2, 8, 8), g)
    w, b = duat.decompose(pe, x)
    perm = ref.patch_permutation(2, 8, 8, 4)
    block = pe.proj.weight.detach().reshape(5, -1).numpy()
    assert pe.proj.bias is not None  # PatchEmbed's projection is an nn.Conv2d with the default bias=True
    want = np.kron(np.eye(4), block) @ perm
    parts = {
        "Pi is a permutation": {"ok": bool(np.array_equal(perm @ perm.T, np.eye(128)))},
        "W == (I_N (x) W_pe) Pi": matrix_part(w, want),
        "W x + b == forward": affine_part(w, b, x, _out(pe, x)),
        "b == 1_N (x) b_pe": matrix_part(b, np.tile(pe.proj.bias.detach().numpy(), 4)),
    }
    return _result(parts, "patch embedding = im2col permutation Pi, then block-diagonal I_N (x) reshape(K)")


def verify_mha(W, b, mha: nn.MultiheadAttention, X: torch.Tensor) -> Part:
    """``W == sum_h A_h (x) (W_V^h W_O^h)^T`` and ``b == 1 (x) (b_V W_O^T + b_O)`` (reference form) and
    ``W x + b == nn.MultiheadAttention(X, X, X)``."""
    M, c, _ = ref.mha_reference(mha, X)
    with torch.no_grad():
        y = mha(X[None], X[None], X[None], need_weights=False)[0][0]
    w_part, b_part, out = matrix_part(W, M), matrix_part(b, c), affine_part(W, b, X, _flat(y))
    return {
        "ok": w_part["ok"] and b_part["ok"] and out["ok"],
        "W_max_err": w_part["max_err"],
        "b_max_err": b_part["max_err"],
        "output_max_err": out["max_err"],
    }


def e9_mha(ctx: Context) -> Result:
    g = _gen(ctx, "mha")
    mha = _model(nn.MultiheadAttention(8, 2, batch_first=True), g)
    X, X2 = _randn((5, 8), g), _randn((5, 8), g)
    w, b = duat.decompose(mha, X)
    w2, b2 = duat.decompose(mha, X2)
    parts = {
        "form at X": verify_mha(w, b, mha, X),
        "form at X'": verify_mha(w2, b2, mha, X2),
        "bias independent of X": {"ok": bool(torch.equal(b, b2))},
        "weight depends on X": {"ok": ref.max_err(w, w2) > 0, "max_abs_change": ref.max_err(w, w2)},
    }
    return _result(parts, "MHA(X) = [sum_h A_h(X) (x) (W_V^h W_O^h)^T] vec X + constant bias")
