"""Under a hard address-space limit, oversized requests end in the package's error, never in a MemoryError or a
kill: each case runs in a child process whose ``RLIMIT_AS`` is set, after torch and numpy are imported, to the
child's current size plus 1.5 GiB (far below what the requests would allocate)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

resource = pytest.importorskip("resource", reason="RLIMIT_AS needs the POSIX resource module")
if not Path("/proc/self/status").exists():
    pytest.skip("reading the process size needs /proc", allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
HEADROOM = 3 << 29  # 1.5 GiB above the child's size once torch and numpy are loaded

_LIMIT = f"""
import resource, sys
import numpy, scipy.sparse, torch
vm = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmSize"))
hard = resource.getrlimit(resource.RLIMIT_AS)[1]
limit = vm + {HEADROOM} if hard == resource.RLIM_INFINITY else min(vm + {HEADROOM}, hard)
resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
"""

_CLI = (
    _LIMIT
    + """
import runpy
sys.argv = ["python -m numerics"] + sys.argv[1:]
runpy.run_module("numerics", run_name="__main__", alter_sys=True)
"""
)

_API = (
    _LIMIT
    + """
import theory, numerics

def refused(name, call, error):
    try:
        call()
    except error as e:
        print(f"{name} REFUSED: {e}", flush=True)
    else:
        print(f"{name} ACCEPTED", flush=True)

refused("gather", lambda: theory.gather(2**30), theory.TheoryError)
refused("to_module", lambda: numerics.to_module(theory.select(2**14, [0, 5], architecture="fcn")),
        numerics.NumericsError)
refused("check_at_scale", lambda: numerics.check_at_scale(theory.select(1024, [3, 900]), "x3, x900", (-1, 1),
                                                          samples=10**12, device="cpu", progress=False),
        numerics.NumericsError)
"""
)


def _child(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
        timeout=120,
    )


@pytest.mark.parametrize("shape", ["3x512x512", "3x2048x2048", "3x100000x100000"])  # the last: x alone is 240 GB
def test_duat_cli_refuses_before_allocating(shape):
    out = _child(_CLI, "duat", "--model", "resnet-basic-block", "--input", shape)
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    assert "Traceback" not in out.stderr and "MemoryError" not in out.stderr
    line = out.stderr.strip().splitlines()[-1]
    assert re.match(r"error: decompose_layers: estimated [0-9.e+]+ [GT]iB for W \(nnz ~ ", line), line
    assert "exceeds memory_budget 4 GiB" in line and "--memory-budget" in line


def test_api_refusals_name_estimate_and_budget():
    out = _child(_API)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in out.stdout.strip().splitlines())
    assert set(lines) == {"gather", "to_module", "check_at_scale"}, out.stdout
    assert all(v.startswith("REFUSED: ") for v in lines.values()), out.stdout
    assert "estimated" in lines["gather"] and "exceeds memory_budget 4 GiB" in lines["gather"]
    assert "for the dense float weights" in lines["to_module"] and "memory_budget 4 GiB" in lines["to_module"]
    assert "max_seconds 600" in lines["check_at_scale"] and "force=True" in lines["check_at_scale"]
