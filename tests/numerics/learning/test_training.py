"""Tasks, the vectorised CNN/LCN/FCN ensemble, its optimizer, one sweep point, and the equivariance identities."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from numerics import TOLERANCES, NumericsError
from numerics.learning._equivariance import equivariance_run, haar_orthogonal, transform_blocks
from numerics.learning._tasks import Task
from numerics.learning._train import TrainSettings, _normals, train_ensemble, train_point
from numerics.learning._tree import TreeArch

F64 = torch.float64


# ---------------------------------------------------------------- tasks


@pytest.mark.parametrize(
    "name,g",
    [
        ("sparse", "product"),
        ("sparse", "sumsq"),
        ("sparse", "smooth"),
        ("patch-quadratic", "product"),
        ("halves", "product"),
    ],
)
def test_task_variance_matches_monte_carlo(name, g):
    task = Task(name, 16, g=g)
    x, y, f = task.sample((200_000,), torch.Generator().manual_seed(1), dtype=F64)
    assert torch.equal(y, f)  # noise 0
    # Var of the sample variance of N i.i.d. draws is about (m4 - var^2)/N; these targets have m4 <= 30 var^2,
    # so 5 standard errors is 5 sqrt(30/2e5) var ~ 0.06 var.
    assert abs(float(f.var()) - task.variance) <= 0.06 * task.variance
    assert abs(float(f.mean())) <= 5 * math.sqrt(task.variance / 200_000)


def test_task_targets_against_numpy():
    x = np.random.default_rng(0).standard_normal((5, 8))
    t = torch.from_numpy(x)
    assert np.allclose(Task("sparse", 8).target(t).numpy(), x[:, 0] * x[:, 7], rtol=0, atol=1e-15)
    assert np.allclose(
        Task("sparse", 8, support=(2, 5), g="sumsq").target(t).numpy(),
        (x[:, 2] ** 2 + x[:, 5] ** 2 - 2) / 2,
        rtol=0,
        atol=1e-15,
    )
    pq = sum(x[:, 2 * p] ** 2 - x[:, 2 * p + 1] ** 2 for p in range(4)) / math.sqrt(8)
    assert np.allclose(Task("patch-quadratic", 8).target(t).numpy(), pq, rtol=0, atol=1e-14)
    hv = (sum(x[:, i] ** 2 for i in range(4)) - sum(x[:, i] ** 2 for i in range(4, 8))) / math.sqrt(8)
    assert np.allclose(Task("halves", 8).target(t).numpy(), hv, rtol=0, atol=1e-14)


def test_task_noise_has_the_declared_variance():
    task = Task("patch-quadratic", 8, noise=0.25)
    _, y, f = task.sample((100_000,), torch.Generator().manual_seed(2), dtype=F64)
    assert abs(float((y - f).var()) - 0.25 * task.variance) <= 0.02 * task.variance  # ~5 standard errors


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(name="nope", d=8), "task"),
        (dict(name="sparse", d=12), "d"),
        (dict(name="sparse", d=2), "d"),
        (dict(name="sparse", d=8, support=(1, 1)), "support"),
        (dict(name="sparse", d=8, support=(0, 8)), "support"),
        (dict(name="halves", d=8, support=(0, 1)), "support"),
        (dict(name="sparse", d=8, g="cube"), "g"),
        (dict(name="halves", d=8, noise=-1.0), "noise"),
        (dict(name="halves", d=8, noise=math.nan), "noise"),
    ],
)
def test_task_rejects_bad_input(kwargs, match):
    with pytest.raises(NumericsError, match=match):
        Task(**kwargs)


def test_nested_training_sets():
    """The first m rows of the n-sample training set do not depend on n (the search compares nested sets)."""
    assert np.array_equal(_normals(7, 100, 8)[:37], _normals(7, 37, 8))


# ---------------------------------------------------------------- models


def _reference_forward(arch: TreeArch, params: list[torch.Tensor], x: torch.Tensor, e: int) -> torch.Tensor:
    """Member e's output computed layer by layer with F.conv1d / explicit loops (independent of the batched code)."""
    h = x[:, None, :]  # (B, C=1, positions)
    for l in range(arch.depth):
        w, b = params[2 * l][e], params[2 * l + 1][e]
        B, C, P = h.shape
        if arch.arch == "cnn":  # w (s*C, C'): row t*C + c
            kern = w.reshape(arch.s, C, -1).permute(2, 1, 0)  # (C', C, s)
            h = torch.relu(F.conv1d(h, kern, b, stride=arch.s))
        elif arch.arch == "lcn":
            outs = []
            for p in range(P // arch.s):
                patch = h[:, :, p * arch.s : (p + 1) * arch.s].permute(0, 2, 1).reshape(B, -1)  # (B, s*C), t major
                outs.append(torch.relu(patch @ w[p] + b[p]))
            h = torch.stack(outs, 2)
        else:
            flat = h.permute(0, 2, 1).reshape(B, -1)  # position-major, channel-minor
            h = torch.relu(flat @ w + b).reshape(B, P // arch.s, -1).permute(0, 2, 1)
    z = h.reshape(h.shape[0], -1)
    n_head = len(params) // 2 - arch.depth
    for i in range(n_head):
        z = z @ params[2 * (arch.depth + i)][e] + params[2 * (arch.depth + i) + 1][e]
        if i < n_head - 1:
            z = torch.relu(z)
    return z[:, 0]


@settings(max_examples=12, deadline=None)
@given(
    arch=st.sampled_from(["cnn", "lcn", "fcn"]),
    s=st.sampled_from([2, 3]),
    L=st.integers(1, 4),
    width=st.integers(1, 4),
    head=st.integers(0, 2),
    seed=st.integers(0, 2**31),
)
def test_forward_matches_layerwise_reference(arch, s, L, width, head, seed):
    shape = TreeArch(arch, s**L, s, width, 3, head)
    gens = [torch.Generator().manual_seed(seed + e) for e in range(3)]
    params = shape.init(gens, dtype=F64, device="cpu")
    with torch.no_grad():  # a non-zero readout and biases, to test them too
        for p in params:
            p.add_(torch.randn(p.shape, generator=gens[0], dtype=F64) * 0.3)
    x = torch.randn(3, 5, s**L, generator=gens[1], dtype=F64)
    out = shape.forward(params, x)
    for e in range(3):
        assert TOLERANCES["float64_affine"].ok(out[e], _reference_forward(shape, params, x[e], e))


@pytest.mark.parametrize("arch", ["cnn", "lcn", "fcn"])
def test_param_counts_closed_form(arch):
    w, hw = 4, 8
    for L in range(2, 7):
        d = 2**L
        head = w * hw + hw + hw + 1
        if arch == "cnn":
            expected = 2 * w + w + (L - 1) * (2 * w * w + w) + head
        elif arch == "lcn":
            expected = (d // 2) * (3 * w) + sum((d >> l) * (2 * w * w + w) for l in range(2, L + 1)) + head
        else:
            expected = (
                d * (d // 2) * w
                + (d // 2) * w
                + sum((d >> (l - 1)) * w * (d >> l) * w + (d >> l) * w for l in range(2, L + 1))
                + head
            )
        assert TreeArch(arch, d, 2, w, hw, 1).param_count() == expected


def test_init_is_gaussian_with_he_variance_and_zero_readout():
    shape = TreeArch("fcn", 64, 2, 8, 16, 1)
    p = shape.init([torch.Generator().manual_seed(0)], dtype=F64, device="cpu")
    w1 = p[0].detach()
    assert abs(float(w1.var()) - 2 / 64) < 0.1 * 2 / 64  # 16k draws: ~1% standard error
    assert not p[-2].detach().any() and not p[-1].detach().any()  # readout starts at 0: relative error 1


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(arch="rnn", d=8), "arch"),
        (dict(arch="cnn", d=12), "d"),
        (dict(arch="cnn", d=8, width=0), "width"),
        (dict(arch="cnn", d=9, s=3, head_layers=-1), "head_layers"),
    ],
)
def test_tree_arch_rejects_bad_input(kwargs, match):
    with pytest.raises(NumericsError, match=match):
        TreeArch(**kwargs)


# ---------------------------------------------------------------- optimizer


@pytest.mark.parametrize("optimizer", ["gd", "adam-tensor", "adam", "sgd-minibatch"])
@pytest.mark.parametrize("arch", ["cnn", "lcn", "fcn"])
def test_ensemble_equals_sequential_training(arch, optimizer):
    """Members trained together equal the same members trained one at a time (float64; rounding only)."""
    shape = TreeArch(arch, 8, 2, 3, 4, 1)
    task = Task("patch-quadratic", 8)
    g = torch.Generator().manual_seed(3)
    x, y, _ = task.sample((4, 32), g, dtype=F64)
    xv, yv, _ = task.sample((64,), g, dtype=F64)
    lrs = torch.tensor([0.003, 0.01, 0.03, 0.1], dtype=F64)
    st_ = (
        TrainSettings(max_steps=120, eval_every=10, patience=3, optimizer=optimizer)
        if optimizer != "sgd-minibatch"
        else TrainSettings(max_steps=120, eval_every=10, patience=3, optimizer="sgd", weight_decay=0.01, batch_size=10)
    )
    gens = lambda: [torch.Generator().manual_seed(100 + e) for e in range(4)]  # noqa: E731
    together = shape.init(gens(), dtype=F64, device="cpu")
    out = train_ensemble(shape, together, x, y, lrs, st_, x_val=xv, y_val=yv, batch_seeds=[20, 21, 22, 23])
    for e in range(4):
        alone = [
            p[e : e + 1].detach().clone().requires_grad_(True) for p in shape.init(gens(), dtype=F64, device="cpu")
        ]
        o1 = train_ensemble(
            shape, alone, x[e : e + 1], y[e : e + 1], lrs[e : e + 1], st_, x_val=xv, y_val=yv, batch_seeds=[20 + e]
        )
        assert int(o1["steps"][0]) == int(out["steps"][e])
        assert int(o1["trained_steps"][0]) == int(out["trained_steps"][e])  # a stopped member costs no more steps
        for a, b in zip(alone, together):
            assert TOLERANCES["float64_affine"].ok(a[0].detach(), b[e].detach())
    # The members stop at different times, so the batch was compacted while the others went on.
    assert int(out["trained_steps"].min()) < int(out["total_steps"]) == int(out["trained_steps"].max())


def test_early_stopping_returns_the_best_checkpoint():
    shape = TreeArch("cnn", 8, 2, 3, 4, 1)
    task = Task("patch-quadratic", 8)
    g = torch.Generator().manual_seed(4)
    x, y, _ = task.sample((2, 16), g, dtype=F64)
    xv, yv, _ = task.sample((64,), g, dtype=F64)
    params = shape.init([torch.Generator().manual_seed(e) for e in range(2)], dtype=F64, device="cpu")
    out = train_ensemble(
        shape,
        params,
        x,
        y,
        torch.tensor([0.05, 0.05], dtype=F64),
        TrainSettings(max_steps=400, eval_every=10, patience=5, optimizer="adam-tensor"),
        x_val=xv,
        y_val=yv,
    )
    with torch.no_grad():
        val = ((shape.forward(params, xv[None]) - yv) ** 2).mean(1)
    assert TOLERANCES["float64_affine"].ok(val, out["val"])
    assert all(0 < int(s) <= int(out["total_steps"]) for s in out["steps"])


def test_divergent_member_does_not_spoil_the_others():
    shape = TreeArch("fcn", 8, 2, 3, 4, 1)
    g = torch.Generator().manual_seed(5)
    x, y, _ = Task("halves", 8).sample((2, 32), g, dtype=F64)
    gens = lambda: [torch.Generator().manual_seed(9), torch.Generator().manual_seed(10)]  # noqa: E731
    params = shape.init(gens(), dtype=F64, device="cpu")
    out = train_ensemble(
        shape,
        params,
        x,
        y,
        torch.tensor([1e6, 0.01], dtype=F64),
        TrainSettings(max_steps=60, patience=None, optimizer="gd"),
    )
    alone = [p[1:].detach().clone().requires_grad_(True) for p in shape.init(gens(), dtype=F64, device="cpu")]
    train_ensemble(
        shape,
        alone,
        x[1:],
        y[1:],
        torch.tensor([0.01], dtype=F64),
        TrainSettings(max_steps=60, patience=None, optimizer="gd"),
    )
    assert bool(out["diverged"][0]) and not bool(out["diverged"][1])
    for a, b in zip(alone, params):
        assert TOLERANCES["float64_affine"].ok(a[0].detach(), b[1].detach())


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(max_steps=0), "max_steps"),
        (dict(patience=0), "patience"),
        (dict(momentum=1.0), "momentum"),
        (dict(optimizer="adamw"), "optimizer"),
    ],
)
def test_train_settings_reject_bad_input(kwargs, match):
    with pytest.raises(NumericsError, match=match):
        TrainSettings(**kwargs)


