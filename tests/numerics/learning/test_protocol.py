"""The training protocol: kernel, head, optimizers (against torch.optim), weight decay, initialisation,
minibatches, their record in the sweep config, and which of them keep the equivariance."""

from __future__ import annotations

import json
import math

import pytest
import torch

from numerics import TOLERANCES, NumericsError
from numerics.learning import require_equivariant
from numerics.learning._config import SweepConfig, separation_config, upgrade_config
from numerics.learning._equivariance import equivariance_run
from numerics.learning._optim import PROTOCOL_DEFAULTS, TrainSettings
from numerics.learning._store import SweepStore
from numerics.learning._tasks import Task
from numerics.learning._train import train_ensemble, train_point
from numerics.learning._tree import TreeArch

F64 = torch.float64
REFERENCE = TOLERANCES["float64_affine"]
"""Our vectorised update vs torch.optim on one member: the same float64 operations, associated differently, so
they differ by rounding only (measured <= 1e-15 relative after 40 steps); a wrong moment, bias correction, decay
or batch differs by >= 1e-3."""
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
GOLDEN = {"cnn": [0.9761573477746424, 0.8912200893722623], "fcn": [0.9270180896791533, 0.8431718515165978]}
"""``train_point(CONFIG, arch, 8, 24, dtype='float64')['test_rel']`` computed by the harness before the protocol
became configurable (full batch, adam-tensor, s = 2, He init, zero readout)."""
GOLDEN_TOL = 1e-9
"""Relative: the golden run repeated on another BLAS differs by rounding amplified over 60 steps (~1e-14 seen
between thread counts); any change of protocol (formula, init, batches) moves test_rel by > 1e-3."""


def _tiny(**arch_kw):
    arch = TreeArch("fcn", 4, 2, 3, 4, 1, **{"readout_init": "gaussian", **arch_kw})
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 12, 4, generator=g, dtype=F64)
    return arch, x, x[..., 0] * x[..., 3]


def _init(arch: TreeArch) -> list[torch.Tensor]:
    return arch.init([torch.Generator().manual_seed(5), torch.Generator().manual_seed(6)], dtype=F64, device="cpu")


@pytest.mark.parametrize(
    "settings,make",
    [
        (
            TrainSettings(40, 10, None, 0.9, "adam"),
            lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-8, foreach=False),
        ),
        (
            TrainSettings(40, 10, None, 0.9, "adam", weight_decay=0.1),
            lambda ps: torch.optim.AdamW(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1, foreach=False),
        ),
        (
            TrainSettings(40, 10, None, 0.9, "sgd", weight_decay=0.1, batch_size=5),
            lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, weight_decay=0.1, foreach=False),
        ),
        (TrainSettings(40, 10, None, 0.0, "sgd"), lambda ps: torch.optim.SGD(ps, lr=0.01, foreach=False)),
        (
            TrainSettings(40, 10, None, 0.5, "adam", batch_size=5),
            lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.5, 0.999), foreach=False),
        ),
    ],
)
def test_optimizers_match_torch_optim_on_one_member(settings, make):
    """Member 0 (lr 0.01) of a 2-member ensemble equals torch.optim on that member alone; minibatches are the
    slices of randperm(n) drawn from the member's batch seed once per epoch (12 = 5 + 5 + 2)."""
    arch, x, y = _tiny()
    p0 = _init(arch)
    ens = [p.detach().clone().requires_grad_(True) for p in p0]
    train_ensemble(arch, ens, x, y, torch.tensor([0.01, 0.03], dtype=F64), settings, batch_seeds=[3, 4])
    one = [p[:1].detach().clone().requires_grad_(True) for p in p0]
    opt, gen, perm = make(one), torch.Generator().manual_seed(3), torch.arange(12)
    for t in range(settings.max_steps):
        idx = torch.arange(12)
        if settings.batch_size:
            k = t % 3
            perm = torch.randperm(12, generator=gen) if k == 0 else perm
            idx = perm[5 * k : 5 * k + 5]
        opt.zero_grad()
        ((arch.forward(one, x[:1, idx]) - y[:1, idx]) ** 2).mean(1).sum().backward()
        opt.step()
    for a, b in zip(ens, one):
        assert REFERENCE.ok(a[:1].detach(), b.detach())
    assert not torch.equal(ens[0][0], p0[0][0])  # it trained


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adam-tensor"])
def test_weight_decay_shrinks_the_weights(optimizer):
    arch, x, y = _tiny()
    norms = []
    for wd in (0.0, 0.5):
        ps = _init(arch)
        train_ensemble(
            arch,
            ps,
            x,
            y,
            torch.tensor([0.01, 0.01], dtype=F64),
            TrainSettings(100, 10, None, 0.9, optimizer, weight_decay=wd),
        )
        norms.append(float(sum(p.detach().pow(2).sum() for p in ps)))
    assert norms[1] < 0.9 * norms[0], norms


