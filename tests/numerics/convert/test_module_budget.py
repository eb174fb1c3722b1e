"""to_module's memory_budget: the estimate (dense float weights plus the staging of the largest array) bounds the
measured growth of a fresh process, and specs above the budget are refused before any weight is allocated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import numerics
import theory
from numerics import NumericsError
from numerics.convert._module import module_bytes

REPO = Path(__file__).resolve().parents[3]
BYTES_FACTOR = 1.5
"""The estimate is at most 1.5x the measured growth for a spec whose dense weights dominate (measured 1.02-1.1)."""

_RSS = """
import os, resource, sys, torch, theory, numerics
from numerics.convert._module import module_bytes
net = theory.select(2**12, [0, 5], architecture="fcn")
(torch.zeros(4) + 1).sum()
# the baseline is the resident set now, not the high-water mark: an import's transient peak (it varies between
# runs) would otherwise hide part of the growth
base = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
numerics.to_module(net, sys.argv[1])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base, module_bytes(net, sys.argv[1]))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads the resident set from /proc (Linux)")
def test_estimate_bounds_the_measured_growth():
    out = subprocess.run(
        [sys.executable, "-c", _RSS, "float32"],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    grew, need = map(int, out.stdout.split())
    assert grew <= need <= BYTES_FACTOR * grew, (grew, need)


def test_huge_dense_spec_is_refused_before_allocating():
    fcn = theory.select(2**14, [0, 5], architecture="fcn")  # dense layers of 2^29 + 2^29 + ... entries
    with pytest.raises(
        NumericsError,
        match=r"^to_module: estimated [0-9.]+ GiB for the dense float weights "
        r"\(float64, 1\.3e9 entries\) exceeds memory_budget 4 GiB; pass "
        r"memory_budget= / --memory-budget to raise it, or use a CNN spec",
    ):
        numerics.to_module(fcn)


def test_budget_is_the_estimate():
    net = theory.select(2**8, [0, 5], architecture="lcn")
    need = module_bytes(net, "float32")
    assert need > numerics.float_bytes(net, "float32")
    numerics.to_module(net, "float32", memory_budget=need)
    with pytest.raises(NumericsError, match="exceeds memory_budget"):
        numerics.to_module(net, "float32", memory_budget=need - 1)


@pytest.mark.parametrize("budget", [0, -5, True, 2.5, "1GiB", 2**63, None])
def test_bad_budget_names_the_argument(budget):
    with pytest.raises(NumericsError, match="argument 'memory_budget'"):
        numerics.to_module(theory.gather(4), memory_budget=budget)