def test_train_settings_from_config():
    cfg = {"max_steps": 50, "eval_every": 5, "momentum": 0.5, "patience": 2, "optimizer": "adam-tensor"}
    assert TrainSettings.from_config(cfg) == TrainSettings(50, 5, 2, 0.5, "adam-tensor")
    with pytest.raises(NumericsError, match="missing \\['momentum'\\]"):
        TrainSettings.from_config({"max_steps": 50, "eval_every": 5})
    with pytest.raises(NumericsError, match="eval_every"):
        TrainSettings.from_config({**cfg, "eval_every": 0})


# ---------------------------------------------------------------- one sweep point

CONFIG = {
    "task": "patch-quadratic",
    "task_options": {"noise": 0.0},
    "seeds": [0, 1],
    "lrs": [0.01, 0.03],
    "seed": 0,
    "train": {
        "width": 4,
        "head_width": 8,
        "head_layers": 1,
        "max_steps": 60,
        "eval_every": 10,
        "patience": 3,
        "momentum": 0.9,
        "optimizer": "adam-tensor",
        "n_val": 64,
        "n_test": 128,
    },
}


def test_train_point_is_deterministic_and_reports_per_seed():
    a = train_point(CONFIG, "lcn", 8, 24, dtype="float64")
    b = train_point(CONFIG, "lcn", 8, 24, dtype="float64")
    for key in ("test_rel", "val_rel", "train_rel", "lr", "steps", "all_test_rel"):
        assert a[key] == b[key]
    assert len(a["test_rel"]) == 2 and all(v > 0 for v in a["test_rel"])
    for s in range(2):  # the chosen lr is the one with the lowest validation error
        r = int(np.argmin(a["all_val_rel"][s]))
        assert a["lr"][s] == CONFIG["lrs"][r] and a["test_rel"][s] == a["all_test_rel"][s][r]
    assert a["params"] == TreeArch("lcn", 8, 2, 4, 8, 1).param_count()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_train_point_on_cuda_matches_cpu():
    """The same point on the GPU and the CPU in float64: the runs differ by BLAS rounding only (~1e-16 per
    operation), which 60 full-batch steps cannot amplify to 1e-6 relative; a wrong device placement, early-stopping
    step or learning-rate choice would show as an O(1) difference."""
    a = train_point(CONFIG, "cnn", 8, 24, dtype="float64", device="cpu")
    b = train_point(CONFIG, "cnn", 8, 24, dtype="float64", device="cuda")
    assert b["device"].startswith("cuda") and a["lr"] == b["lr"] and a["steps"] == b["steps"]
    assert np.allclose(a["all_test_rel"], b["all_test_rel"], rtol=1e-6, atol=0)


