"""The DUAT exact claims (checks/duat/_layers.py, _networks.py, _residual.py, _adaptation.py, _definition.py):
hypothesis over shapes and seeds, and planted violations.

Each planted violation (a wrong conv index, a perturbed W, a flipped mask, a wrong rank, a wrong pruning set)
must make the corresponding ``verify_*`` function fail. Tolerance: TOLERANCES["float64_affine"] inside the checks.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import checks
from checks import Context, Result
from checks.duat._adaptation import e18_exact, merge, prune, verify_lora_rank, verify_pruning
from checks.duat._layers import (
    conv_configs,
    verify_activation,
    verify_conv,
    verify_maxpool,
    verify_mha,
    verify_toeplitz,
    verify_uat,
)
from checks.duat._networks import plain_net, residual_net, verify_constancy, verify_jacobian
from checks.duat._residual import (
    postact_parts,
    preact_parts,
    sigma_free_after_first,
    verify_postact_form,
    verify_preact_form,
)
from numerics import duat
from numerics.duat import references as ref
from tests.numerics.duat.helpers import prep as _model
from tests.numerics.duat.helpers import randn as _randn

seeds = st.integers(0, 2**31 - 1)


@settings(max_examples=10)
@given(seeds)
def test_conv_identity_and_planted_wrong_index(seed):
    cfg = conv_configs(np.random.default_rng(seed), 1)[0]
    w = _randn((cfg["cout"], cfg["cin"] // cfg["groups"], *cfg["k"]), seed)
    b, x = _randn(cfg["cout"], seed + 1), _randn((cfg["cin"], *cfg["hw"]), seed + 2)
    M = duat.conv_matrix(w, x.shape, cfg["s"], cfg["p"], cfg["d"], cfg["groups"]).coalesce()
    assert verify_conv(M, w, b, x, cfg)["ok"]
    idx = M.indices().clone()
    idx[1, 0] = (idx[1, 0] + 1) % M.shape[1]  # one entry moved to a wrong input column
    wrong = torch.sparse_coo_tensor(idx, M.values(), M.shape, check_invariants=True)
    assert not verify_conv(wrong, w, b, x, cfg)["ok"]


@settings(max_examples=8)
@given(seeds, st.integers(1, 3), st.integers(0, 2), st.integers(1, 2))
def test_toeplitz_and_planted_entry(seed, k, p, d):
    w = _randn((2, 2, k, k), seed)
    side = 7
    M = ref.dense(duat.conv_matrix(w, (2, side, side), 1, p, d))
    o = side + 2 * p - d * (k - 1)
    assert verify_toeplitz(M, 2, 2, (o, o), (side, side))["ok"]
    M[0, 0] += 1.0
    assert not verify_toeplitz(M, 2, 2, (o, o), (side, side))["ok"]


@settings(max_examples=8)
@given(seeds)
def test_maxpool_selection_and_planted_wrong_row(seed):
    x = _randn((2, 6, 6), seed)
    S = ref.dense(duat.decompose(nn.MaxPool2d(2), x)[0])
    assert verify_maxpool(S, x, 2)["ok"]
    S[0] = np.roll(S[0], 1)
    assert not verify_maxpool(S, x, 2)["ok"]


@pytest.mark.parametrize("act", [nn.ReLU(), nn.LeakyReLU(0.2), nn.SiLU(), nn.GELU(), nn.Sigmoid(), nn.Tanh()])
def test_activation_forms_and_planted_flipped_mask(act):
    z = _randn(20, 3)
    z[::5] = 0.0
    W, b = duat.decompose(act, z)
    assert verify_activation(act, z, W, b)["ok"]
    Wd = ref.dense(W)
    Wd[1, 1] = 1.0 - Wd[1, 1] if Wd[1, 1] in (0.0, 1.0) else 2 * Wd[1, 1]  # flipped mask / wrong gate
    assert not verify_activation(act, z, torch.from_numpy(Wd), b)["ok"]


@settings(max_examples=5)
@given(seeds, st.sampled_from([(8, 2), (6, 3), (4, 1)]))
def test_mha_form_and_planted_perturbed_weight(seed, dims):
    d, h = dims
    mha = _model(nn.MultiheadAttention(d, h, batch_first=True), seed)
    X = _randn((4, d), seed + 1)
    W, b = duat.decompose(mha, X)
    assert verify_mha(W, b, mha, X)["ok"]
    assert not verify_mha(ref.dense(W) + 1e-6, b, mha, X)["ok"]
    assert not verify_mha(W, ref.dense(b) + 1e-6, mha, X)["ok"]


def test_vit_reference_matches_decompose():
    block = _model(duat.ViTBlock(8, 2, 2), 5)
    X = _randn((4, 8), 6)
    W, b = duat.decompose(block, X)
    W_ref, b_ref = ref.vit_block_reference(block, X)
    assert ref.close(W, W_ref) and ref.close(b, b_ref)
    assert not ref.close(W, W_ref + 1e-9 * np.eye(len(W_ref)))


@settings(max_examples=4)
@given(seeds)
def test_resnet_jacobian_and_planted_perturbed_W(seed):
    model = _model(nn.Sequential(duat.BasicBlock(2, 3), duat.PreActBlock(3, 3)), seed)
    x = _randn((2, 5, 5), seed + 1)
    W, b = duat.decompose(model, x)
    assert verify_jacobian(W, b, model, x)["ok"]
    Wd = ref.dense(W)
    Wd[3, 7] += 1e-8
    assert not verify_jacobian(Wd, b, model, x)["ok"]


@settings(max_examples=4)
@given(seeds, st.sampled_from([plain_net, residual_net]))
def test_piecewise_constancy_margin_is_sound(seed, build):
    model = _model(build(), seed)
    x = _randn((3, 8, 8), seed + 1)
    margin = ref.boundary_margin(duat.decompose_layers(model, x, cumulative=True).layers, x)
    assert 0 < margin < np.inf
    dx = 0.5 * margin * torch.sign(_randn((3, 8, 8), seed + 2))
    assert verify_constancy(model, x, dx, [_randn((3, 8, 8), seed + 3)])["ok"]


def test_piecewise_constancy_fails_across_a_boundary():
    model = _model(plain_net(), 1)
    x = _randn((3, 8, 8), 2)
    assert not verify_constancy(model, x, _randn((3, 8, 8), 3), [_randn((3, 8, 8), 4)])["ok"]
    assert not verify_constancy(model, x, 0 * x, [x])["ok"]  # "W differs across regions" must be shown


@settings(max_examples=4)
@given(seeds, st.integers(2, 4))
def test_residual_forms_and_planted_flipped_mask(seed, blocks):
    x = _randn((3, 5, 5), seed)
    pre = _model(nn.Sequential(*[duat.PreActBlock(3, 3) for _ in range(blocks)]), seed + 1)
    z, r, bns = preact_parts(pre, x)
    assert verify_preact_form(x, z, r, bns)["ok"]
    r[0] = r[0] + 1e-6
    assert not verify_preact_form(x, z, r, bns)["ok"]
    post = _model(nn.Sequential(*[duat.BasicBlock(3, 3) for _ in range(blocks)]), seed + 2)
    f, d, xl = postact_parts(post, x)
    assert verify_postact_form(x, f, d, xl)["ok"]
    flip = (d[-1] * (xl != 0)).nonzero()[0]  # an active output unit: flipping it matters
    d[-1][tuple(flip)] = 0.0
    assert not verify_postact_form(x, f, d, xl)["ok"]


def test_sigma_free_paths_distinguish_plain_pre_and_post_activation():
    pre = nn.Sequential(*[duat.PreActBlock(3, 3) for _ in range(3)])
    assert sigma_free_after_first(plain_net()) == []
    assert sigma_free_after_first(nn.Sequential(*[duat.BasicBlock(3, 3) for _ in range(3)])) == []
    assert sigma_free_after_first(pre) == ["1.bn1", "2.bn1"]


@settings(max_examples=6)
@given(seeds, st.integers(1, 2))  # (r + 1) Ho Wo = 48 at most: still below min dims (48, 80)
def test_lora_rank_bound_and_planted_wrong_rank(seed, r):
    w = (_randn((5, r), seed) @ _randn((r, 3 * 9), seed + 1)).reshape(5, 3, 3, 3)
    M = duat.conv_matrix(w, (3, 4, 4), padding=1)
    assert verify_lora_rank(M, r, 16, tuple(M.shape))["ok"]
    w_more = w + (_randn((5, 1), seed + 2) @ _randn((1, 27), seed + 3)).reshape(5, 3, 3, 3)
    assert not verify_lora_rank(duat.conv_matrix(w_more, (3, 4, 4), padding=1), r, 16, tuple(M.shape))["ok"]


@settings(max_examples=6)
@given(seeds, st.sampled_from([nn.ReLU(), nn.Tanh(), nn.Sigmoid()]))
def test_uat_and_pruning_identities_with_planted_violations(seed, act):
    model = _model(nn.Sequential(nn.Linear(3, 10), act, nn.Linear(10, 2)), seed)
    x = _randn((16, 3), seed + 1)
    assert verify_uat(model, x)["ok"]
    removed = np.array([1, 4, 7])
    pruned = prune(model, np.setdiff1d(np.arange(10), removed))
    assert verify_pruning(model, pruned, removed, x)["ok"]
    assert not verify_pruning(model, pruned, np.array([1, 4]), x)["ok"]  # wrong set P
    model[2].register_forward_hook(lambda m, i, o: o + 1e-9)  # forward off the UAT sum
    assert not verify_uat(model, x)["ok"]


def test_merge_of_exact_and_empirical_parts():
    ok, bad_, unk = Result("pass", observed=1), Result("fail", observed=2), Result("unknown")
    assert merge(ok, ok, "n").status == "pass"
    assert merge(ok, bad_, "n").status == "fail" and merge(bad_, unk, "n").status == "fail"
    assert merge(ok, unk, "n").status == "unknown"
    assert merge(ok, bad_, "n").observed == {"exact": 1, "empirical": 2}


def test_duat_claims_table_order_and_exact_claims_pass(tmp_path):
    claims = checks.duat.CLAIMS
    ids = [c.id for c in claims]
    assert ids[:22] == [f"duat.E{i}" for i in range(1, 23)]
    assert len(set(ids)) == len(ids) and "duat.E17.causal" in ids
    ctx = Context(profile="quick", out_dir=tmp_path, seed=3)
    for c in claims:
        if c.kind in ("exact", "formal"):
            r = c.run(ctx)
            assert r.status == "pass", (c.id, r.evidence, r.observed)


def test_e18_exact_part_fails_for_a_wrong_bound(monkeypatch):
    import checks.duat._adaptation as mod

    monkeypatch.setattr(mod, "verify_lora_rank", lambda M, r, hw, dims: verify_lora_rank(M, r - 1 or 0, hw, dims))
    assert e18_exact(Context(profile="quick")).status == "fail"
