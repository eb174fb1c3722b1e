"""benchmarks/gpu_separation.sh on a machine without CUDA: a clear message, a nonzero exit, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present: the script would run the sweep")
def test_gpu_script_refuses_without_cuda(tmp_path):
    out = tmp_path / "sweep"
    run = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_separation.sh"), str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert "no CUDA device" in run.stderr and "--profile full" in run.stderr
    assert not out.exists()
