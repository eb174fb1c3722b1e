"""The DUAT empirical claims (checks/duat/_trends.py, checks/duat/_pretrained.py; sizes and decision rule:
checks/duat/_empirical.py): the criteria on tiny experiments (planted failures), the claims end to end with plots,
the not-testable claims. Every training run here is tiny (12 x 12 images, 2 seeds, tens of steps)."""

from __future__ import annotations

import pytest

from checks import Context
from checks.duat import CLAIMS as DUAT_CLAIMS
from checks.duat import _empirical as emp
from checks.duat import _pretrained, _trends
from numerics.duat.experiments._adaptation import lora_experiment, pruning_experiment
from numerics.duat.experiments._models import ConvArch
from numerics.duat.experiments._train import TrainSpec
from numerics.duat.experiments._trends import depth_experiment, residual_experiment
from tests.numerics.duat.helpers import TINY_ARCH

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py: train with one torch thread

TINY = {"side": 12, "n_train": 200, "n_test": 300, "seeds": (0, 1)}


def test_depth_experiment_keys_and_a_planted_chance_level_fails():
    exp = depth_experiment(depths=(1, 3), target_params=300, **TINY, spec=TrainSpec(30, lr=1e-2))
    assert {"depths", "widths", "params", "receptive_field", "test_acc", "train_acc", "seeds", "config"} <= set(exp)
    assert len(exp["test_acc"]) == 2 and all(len(a) == 2 for a in exp["test_acc"])
    # planted: a learning rate so small that no model moves from its initialisation, so depth cannot help
    frozen = depth_experiment(depths=(1, 3), target_params=300, **TINY, spec=TrainSpec(30, lr=1e-9))
    assert _trends.depth_verdict(frozen).status == "fail"


def test_depth_verdict_needs_matched_parameters():
    good = {
        "depths": [1, 2],
        "params": [100, 100],
        "widths": [[1], [1, 1]],
        "receptive_field": [3, 8],
        "test_acc": [[0.5, 0.5, 0.51], [0.9, 0.92, 0.91]],
        "train_acc": [[0.5] * 3, [0.9] * 3],
        "seeds": [0, 1, 2],
        "config": {"target_params": 100, "side": 12},
    }
    assert _trends.depth_verdict(good).status == "pass"
    assert _trends.depth_verdict({**good, "params": [100, 120]}).status == "fail"
    assert _trends.depth_verdict({**good, "test_acc": [[0.5, 0.5, 0.51], [0.5, 0.6, 0.55]]}).status == "fail"


def test_residual_experiment_unreached_target_is_unknown_and_worse_residual_fails():
    exp = residual_experiment(blocks=1, width=4, **TINY, loss_target=1e-4, spec=TrainSpec(20, eval_every=10))
    v = exp["variants"]
    assert set(v) == {"plain", "residual"} and v["plain"]["target_step"] == [-1, -1]
    assert _trends.residual_verdict(exp).status == "unknown"  # never at equal training loss: not decided
    reached = {
        "target_step": [100, 100],
        "target_train_loss": [0.1, 0.1],
        "test_acc": [0.7, 0.7],
        "train_loss": [0.1, 0.1],
        "reached": [True, True],
    }
    planted = {
        **exp,
        "variants": {
            "plain": {**reached, "target_test_acc": [0.8, 0.82]},
            "residual": {**reached, "target_test_acc": [0.7, 0.72]},
        },
    }
    assert _trends.residual_verdict(planted).status == "fail"
    planted["variants"]["residual"]["target_test_acc"] = [0.9, 0.92]
    assert _trends.residual_verdict(planted).status == "pass"


def test_lora_and_pruning_experiments_keys_and_planted_failures():
    kw = {"arch": TINY_ARCH, **TINY, "pretrain": TrainSpec(40, lr=1e-2)}
    lora = lora_experiment(ranks=(1, 2), **kw, adapt=TrainSpec(10, lr=1e-2))
    assert set(lora["test_acc"]) == {"none", "head", "r=1", "r=2", "full"}
    assert lora["trainable"]["r=1"] == sum(4 * 1 + 1 * 9 * c for c in (1, 4, 4)) + 4 * 2 + 2
    # planted: adaptation that cannot move (learning rate 1e-9): the shift is never adapted to
    assert _pretrained.lora_verdict(lora_experiment(ranks=(1,), **kw, adapt=TrainSpec(10, lr=1e-9))).status == "fail"
    prune = pruning_experiment(ratios=(0.0, 0.5, 0.9), **kw, finetune=TrainSpec(5))
    assert len(prune["test_acc"]) == 3 and len(prune["finetuned_test_acc"]) == 3
    # planted: untrained models at chance "tolerate" pruning vacuously, which must not pass
    untrained = pruning_experiment(ratios=(0.0, 0.5), **{**kw, "pretrain": TrainSpec(1, lr=1e-9)})
    assert _pretrained.pruning_verdict(untrained).status == "fail"
    collapse = {**prune, "test_acc": [[0.9, 0.9], [0.7, 0.7], [0.5, 0.5]], "finetuned_test_acc": None}
    assert _pretrained.pruning_verdict(collapse).status == "fail"
    assert (
        _pretrained.pruning_verdict({**collapse, "test_acc": [[0.9, 0.9], [0.88, 0.88], [0.5, 0.5]]}).status == "pass"
    )


def test_claims_run_end_to_end_with_plots(tmp_path, monkeypatch):
    tiny = {
        "seeds": 2,
        "side": 12,
        "depth": {"depths": (1, 2), "target_params": 200, "n_train": 100, "n_test": 100, "spec": TrainSpec(5)},
        "residual": {
            "blocks": 1,
            "width": 3,
            "n_train": 100,
            "n_test": 100,
            "loss_target": 5.0,
            "spec": TrainSpec(10, eval_every=5),
        },
        "pretrained": {"arch": ConvArch((3, 3), pools=(0,)), "n_train": 100, "n_test": 100, "pretrain": TrainSpec(5)},
        "adapt": TrainSpec(3),
        "finetune": TrainSpec(2),
    }
    monkeypatch.setitem(emp.PROFILES, "quick", tiny)
    ctx = Context(profile="quick", out_dir=tmp_path)
    checks = {c.id: c for c in DUAT_CLAIMS}
    from checks import Claim

    checks["duat.E18"] = Claim(
        "duat.E18", "s", "src", "numerical", {"quick": 1, "full": 1}, _pretrained.lora_adaptation
    )
    checks["duat.E19"] = Claim("duat.E19", "s", "src", "numerical", {"quick": 1, "full": 1}, _pretrained.pruning_curve)
    for cid in ("duat.E16", "duat.E17", "duat.E18", "duat.E19"):
        res = checks[cid].run(ctx)
        assert res.status in ("pass", "fail"), (cid, res.evidence)
        assert (tmp_path / res.evidence["plot"]).stat().st_size > 1000
        assert "quick profile" in res.note and res.expected["criterion"]


def test_not_testable_claims_have_reasons(tmp_path):
    claims = {c.id: c for c in DUAT_CLAIMS if c.kind in ("numerical", "not-testable")}
    assert {"duat.E16", "duat.E17", "duat.E18", "duat.E19", "duat.E22", "duat.E17.causal", "duat.E16.necessity"} == set(
        claims
    )
    assert claims["duat.E16"].kind == claims["duat.E17"].kind == "numerical"
    for cid in ("duat.E22", "duat.E17.causal", "duat.E16.necessity"):
        assert claims[cid].kind == "not-testable"
        res = claims[cid].run(Context(out_dir=tmp_path))
        assert res.status == "not-testable" and len(res.note) > 80
