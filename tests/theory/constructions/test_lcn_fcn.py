"""to_lcn and to_fcn: the same function without weight sharing or without locality, checked against the naive
dense evaluator of ``tests/theory/naive.py`` on random networks, with the parameter counts of the Wang & Wu (2023)
architectures (reconstruction, docs/catalogue.md).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import theory
from tests.theory.naive import as_arg, flat, naive_dependencies, naive_forward, random_input, random_network


@given(net=random_network(kinds=("conv", "pointwise")), seed=st.integers(0, 2**32))
def test_to_lcn_and_to_fcn_preserve_the_function(net, seed):
    lcn, fcn = theory.to_lcn(net), theory.to_fcn(net)
    assert lcn.kinds == tuple("local" if k == "conv" else k for k in net.kinds)
    assert fcn.kinds == ("dense",) * net.depth
    for other in (lcn, fcn):
        assert other.positions == net.positions and other.channels == net.channels
        assert [layer.relu for layer in other.layers] == [layer.relu for layer in net.layers]
    x = random_input(net, seed)
    want = flat(naive_forward(net, x)[-1])
    assert theory.evaluate_exact(net, as_arg(net, x)) == want
    assert theory.evaluate_exact(lcn, as_arg(net, x)) == want
    assert theory.evaluate_exact(fcn, as_arg(net, x)) == want
    assert flat(naive_forward(lcn, x)[-1]) == want
    assert flat(naive_forward(fcn, x)[-1]) == want
    # Parameter counts the architectures imply (docs/catalogue.md): CNN filters once, LCN per output position,
    # FCN N_{l-1} N_l with N_l = n_l C_l.
    n, C = net.positions, net.channels
    for biases in (False, True):
        b = int(biases)
        cnn_count = sum(
            (n[i - 1] // n[i]) * C[i - 1] * C[i] + b * C[i] if kind == "conv" else C[i - 1] * C[i] + b * C[i]
            for i, kind in enumerate(net.kinds, start=1)
        )
        lcn_count = sum(
            n[i] * ((n[i - 1] // n[i]) * C[i - 1] * C[i] + b * C[i]) if kind == "conv" else C[i - 1] * C[i] + b * C[i]
            for i, kind in enumerate(net.kinds, start=1)
        )
        fcn_count = sum(n[i - 1] * C[i - 1] * n[i] * C[i] + b * n[i] * C[i] for i in range(1, net.depth + 1))
        assert net.param_count(biases) == cnn_count
        assert lcn.param_count(biases) == lcn_count
        assert fcn.param_count(biases) == fcn_count
    # Nonzeros: a shared filter is stored once per position after untying / densifying.
    lcn_nnz = sum(
        n[i] * layer.nonzeros if layer.kind == "conv" else layer.nonzeros for i, layer in enumerate(net.layers, start=1)
    )
    fcn_nnz = sum(n[i] * layer.nonzeros for i, layer in enumerate(net.layers, start=1))
    assert lcn.nonzeros == lcn_nnz
    assert fcn.nonzeros == fcn_nnz
    assert [set(f.tolist()) for f in fcn.receptive_field()] == naive_dependencies(net)


@given(net=random_network(), seed=st.integers(0, 2**32))
def test_to_fcn_of_any_network(net, seed):
    fcn = theory.to_fcn(net)
    x = random_input(net, seed)
    assert theory.evaluate_exact(fcn, as_arg(net, x)) == flat(naive_forward(net, x)[-1])
    assert theory.to_fcn(fcn) == fcn


def test_to_lcn_and_to_fcn_keep_meta_and_mark_architecture():
    net = theory.gather(8)
    lcn, fcn = theory.to_lcn(net), theory.to_fcn(net)
    assert lcn.meta["construction"] == fcn.meta["construction"] == "gather"
    assert lcn.meta["architecture"] == "lcn" and fcn.meta["architecture"] == "fcn"
    assert theory.to_lcn(lcn) == lcn
