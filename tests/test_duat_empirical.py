"""Tests of the DUAT empirical experiments and claims: the task, the seed-stacked models, the criteria (planted
failures), the not-testable claims. Every training run here is tiny (12 x 12 images, 2 seeds, tens of steps)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import numerics
from checks.duat import _empirical as emp
from checks import Context
from checks.duat import CLAIMS as DUAT_CLAIMS
from numerics.duat.experiments._adaptation import lora_experiment, magnitude_masks, pruning_experiment
from numerics.duat.experiments._trends import depth_experiment, residual_arch, residual_experiment
from numerics.duat.experiments._models import ConvArch, add_lora, forward, init_params, kernel, matched_arch
from numerics.duat.experiments._task import BAR, GAP, MARGIN, bars_task
from numerics.duat.experiments._train import TrainSpec, make_data, train
from numerics import torch_threads

TINY = {"side": 12, "n_train": 200, "n_test": 300, "seeds": (0, 1)}
TINY_ARCH = ConvArch((4, 4, 4), pools=(0, 1))


# ----------------------------------------------------------------------------------------------- the task
@settings(max_examples=8)
@given(side=st.sampled_from([12, 14, 16, 20]), n=st.integers(2, 40), seed=st.integers(0, 2**31 - 1))
def test_task_is_deterministic_balanced_and_has_one_bar_of_each_kind_per_part(side, n, seed):
    x, y = bars_task(n, side=side, noise=0.0, seed=seed)
    x2, y2 = bars_task(n, side=side, noise=0.0, seed=seed)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert x.shape == (n, 1, side, side) and y.shape == (n,) and x.dtype == torch.float32
    assert int(y.sum()) == n // 2
    half = side // 2
    for img, label in zip(x[:, 0], y):
        rows, cols = torch.nonzero(img, as_tuple=True)
        assert torch.all(img[rows, cols] == 1.0) and rows.numel() == 2 * BAR  # two disjoint bars of value 1
        assert min(rows.min(), cols.min()) >= MARGIN and max(rows.max(), cols.max()) < side - MARGIN
        left, right = cols < half, cols >= half
        assert int(left.sum()) == BAR and int(right.sum()) == BAR
        assert int(cols[left].max()) + GAP < int(cols[right].min())  # no 3x3 window meets both bars
        left_horizontal = int(rows[left].unique().numel()) == 1
        assert left_horizontal == bool(label)
        assert int(rows[right].unique().numel()) == (BAR if left_horizontal else 1)


def test_task_seeds_differ_and_noise_is_added():
    a, _ = bars_task(64, seed=1)
    b, _ = bars_task(64, seed=2)
    assert not torch.equal(a, b)
    assert float(a.std()) > 0.4  # noise sd 0.5 by default


@pytest.mark.parametrize("kwargs, arg", [
    ({"n": 1}, "n"), ({"n": 2.0}, "n"), ({"side": 10}, "side"), ({"side": 13}, "side"), ({"noise": -1.0}, "noise"),
    ({"noise": math.nan}, "noise"), ({"noise": math.inf}, "noise"), ({"seed": -1}, "seed"), ({"seed": True}, "seed"),
    ({"dtype": torch.int64}, "dtype"),
])
def test_task_rejects_bad_input(kwargs, arg):
    args = {"n": 8, "seed": 0, **kwargs}
    with pytest.raises(numerics.NumericsError, match=repr(arg)):
        bars_task(args.pop("n"), **args)


def test_a_depth_1_cnn_cannot_see_the_relation():
    """Without noise, every image holds one horizontal and one vertical bar that no 3x3 window sees together or
    with the border, so a depth-1 CNN with global average pooling gives every image the same output (exactly,
    up to float64 summation order); a depth-3 CNN (receptive field 18 > 12) does not."""
    x, y = bars_task(40, side=12, noise=0.0, seed=3, dtype=torch.float64)
    assert 0 < int(y.sum()) < 40
    shallow = ConvArch((16,))
    deep = ConvArch((8, 8, 8), pools=(0, 1))
    out = {a: forward(a, init_params(a, (5,), dtype=torch.float64), x)[:, 0] for a in (shallow, deep)}
    tol = numerics.TOLERANCES["float64_affine"]  # the same sums in a different order
    assert tol.ok(out[shallow], out[shallow][:1].expand_as(out[shallow]))
    assert float((out[deep] - out[deep][:1]).abs().max()) > 1e-3


# ----------------------------------------------------------------------------------------------- models
@pytest.mark.parametrize("kwargs", [
    {"widths": ()}, {"widths": (0,)}, {"widths": (4, 4), "pools": (2,)}, {"widths": (4, 4), "skips": (0,)},
    {"widths": (4, 4, 4), "pools": (0,), "skips": (1,)}, {"widths": (4, 4, 5), "skips": (2,)},
    {"widths": (4,), "classes": 0},
])
def test_conv_arch_rejects_bad_shapes(kwargs):
    with pytest.raises(numerics.NumericsError):
        ConvArch(**kwargs)


@pytest.mark.parametrize("depth, target", [(1, 500), (2, 500), (3, 500), (4, 500), (4, 800), (3, 2000), (6, 2000)])
def test_matched_arch_is_within_ten_percent(depth, target):
    arch = matched_arch(depth, target, pools=())
    assert arch.depth == depth
    n_params = sum(p[0].numel() for p in init_params(arch, (0,)).values())  # independent count
    assert n_params == arch.param_count()
    assert abs(n_params - target) <= 0.1 * target


@pytest.fixture(autouse=True)
def one_thread():
    """Train with one torch thread, as the experiments do (threads spin-waiting on tiny kernels are slow)."""
    with torch_threads(1):
        yield


def test_stacked_training_equals_training_each_model_alone():
    """The ensemble trick: model m trained in a stack of 2 is model m trained alone (float64, same batches)."""
    seeds = (11, 12)
    arch = ConvArch((3, 4), pools=(0,), skips=())
    data = make_data(seeds, "train", 64, side=12, noise=0.5, dtype=torch.float64, device="cpu")
    spec = TrainSpec(5, batch=16, lr=1e-2)
    stacked, _ = train(arch, init_params(arch, seeds, dtype=torch.float64), ["w0", "w1", "b1", "head_w"], data, spec,
                       seed=4)
    for m, s in enumerate(seeds):
        alone_data = type(data)(data.x[:, m:m + 1], data.y[:, m:m + 1])
        alone, _ = train(arch, init_params(arch, (s,), dtype=torch.float64), ["w0", "w1", "b1", "head_w"], alone_data,
                         spec, seed=4)
        for k in alone:
            # float64: grouped vs single convolution sum in a different order
            assert numerics.TOLERANCES["float64_affine"].ok(stacked[k][m], alone[k][0]), k


def test_lora_starts_at_the_base_kernel_and_stays_low_rank():
    base = init_params(TINY_ARCH, (0, 1), dtype=torch.float64)
    lora = add_lora(TINY_ARCH, base, 2, seed=0)
    for l in range(TINY_ARCH.depth):
        assert torch.equal(kernel(lora, l), base[f"w{l}"])
    data = make_data((0, 1), "train", 64, side=12, noise=0.5, dtype=torch.float64, device="cpu")
    trained, _ = train(TINY_ARCH, lora, [k for k in lora if k.startswith("lora_")], data, TrainSpec(5, lr=1e-1), seed=0)
    for l in range(TINY_ARCH.depth):
        delta = (kernel(trained, l) - base[f"w{l}"]).flatten(2)
        assert float(delta.abs().max()) > 0
        assert int(torch.linalg.matrix_rank(delta).max()) <= 2
        assert torch.equal(trained[f"w{l}"], base[f"w{l}"])  # base kernel frozen


@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.5, 0.9, 1.0])
def test_magnitude_masks_remove_the_smallest_weights(ratio):
    params = init_params(TINY_ARCH, (0, 1, 2))
    masks = magnitude_masks(TINY_ARCH, params, ratio)
    w = torch.cat([params[f"w{l}"].flatten(1) for l in range(TINY_ARCH.depth)], 1)
    keep = torch.cat([masks[l].flatten(1) for l in range(TINY_ARCH.depth)], 1)
    assert torch.all((keep == 0).sum(1) == round(ratio * w.shape[1]))
    for m in range(3):
        kept, cut = w[m][keep[m] == 1].abs(), w[m][keep[m] == 0].abs()
        if kept.numel() and cut.numel():
            assert float(kept.min()) >= float(cut.max())


@pytest.mark.parametrize("kwargs, arg", [({"steps": 0}, "steps"), ({"batch": 0}, "batch"), ({"lr": 0.0}, "lr"),
                                         ({"lr": math.inf}, "lr"), ({"eval_every": -1}, "eval_every"),
                                         ({"loss_target": 0.0}, "loss_target"), ({"loss_target": 0.1}, "eval_every")])
def test_train_spec_rejects_bad_settings(kwargs, arg):
    with pytest.raises(numerics.NumericsError, match=repr(arg)):
        TrainSpec(**{"steps": 10, **kwargs})


def test_residual_arch_ablates_only_the_skip():
    plain, res = (residual_arch(3, 6, 16, residual=r) for r in (False, True))
    assert plain.widths == res.widths and plain.pools == res.pools and plain.param_count() == res.param_count()
    assert plain.skips == () and res.skips == (2, 4, 6)


# ----------------------------------------------------------------------------------------------- experiments, criteria
def test_depth_experiment_keys_and_a_planted_chance_level_fails():
    exp = depth_experiment(depths=(1, 3), target_params=300, **TINY, spec=TrainSpec(30, lr=1e-2))
    assert {"depths", "widths", "params", "receptive_field", "test_acc", "train_acc", "seeds", "config"} <= set(exp)
    assert len(exp["test_acc"]) == 2 and all(len(a) == 2 for a in exp["test_acc"])
    # planted: a learning rate so small that no model moves from its initialisation, so depth cannot help
    frozen = depth_experiment(depths=(1, 3), target_params=300, **TINY, spec=TrainSpec(30, lr=1e-9))
    assert emp.depth_verdict(frozen).status == "fail"


def test_depth_verdict_needs_matched_parameters():
    good = {"depths": [1, 2], "params": [100, 100], "widths": [[1], [1, 1]], "receptive_field": [3, 8],
            "test_acc": [[0.5, 0.5, 0.51], [0.9, 0.92, 0.91]], "train_acc": [[0.5] * 3, [0.9] * 3],
            "seeds": [0, 1, 2], "config": {"target_params": 100, "side": 12}}
    assert emp.depth_verdict(good).status == "pass"
    assert emp.depth_verdict({**good, "params": [100, 120]}).status == "fail"
    assert emp.depth_verdict({**good, "test_acc": [[0.5, 0.5, 0.51], [0.5, 0.6, 0.55]]}).status == "fail"


def test_residual_experiment_unreached_target_is_unknown_and_worse_residual_fails():
    exp = residual_experiment(blocks=1, width=4, **TINY, loss_target=1e-4, spec=TrainSpec(20, eval_every=10))
    v = exp["variants"]
    assert set(v) == {"plain", "residual"} and v["plain"]["target_step"] == [-1, -1]
    assert emp.residual_verdict(exp).status == "unknown"  # never at equal training loss: not decided
    reached = {"target_step": [100, 100], "target_train_loss": [0.1, 0.1], "test_acc": [0.7, 0.7],
               "train_loss": [0.1, 0.1], "reached": [True, True]}
    planted = {**exp, "variants": {"plain": {**reached, "target_test_acc": [0.8, 0.82]},
                                   "residual": {**reached, "target_test_acc": [0.7, 0.72]}}}
    assert emp.residual_verdict(planted).status == "fail"
    planted["variants"]["residual"]["target_test_acc"] = [0.9, 0.92]
    assert emp.residual_verdict(planted).status == "pass"


def test_lora_and_pruning_experiments_keys_and_planted_failures():
    kw = {"arch": TINY_ARCH, **TINY, "pretrain": TrainSpec(40, lr=1e-2)}
    lora = lora_experiment(ranks=(1, 2), **kw, adapt=TrainSpec(10, lr=1e-2))
    assert set(lora["test_acc"]) == {"none", "head", "r=1", "r=2", "full"}
    assert lora["trainable"]["r=1"] == sum(4 * 1 + 1 * 9 * c for c in (1, 4, 4)) + 4 * 2 + 2
    # planted: adaptation that cannot move (learning rate 1e-9): the shift is never adapted to
    assert emp.lora_verdict(lora_experiment(ranks=(1,), **kw, adapt=TrainSpec(10, lr=1e-9))).status == "fail"
    prune = pruning_experiment(ratios=(0.0, 0.5, 0.9), **kw, finetune=TrainSpec(5))
    assert len(prune["test_acc"]) == 3 and len(prune["finetuned_test_acc"]) == 3
    # planted: untrained models at chance "tolerate" pruning vacuously, which must not pass
    untrained = pruning_experiment(ratios=(0.0, 0.5), **{**kw, "pretrain": TrainSpec(1, lr=1e-9)})
    assert emp.pruning_verdict(untrained).status == "fail"
    collapse = {**prune, "test_acc": [[0.9, 0.9], [0.7, 0.7], [0.5, 0.5]], "finetuned_test_acc": None}
    assert emp.pruning_verdict(collapse).status == "fail"
    assert emp.pruning_verdict({**collapse, "test_acc": [[0.9, 0.9], [0.88, 0.88], [0.5, 0.5]]}).status == "pass"


def test_claims_run_end_to_end_with_plots(tmp_path, monkeypatch):
    tiny = {"seeds": 2, "side": 12,
            "depth": {"depths": (1, 2), "target_params": 200, "n_train": 100, "n_test": 100, "spec": TrainSpec(5)},
            "residual": {"blocks": 1, "width": 3, "n_train": 100, "n_test": 100, "loss_target": 5.0,
                         "spec": TrainSpec(10, eval_every=5)},
            "pretrained": {"arch": ConvArch((3, 3), pools=(0,)), "n_train": 100, "n_test": 100,
                           "pretrain": TrainSpec(5)},
            "adapt": TrainSpec(3), "finetune": TrainSpec(2)}
    monkeypatch.setitem(emp.PROFILES, "quick", tiny)
    ctx = Context(profile="quick", out_dir=tmp_path)
    checks = {c.id: c for c in DUAT_CLAIMS}
    from checks import Claim
    checks["duat.E18"] = Claim("duat.E18", "s", "src", "numerical", {"quick": 1, "full": 1}, emp.lora_adaptation)
    checks["duat.E19"] = Claim("duat.E19", "s", "src", "numerical", {"quick": 1, "full": 1}, emp.pruning_curve)
    for cid in ("duat.E16", "duat.E17", "duat.E18", "duat.E19"):
        res = checks[cid].run(ctx)
        assert res.status in ("pass", "fail"), (cid, res.evidence)
        assert (tmp_path / res.evidence["plot"]).stat().st_size > 1000
        assert "quick profile" in res.note and res.expected["criterion"]


def test_not_testable_claims_have_reasons(tmp_path):
    claims = {c.id: c for c in DUAT_CLAIMS if c.kind in ("numerical", "not-testable")}
    assert {"duat.E16", "duat.E17", "duat.E18", "duat.E19", "duat.E22", "duat.E17.causal",
            "duat.E16.necessity"} == set(claims)
    assert claims["duat.E16"].kind == claims["duat.E17"].kind == "numerical"
    for cid in ("duat.E22", "duat.E17.causal", "duat.E16.necessity"):
        assert claims[cid].kind == "not-testable"
        res = claims[cid].run(Context(out_dir=tmp_path))
        assert res.status == "not-testable" and len(res.note) > 80