def test_init_scale_multiplies_every_initial_weight_exactly():
    """A power-of-2 scale is exact in floats: every tensor (the readout's too) is scaled bit for bit."""
    base = TreeArch("lcn", 16, 2, 3, 4, 1, readout_init="gaussian")
    scaled = TreeArch("lcn", 16, 2, 3, 4, 1, init_scale=0.25, readout_init="gaussian")
    a, b = _init(base), _init(scaled)
    assert all(torch.equal(0.25 * p.detach(), q.detach()) for p, q in zip(a, b))
    norm = lambda ps: math.sqrt(sum(float(p.detach().pow(2).sum()) for p in ps))  # noqa: E731
    assert norm(b) == 0.25 * norm(a) > 0


def test_readout_initialisation():
    """zero (default): the predictor 0; gaussian: N(0, 1/fan_in); the hidden layers are the same draws."""
    zero, gauss = TreeArch("cnn", 8, 2, 64, 256, 1), TreeArch("cnn", 8, 2, 64, 256, 1, readout_init="gaussian")
    gens = lambda: [torch.Generator().manual_seed(e) for e in range(8)]  # noqa: E731
    a, b = zero.init(gens(), dtype=F64, device="cpu"), gauss.init(gens(), dtype=F64, device="cpu")
    assert all(torch.equal(p, q) for p, q in zip(a[:-2], b[:-2]))
    assert not a[-2].any() and not b[-1].any()
    # 8 x 256 draws of N(0, 1/256): the sample variance is within ~9% (5 standard errors of sqrt(2/2048)) of 1/256.
    assert abs(float(b[-2].detach().var()) * 256 - 1) < 0.16


def test_kernel_4_tree_has_depth_log4_d():
    for d, depth in ((16, 2), (64, 3), (4096, 6)):
        arch = TreeArch("cnn", d, 4, 5, 7, 1)
        assert arch.depth == depth == round(math.log(d, 4))
        assert [ws for ws, _ in arch.shapes()][:2] == [(4, 5), (20, 5)]
    lcn = TreeArch("lcn", 64, 4, 2, 3, 1)
    assert [ws[0] for ws, _ in lcn.shapes()[:3]] == [16, 4, 1]  # positions per layer
    with pytest.raises(NumericsError, match="'d'"):
        TreeArch("cnn", 32, 4)


def test_no_head_convention():
    """head_width = 0: the tree's C_L channels feed the readout (head_layers unused)."""
    arch = TreeArch("cnn", 16, 4, 5, 0, 3)
    assert arch.n_head == 0 and arch.shapes()[-1] == ((5, 1), (1,))
    assert arch.param_count() == (4 * 5 + 5) + (20 * 5 + 5) + 5 + 1
    ps = arch.init([torch.Generator().manual_seed(0)], dtype=F64, device="cpu")
    with torch.no_grad():
        ps[-2].normal_(generator=torch.Generator().manual_seed(1))
    x = torch.randn(1, 6, 16, generator=torch.Generator().manual_seed(2), dtype=F64)
    assert REFERENCE.ok(arch.module(ps, 0)(x[0][:, None, :])[:, 0], arch.forward(ps, x)[0])


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: TrainSettings(optimizer="adamw"), "optimizer"),
        (lambda: TrainSettings(weight_decay=-0.1), "weight_decay"),
        (lambda: TrainSettings(weight_decay=math.nan), "weight_decay"),
        (lambda: TrainSettings(batch_size=0), "batch_size"),
        (lambda: TrainSettings(batch_size=True), "batch_size"),
        (lambda: TrainSettings(optimizer="gd", batch_size=8), "batch_size"),
        (lambda: TreeArch("cnn", 8, 1), "'s'"),
        (lambda: TreeArch("cnn", 8, head_width=-1), "head_width"),
        (lambda: TreeArch("cnn", 8, head_width=None), "head_width"),
        (lambda: TreeArch("cnn", 8, init_scale=0), "init_scale"),
        (lambda: TreeArch("cnn", 8, init_scale=math.inf), "init_scale"),
        (lambda: TreeArch("cnn", 8, readout_init="he"), "readout_init"),
        (
            lambda: train_ensemble(
                *_tiny()[:1],
                _init(_tiny()[0]),
                *_tiny()[1:],
                torch.ones(2, dtype=F64),
                TrainSettings(2, 1, None, 0.0, "sgd", batch_size=2),
                batch_seeds=[1],
            ),
            "batch_seeds",
        ),
    ],
)
def test_protocol_rejects_bad_values(make, match):
    with pytest.raises(NumericsError, match=match):
        make()


