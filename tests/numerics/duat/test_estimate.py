"""numerics.duat.estimate_memory against measured decompositions, and the memory_budget guard it drives.

The nonzero counts must be upper bounds (step by step) within a small factor (the bound ignores the zero padding at
the borders and the rows a ReLU mask zeroes, about 2x for post-activation blocks); the bytes must bound the
measured peak within a small factor, once the fixed allowance for libraries' workspaces is taken off. The measured
peak is tracemalloc's (numpy/scipy allocations) plus the high-water mark of the dense torch blocks the composition
holds at once (numerics.duat._accumulate.STATS: tracemalloc does not see torch's allocator; its small
activations are left out).
"""

from __future__ import annotations

import tracemalloc

import pytest
import torch
from torch import nn

from numerics import NumericsError, duat
from numerics.duat import _accumulate, _estimate
from numerics.duat._cli import main as cli_main

CASES = [
    ("resnet-basic-block", (3, 24, 24)),
    ("resnet-preact-block", (3, 20, 20)),
    ("resnet-2-blocks", (3, 12, 12)),
    ("vgg-small", (3, 24, 24)),
    ("vit-block", (8, 64)),
    ("patch-vit", (3, 16, 16)),
]
NNZ_FACTOR = 3.0
"""The bound is at most 3x the measured nonzeros here (measured 1.0-2.2)."""
BYTES_FACTOR = 3.0
"""The byte estimate is at most 3x the measured peak here (measured 1.2-2.0)."""


def _sample(shape):
    return torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


@pytest.mark.parametrize("name,shape", CASES)
def test_nonzeros_bound_every_step(name, shape):
    model, _ = duat.reference_model(name, seed=1)
    est = duat.estimate_memory(model, shape, records=True, cumulative=True)
    d = duat.decompose_layers(model, _sample(shape), cumulative=True)
    assert [s.path for s in est.steps] == [r.path for r in d.layers]
    for step, rec in zip(est.steps, d.layers):
        assert step.out_shape == rec.out_shape
        assert rec.prefix_W._nnz() <= step.nnz, step
        assert rec.matrix is None or rec.matrix._nnz() <= step.local_nnz, step
    assert est.output_shape == d.output_shape
    assert d.nnz <= est.nnz <= NNZ_FACTOR * d.nnz


@pytest.mark.parametrize("name,shape", CASES)
@pytest.mark.parametrize("records", [False, True])
def test_bytes_bound_the_traced_peak(name, shape, records):
    model, _ = duat.reference_model(name, seed=1)
    x = _sample(shape)
    est = duat.estimate_memory(model, shape, records=records)
    tracemalloc.start()
    try:
        duat.decompose_layers(model, x) if records else duat.decompose(model, x)
        peak = tracemalloc.get_traced_memory()[1] + _accumulate.STATS["dense_peak"]
    finally:
        tracemalloc.stop()
    bound = est.peak_bytes - _estimate._OVERHEAD
    assert peak <= bound <= BYTES_FACTOR * peak, (peak, bound)


def test_receptive_field_pattern_is_bounded():
    model, _ = duat.reference_model("resnet-2-blocks", seed=0)
    est = duat.estimate_memory(model, (3, 12, 12), structural=True)
    rf = duat.receptive_field(model, (3, 12, 12))
    assert rf.pattern.nnz <= est.nnz <= NNZ_FACTOR * rf.pattern.nnz


def test_guard_refuses_before_building():
    model, _ = duat.reference_model("resnet-basic-block")
    x = torch.zeros(3, 2048, 2048, dtype=torch.float64)
    with pytest.raises(
        NumericsError,
        match=r"^decompose: estimated [0-9.]+ GiB for W \(nnz ~ [0-9.]+e9\) and its "
        r"intermediates exceeds memory_budget 4 GiB; pass memory_budget=",
    ):
        duat.decompose(model, x)
    with pytest.raises(NumericsError, match="decompose_layers: .* exceeds memory_budget 1 MiB"):
        duat.decompose_layers(model, _sample((3, 16, 16)), memory_budget=1 << 20)
    with pytest.raises(NumericsError, match="receptive_field: .* exceeds memory_budget 4 GiB"):
        duat.receptive_field(model, (3, 2048, 2048))
    est = duat.estimate_memory(model, (3, 16, 16))
    W, _ = duat.decompose(model, _sample((3, 16, 16)), memory_budget=est.peak_bytes)  # the estimate itself fits
    assert W._nnz() <= est.nnz


@pytest.mark.parametrize("budget", [0, -1, True, 1.5, "4GiB", 2**63, None])
def test_bad_budget_names_the_argument(budget):
    with pytest.raises(NumericsError, match="argument 'memory_budget'"):
        duat.decompose(nn.ReLU(), torch.zeros(4, dtype=torch.float64), memory_budget=budget)


def test_unsupported_and_mismatched_layers_are_named():
    with pytest.raises(NumericsError, match="is not supported"):
        duat.estimate_memory(nn.Conv3d(1, 1, 1), (1, 2, 2, 2))
    with pytest.raises(NumericsError, match="0: Conv2d rejected a per-sample input of shape"):
        duat.estimate_memory(nn.Sequential(nn.Conv2d(3, 4, 3)), (2, 8, 8))


def test_cli_budget(capsys):
    assert cli_main(["duat", "--model", "resnet-basic-block", "--input", "3x16x16", "--memory-budget", "1MiB"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: decompose_layers: estimated ")
    assert "exceeds memory_budget 1 MiB; pass memory_budget= / --memory-budget to raise it" in err[0]
    assert cli_main(["duat", "--model", "vgg-small", "--input", "3x8x8", "--memory-budget", "lots"]) == 2
    assert "argument 'memory_budget'" in capsys.readouterr().err
    assert cli_main(["duat", "--model", "vgg-small", "--input", "3x8x8", "--memory-budget", "8GiB"]) == 0
    assert "full autograd Jacobian" in capsys.readouterr().out