def test_train_point_learns_with_more_data():
    cfg = {**CONFIG, "lrs": [0.03, 0.1], "train": {**CONFIG["train"], "max_steps": 300, "width": 8, "head_width": 16}}
    small = np.median(train_point(cfg, "cnn", 8, 8)["test_rel"])
    large = np.median(train_point(cfg, "cnn", 8, 256)["test_rel"])
    assert large < small and large < 0.5


def test_train_point_rejects_bad_n():
    with pytest.raises(NumericsError, match="n"):
        train_point(CONFIG, "cnn", 8, 0)


# ---------------------------------------------------------------- equivariance


@pytest.mark.parametrize(
    "arch,transform",
    [("fcn", "orthogonal"), ("lcn", "block"), ("cnn", "shared-block"), ("fcn", "block"), ("lcn", "shared-block")],
)
def test_training_is_equivariant(arch, transform):
    r = equivariance_run(
        arch, transform, d=8, n=24, steps=60, lr=0.03, seed=1, settings=TrainSettings(optimizer="adam-tensor")
    )
    assert r["agree"] and r["rel_diff"] < 1e-11, r


@pytest.mark.parametrize("optimizer", ["gd", "adam-tensor"])
def test_equivariance_holds_for_both_optimizers(optimizer):
    r = equivariance_run("fcn", "orthogonal", d=8, n=24, steps=60, lr=0.01, settings=TrainSettings(optimizer=optimizer))
    assert r["agree"], r


