"""The memory budget of the constructions that grow with d: exact nonzero counts, a byte estimate that bounds the
traced peak, and refusals (TheoryError naming the estimate and the budget) before anything is allocated."""

from __future__ import annotations

import tracemalloc

import pytest

import theory
from theory import TheoryError
from theory.constructions._memory import spec_peak
from theory.constructions._routing import gather_nonzeros

BYTES_FACTOR = 3.0
"""The estimate is at most 3x the traced peak here (measured 1.2-1.7)."""


@pytest.mark.parametrize("d,s", [(2, 2), (8, 2), (27, 3), (64, 4), (1024, 2)])
def test_gather_nonzeros_are_exact(d, s):
    assert gather_nonzeros(d, s) == [layer.nonzeros for layer in theory.gather(d, s).layers]


def _traced(build):
    tracemalloc.start()
    try:
        net = build()
        return net, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _units(net):
    return max((n * l.c_out for l, n in zip(net.layers, net.positions[1:]) if l.kind != "dense"), default=0)


@pytest.mark.parametrize("case", ["gather", "gather s=4", "lcn", "fcn", "select fcn"])
def test_estimate_bounds_the_traced_peak(case):
    base = theory.gather(2**12, 2) if case in ("lcn", "fcn") else theory.select(2**14, [0, 9, 2**14 - 1])
    if case == "gather":
        net, peak = _traced(lambda: theory.gather(2**14, 2))
        need = spec_peak(gather_nonzeros(2**14, 2))
    elif case == "gather s=4":
        net, peak = _traced(lambda: theory.gather(4**7, 4))
        need = spec_peak(gather_nonzeros(4**7, 4))
    elif case == "lcn":
        net, peak = _traced(lambda: theory.to_lcn(base))
        need = spec_peak([layer.nonzeros for layer in net.layers])
    else:
        net, peak = _traced(lambda: theory.to_fcn(base))
        need = spec_peak([layer.nonzeros for layer in net.layers], _units(base))
    assert peak <= need <= BYTES_FACTOR * peak, (peak, need)


def test_refusals_come_before_allocating():
    tracemalloc.start()
    with pytest.raises(
        TheoryError,
        match=r"^gather: estimated [0-9.]+ GiB for the spec \(nnz ~ 6\.4e9\) exceeds "
        r"memory_budget 4 GiB; pass memory_budget= / --memory-budget to raise it, "
        r"or use a smaller d$",
    ):
        theory.gather(2**30)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 << 20, f"{peak} bytes traced: the refusal must come before the layers are built"
    with pytest.raises(TheoryError, match="gather: .* exceeds memory_budget 1000 B"):
        theory.gather(2**10, memory_budget=1000)
    with pytest.raises(TheoryError, match="to_fcn: .* exceeds memory_budget 1 MiB"):
        theory.select(2**16, [0, 5], architecture="fcn", memory_budget=1 << 20)
    with pytest.raises(TheoryError, match="to_lcn: .* exceeds memory_budget 1 MiB"):
        theory.to_lcn(theory.gather(2**12), memory_budget=1 << 20)
    small = theory.select(2**10, [0, 5], architecture="lcn", memory_budget=1 << 24)
    assert small.meta["architecture"] == "lcn"


@pytest.mark.parametrize("budget", [0, -1, True, 1.5, "4GiB", 2**63, None])
def test_bad_budget_names_the_argument(budget):
    for call in (
        lambda: theory.gather(8, memory_budget=budget),
        lambda: theory.to_fcn(theory.gather(8), memory_budget=budget),
        lambda: theory.select(8, [1], architecture="lcn", memory_budget=budget),
    ):
        with pytest.raises(TheoryError, match="argument 'memory_budget'"):
            call()
