"""benchmarks/ablation.py --quick: every cell of a setting is computed and stored, the derived learning-rate cells
are the baseline's own members, a resumed run keeps what is stored, and the plot is written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "benchmarks" / "ablation.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--seeds", "1", "--threads", "1", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_quick_run_of_setting_c_stores_every_cell(tmp_path):
    out = tmp_path / "abl.json"
    run = _run("--setting", "C", "--out", str(out))
    assert run.returncode == 0, run.stderr
    cells = json.loads(out.read_text())["cells"]["C patch-quadratic"]
    expected = {"baseline="} | {
        f"{f}={label}"
        for f, label in [
            ("init_scale", "0.1"),
            ("init_scale", "0.03"),
            ("init_scale", "0.01"),
            ("init_scale", "3"),
            ("optimizer", "sgd"),
            ("lr", "0.01"),
            ("lr", "0.03"),
            ("lr", "0.1"),
            ("stopping", "none"),
            ("width", "16"),
            ("readout", "gaussian"),
            ("weight_decay", "1e-3"),
            ("weight_decay", "1e-2"),
        ]
    }
    assert set(cells) == expected
    base = cells["baseline="]
    for lr in (0.01, 0.03, 0.1):  # a fixed-lr cell is the baseline member trained at that lr, not a new training
        assert cells[f"lr={lr}"]["median"] == base["all_test_rel"][0][base["lrs"].index(lr)]
    assert out.with_suffix(".png").stat().st_size > 0
    stamp = out.stat().st_mtime_ns
    again = _run("--setting", "C", "--out", str(out), "--resume")  # nothing left to train: the store is unchanged
    assert again.returncode == 0, again.stderr
    assert json.loads(out.read_text())["cells"]["C patch-quadratic"] == cells
    assert "C patch-quadratic" in again.stdout and out.stat().st_mtime_ns == stamp


def test_resume_refuses_a_store_of_another_seed_count(tmp_path):
    out = tmp_path / "abl.json"
    out.write_text(json.dumps({"seeds": 3, "quick": True, "cells": {}}))
    run = _run("--setting", "C", "--out", str(out), "--resume")
    assert run.returncode == 2 and "other --seeds" in run.stderr