# ---------------------------------------------------------------- one sweep point


def test_defaults_reproduce_todays_numbers():
    """Absent protocol keys, the explicit defaults and a batch at least n all run today's full-batch training."""
    for arch, golden in GOLDEN.items():
        r = train_point(CONFIG, arch, 8, 24, dtype="float64")
        assert all(abs(a - b) <= GOLDEN_TOL * b for a, b in zip(r["test_rel"], golden)), (arch, r["test_rel"])
        explicit = {**CONFIG, "train": {**PROTOCOL_DEFAULTS, **CONFIG["train"], "batch_size": 24}}
        s = train_point(explicit, arch, 8, 24, dtype="float64")
        assert s["all_test_rel"] == r["all_test_rel"] and s["steps"] == r["steps"]  # bit for bit


def test_minibatches_are_seeded_and_change_training():
    cfg = {**CONFIG, "train": {**CONFIG["train"], "batch_size": 8}}
    a, b = train_point(cfg, "cnn", 8, 24, dtype="float64"), train_point(cfg, "cnn", 8, 24, dtype="float64")
    full = train_point(CONFIG, "cnn", 8, 24, dtype="float64")
    assert a["all_test_rel"] == b["all_test_rel"]
    assert all(abs(x - y) > 1e-6 for x, y in zip(a["all_test_rel"][0], full["all_test_rel"][0]))
    other = train_point({**cfg, "seed": 1}, "cnn", 8, 24, dtype="float64")
    assert other["all_test_rel"] != a["all_test_rel"]


def test_train_point_with_kernel_4_and_no_head():
    cfg = {
        **CONFIG,
        "train": {**CONFIG["train"], "s": 4, "head_width": 0, "optimizer": "sgd", "momentum": 0.0, "max_steps": 20},
    }
    r = train_point(cfg, "lcn", 16, 16, dtype="float64")
    assert r["params"] == TreeArch("lcn", 16, 4, 4, 0).param_count() and all(math.isfinite(v) for v in r["test_rel"])
    with pytest.raises(NumericsError, match="'d'"):
        train_point(cfg, "lcn", 8, 16)


# ---------------------------------------------------------------- the sweep config records the protocol


def test_an_old_store_without_protocol_keys_resumes_identically(tmp_path):
    new = separation_config("patch-quadratic", "quick")
    assert {k: new.train[k] for k in PROTOCOL_DEFAULTS} == {**PROTOCOL_DEFAULTS, "optimizer": "adam-tensor"}
    old = new.to_dict()
    old["train"] = {k: v for k, v in old["train"].items() if k not in PROTOCOL_DEFAULTS or k == "optimizer"}
    assert upgrade_config(old)["train"] == new.to_dict()["train"]
    (tmp_path / "config.json").write_text(json.dumps(old, indent=2, sort_keys=True) + "\n")
    SweepStore(tmp_path, new.to_dict(), upgrade=upgrade_config)  # same configuration: resumed
    small = {**old, "seeds": [0], "lrs": [0.1], "train": {**old["train"], "max_steps": 30, "n_val": 32, "n_test": 64}}
    assert (
        train_point(small, "cnn", 8, 16, dtype="float64")["all_test_rel"]
        == train_point(upgrade_config(small), "cnn", 8, 16, dtype="float64")["all_test_rel"]
    )
    older = {k: v for k, v in old["train"].items() if k != "optimizer"}  # before adam-tensor: gd
    assert SweepConfig.from_dict({**old, "train": older}).train["optimizer"] == "gd"


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(train={"optimizer": "adamw"}), "optimizer"),
        (dict(train={"s": 4}), "'ds'"),
        (dict(train={"s": 5}), "train\\['s'\\]"),
        (dict(train={"s": 3}, ds=(9, 27)), "'d'"),
        (dict(train={"batch_size": 0}), "batch_size"),
        (dict(train={"head_width": None}), "head_width"),
        (dict(train={"init_scale": -1.0}), "init_scale"),
        (dict(train={"weight_decay": "0.1"}), "weight_decay"),
    ],
)
def test_sweep_config_validates_the_protocol_up_front(kw, match):
    with pytest.raises(NumericsError, match=match):
        separation_config("patch-quadratic", "quick", **kw)


