"""Tests of the DUAT empirical experiments (numerics.duat.experiments): the task, the seed-stacked models and their
training, LoRA and pruning masks (the claims' criteria on the experiments: tests/checks/duat/test_empirical.py).
Every training run here is tiny (12 x 12 images, 2 seeds, tens of steps)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import numerics
from numerics.duat.experiments._adaptation import magnitude_masks
from numerics.duat.experiments._models import ConvArch, add_lora, forward, init_params, kernel, matched_arch
from numerics.duat.experiments._task import BAR, GAP, MARGIN, bars_task
from numerics.duat.experiments._train import TrainSpec, make_data, train
from numerics.duat.experiments._trends import residual_arch
from tests.numerics.duat.helpers import TINY_ARCH

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py: train with one torch thread


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


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        ({"n": 1}, "n"),
        ({"n": 2.0}, "n"),
        ({"side": 10}, "side"),
        ({"side": 13}, "side"),
        ({"noise": -1.0}, "noise"),
        ({"noise": math.nan}, "noise"),
        ({"noise": math.inf}, "noise"),
        ({"seed": -1}, "seed"),
        ({"seed": True}, "seed"),
        ({"dtype": torch.int64}, "dtype"),
    ],
)
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
@pytest.mark.parametrize(
    "kwargs",
    [
        {"widths": ()},
        {"widths": (0,)},
        {"widths": (4, 4), "pools": (2,)},
        {"widths": (4, 4), "skips": (0,)},
        {"widths": (4, 4, 4), "pools": (0,), "skips": (1,)},
        {"widths": (4, 4, 5), "skips": (2,)},
        {"widths": (4,), "classes": 0},
    ],
)
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


def test_stacked_training_equals_training_each_model_alone():
    """The ensemble trick: model m trained in a stack of 2 is model m trained alone (float64, same batches)."""
    seeds = (11, 12)
    arch = ConvArch((3, 4), pools=(0,), skips=())
    data = make_data(seeds, "train", 64, side=12, noise=0.5, dtype=torch.float64, device="cpu")
    spec = TrainSpec(5, batch=16, lr=1e-2)
    stacked, _ = train(
        arch, init_params(arch, seeds, dtype=torch.float64), ["w0", "w1", "b1", "head_w"], data, spec, seed=4
    )
    for m, s in enumerate(seeds):
        alone_data = type(data)(data.x[:, m : m + 1], data.y[:, m : m + 1])
        alone, _ = train(
            arch, init_params(arch, (s,), dtype=torch.float64), ["w0", "w1", "b1", "head_w"], alone_data, spec, seed=4
        )
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


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        ({"steps": 0}, "steps"),
        ({"batch": 0}, "batch"),
        ({"lr": 0.0}, "lr"),
        ({"lr": math.inf}, "lr"),
        ({"eval_every": -1}, "eval_every"),
        ({"loss_target": 0.0}, "loss_target"),
        ({"loss_target": 0.1}, "eval_every"),
    ],
)
def test_train_spec_rejects_bad_settings(kwargs, arg):
    with pytest.raises(numerics.NumericsError, match=repr(arg)):
        TrainSpec(**{"steps": 10, **kwargs})


def test_residual_arch_ablates_only_the_skip():
    plain, res = (residual_arch(3, 6, 16, residual=r) for r in (False, True))
    assert plain.widths == res.widths and plain.pools == res.pools and plain.param_count() == res.param_count()
    assert plain.skips == () and res.skips == (2, 4, 6)