def test_cnn_is_not_equivariant_under_independent_blocks():
    r = equivariance_run("cnn", "block", d=8, n=24, steps=60, lr=0.03, init="best-shared", seed=1)
    assert not r["agree"] and r["rel_diff"] > 1e-2 and r["candidates"] == 4


def test_untransformed_initialisation_is_caught():
    """Planted violation: the rotated data with the original initialisation must disagree."""
    r = equivariance_run("fcn", "orthogonal", d=8, n=24, steps=60, lr=0.03, init="identity")
    assert not r["agree"] and r["rel_diff"] > 1e-2


def test_cnn_has_no_tied_transform_for_independent_blocks():
    with pytest.raises(NumericsError, match="transform"):
        equivariance_run("cnn", "block", d=8, n=8, steps=2)


def test_haar_orthogonal_is_orthogonal():
    u = haar_orthogonal(6, torch.Generator().manual_seed(0))
    assert TOLERANCES["float64_affine"].ok(u @ u.T, torch.eye(6, dtype=F64))
    blocks = transform_blocks("shared-block", 8, 2, torch.Generator().manual_seed(0))
    assert len(blocks) == 4 and all(b is blocks[0] for b in blocks)


@pytest.mark.parametrize(
    "task,options",
    [("sparse", {"g": "product"}), ("sparse", {"g": "smooth", "support": [1, 6]}), ("halves", {"noise": 0.1})],
)
def test_train_point_runs_every_task(task, options):
    cfg = {**CONFIG, "task": task, "task_options": options, "train": {**CONFIG["train"], "max_steps": 20}}
    r = train_point(cfg, "fcn", 8, 16)
    assert all(math.isfinite(v) and v > 0 for v in r["test_rel"] + r["train_rel"])


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: equivariance_run("fcn", "orthogonal", d=8, n=0), "n"),
        (lambda: equivariance_run("fcn", "orthogonal", d=8, lr=-0.1), "lr"),
        (lambda: equivariance_run("fcn", "orthogonal", d=8, n_eval=0), "n_eval"),
        (lambda: equivariance_run("fcn", "orthogonal", d=8, init="random"), "init"),
        (lambda: transform_blocks("block", 9, 2, torch.Generator()), "d"),
        (lambda: haar_orthogonal(0, torch.Generator()), "n"),
        (lambda: TreeArch("cnn", 8).init([], dtype=F64, device="cpu"), "generators"),
        (lambda: Task("halves", 8).sample((-1,), torch.Generator(), dtype=F64), "shape"),
        (lambda: train_point({k: v for k, v in CONFIG.items() if k != "lrs"}, "cnn", 8, 8), "lrs"),
        (lambda: train_point({**CONFIG, "train": {"width": 4}}, "cnn", 8, 8), "train.max_steps"),
    ],
)
def test_learning_api_rejects_bad_input(call, match):
    with pytest.raises(NumericsError, match=match):
        call()