def test_sweep_config_takes_kernel_3_and_4():
    c3 = separation_config("sparse", "quick", ds=(9, 27), train={"s": 3})
    c4 = separation_config("patch-quadratic", "quick", ds=(16, 64, 256), train={"s": 4, "batch_size": 64})
    assert c3.train["s"] == 3 and c4.train["batch_size"] == 64 and Task("sparse", 27).d == 27


# ---------------------------------------------------------------- equivariance


def test_per_coordinate_adam_breaks_equivariance_and_adam_tensor_keeps_it():
    kw = dict(d=8, n=24, steps=60, lr=0.01, seed=1)
    keep = equivariance_run(
        "fcn", "orthogonal", settings=TrainSettings(optimizer="adam-tensor", weight_decay=0.1, batch_size=8), **kw
    )
    broken = equivariance_run("fcn", "orthogonal", settings=TrainSettings(optimizer="adam"), **kw)
    assert keep["agree"] and keep["equivariant_protocol"]
    assert not broken["agree"] and broken["rel_diff"] > 1e-3 and not broken["equivariant_protocol"]
    lcn = equivariance_run("lcn", "block", settings=TrainSettings(optimizer="adam"), **kw)
    assert not lcn["agree"] and lcn["rel_diff"] > 1e-3
    sgd = equivariance_run(
        "cnn",
        "shared-block",
        s=4,
        d=16,
        n=24,
        steps=40,
        lr=0.01,
        settings=TrainSettings(optimizer="sgd", weight_decay=0.1, batch_size=8),
    )
    assert sgd["agree"], sgd


def test_equivariant_claims_refuse_per_coordinate_adam():
    assert require_equivariant(TrainSettings(), "x") == TrainSettings()
    with pytest.raises(NumericsError, match="'optimizer'.*equivariant optimizer.*for ww.sample"):
        require_equivariant(TrainSettings(optimizer="adam"), "ww.sample")


# ---------------------------------------------------------------- command line


def test_cli_protocol_flags_are_recorded_and_reported(tmp_path, capsys):
    import argparse

    from numerics.learning._cli import add_parser, run
    from tests.numerics.learning.fake_evaluator import EVALUATOR

    def cli(argv):
        parser = argparse.ArgumentParser()
        add_parser(parser.add_subparsers(dest="command"))
        return run(
            parser.parse_args(
                [
                    "separation",
                    "--task",
                    "halves",
                    "--archs",
                    "cnn",
                    "--seeds",
                    "2",
                    "--executor",
                    "serial",
                    "--no-progress",
                    *argv,
                ]
            )
        )

    flags = [
        "--s",
        "4",
        "--ds",
        "16,64",
        "--width",
        "5",
        "--head-width",
        "0",
        "--optimizer",
        "sgd",
        "--momentum",
        "0.5",
        "--weight-decay",
        "0.01",
        "--batch-size",
        "32",
        "--init-scale",
        "0.5",
        "--readout-init",
        "gaussian",
        "--lrs",
        "0.01,0.1",
    ]
    assert cli([*flags, "--evaluator", EVALUATOR, "--out", str(tmp_path / "a")]) == 0
    cfg = json.loads((tmp_path / "a" / "config.json").read_text())
    assert cfg["lrs"] == [0.01, 0.1] and {
        k: cfg["train"][k]
        for k in (
            "s",
            "width",
            "head_width",
            "optimizer",
            "momentum",
            "weight_decay",
            "batch_size",
            "init_scale",
            "readout_init",
        )
    } == {
        "s": 4,
        "width": 5,
        "head_width": 0,
        "optimizer": "sgd",
        "momentum": 0.5,
        "weight_decay": 0.01,
        "batch_size": 32,
        "init_scale": 0.5,
        "readout_init": "gaussian",
    }
    out = capsys.readouterr().out
    assert (
        "training protocol: kernel = stride 4, width 5, no head; optimizer sgd (momentum 0.5), weight decay "
        "0.01, minibatch 32; init 0.5 x N(0, 2/fan_in), readout gaussian" in out
    )
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["protocol"].startswith("kernel = stride 4")
    assert cli(["--optimizer", "gd", "--batch-size", "8", "--out", str(tmp_path / "b")]) == 2
    assert cli(["--s", "4", "--out", str(tmp_path / "c")]) == 2  # the profile's ds are not powers of 4
    err = capsys.readouterr().err
    assert "argument 'batch_size'" in err and "argument 'ds'" in err and not (tmp_path / "b").exists()
