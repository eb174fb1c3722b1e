"""numerics.duat._accumulate: the product order (forward / reverse), sparse vs dense blocks, chunks, and the
reconstruction check that catches a wrong local map.

Tolerance: TOLERANCES["duat_order_float64"]: the same float64 products summed in another order (or by another
kernel) differ by re-association only.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from numerics import TOLERANCES, NumericsError, duat
from numerics.duat import _accumulate, _maps
from numerics.duat._accumulate import compose
from numerics.duat._decompose import prepare
from numerics.duat._graph import build_graph
from numerics.duat.layers import _dispatch
from tests.numerics.duat.helpers import prep, randn
from tests.numerics.duat.resnets import Block, Functional, ResNet18

ORDER = TOLERANCES["duat_order_float64"]

MODELS = [
    (lambda: Block(3, 6, 2), (3, 8, 8)),
    (lambda: ResNet18(num_classes=4, width=4), (3, 16, 16)),
    (lambda: duat.vgg_small(2, 3), (2, 8, 8)),
    (lambda: duat.ViTBlock(16, 4, 2), (6, 16)),
    (lambda: nn.Sequential(duat.PatchEmbed(3, 16, 4), duat.ViTBlock(16, 2, 2)), (3, 8, 8)),
    (Functional, (2, 6, 6)),
    (lambda: nn.Sequential(nn.Conv1d(2, 3, 4, 2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(27, 2)), (2, 18)),
]


def _graph(make, shape, seed=0):
    model, x = prepare(prep(make(), seed), randn(shape, seed + 1))
    return model, x, build_graph(model, x)


def _close(a, b):
    return ORDER.ok(
        torch.from_numpy(np.asarray(a.toarray() if hasattr(a, "toarray") else a)),
        torch.from_numpy(np.asarray(b.toarray() if hasattr(b, "toarray") else b)),
    )


@pytest.mark.parametrize("make,shape", MODELS)
def test_forward_and_reverse_order_give_the_same_W(make, shape):
    _, _, g = _graph(make, shape)
    wf, bf, _ = compose(g, order="forward")
    wr, br, _ = compose(g, order="reverse")
    assert _close(wf, wr) and _close(bf, br)


@pytest.mark.parametrize("make,shape", MODELS)
@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_sparse_and_dense_blocks_and_chunks_agree(make, shape, order, monkeypatch):
    _, _, g = _graph(make, shape)
    monkeypatch.setattr(_accumulate, "_DENSE_FILL", 2.0)  # never dense
    ws, bs, _ = compose(g, order=order)
    monkeypatch.setattr(_accumulate, "_DENSE_FILL", 0.0)  # dense from the first product
    monkeypatch.setattr(_accumulate, "_BLOCK_ENTRIES", 7 * max(n.n for n in g.nodes))  # chunks of 7 vectors
    wd, bd, _ = compose(g, order=order)
    assert _close(ws, wd) and _close(bs, bd)


@pytest.mark.parametrize("make,shape", MODELS)
def test_every_maps_batched_operator_equals_its_index_formula_matrix(make, shape):
    _, _, g = _graph(make, shape)
    gen = torch.Generator().manual_seed(0)
    for node in g.nodes[1:]:
        for m in node.maps:
            L = torch.from_numpy(m.csr().toarray())
            xf = torch.randn(3, m.n_in, generator=gen, dtype=torch.float64)
            xb = torch.randn(3, m.n_out, generator=gen, dtype=torch.float64)
            assert ORDER.ok(m.fwd(xf), xf @ L.T), node.path
            assert ORDER.ok(m.bwd(xb), xb @ L), node.path
    kinds = {type(m) for node in g.nodes for m in node.maps}
    assert kinds & {_maps.Gather, _maps.Matrix, _maps.Conv}


def test_order_is_chosen_by_shape():
    d = duat.decompose_layers(prep(duat.vgg_small(2, 3)), randn((2, 8, 8), 0))
    assert d.order == "reverse"  # 3 outputs < 128 inputs
    d = duat.decompose_layers(prep(duat.BasicBlock(2, 4)), randn((2, 6, 6), 0))
    assert d.order == "forward"
    d = duat.decompose_layers(prep(duat.vgg_small(2, 3)), randn((2, 8, 8), 0), cumulative=True)
    assert d.order == "forward" and d.layers[-1].prefix_W is not None  # prefix maps need forward order


def test_a_planted_wrong_local_map_is_caught(monkeypatch):
    model, x = prep(duat.BasicBlock(2, 4)), randn((2, 6, 6), 3)
    duat.decompose(model, x)
    real = _dispatch.LEAVES[nn.BatchNorm2d]

    def wrong(module, h, path, structural):  # every scale off by 1 %
        lm = real(module, h, path, structural)
        m = lm.matrix.copy()
        m.data *= 1.01
        return type(lm)(m, lm.bias, lm.out, m, lm.factors)

    monkeypatch.setitem(_dispatch.LEAVES, nn.BatchNorm2d, wrong)
    with pytest.raises(NumericsError, match=r"max\|f\(x\) - \(W x \+ b\)\| = .*do not reproduce forward\(\)"):
        duat.decompose(model, x)
    monkeypatch.setattr(_maps.Conv, "bwd", lambda self, r: 1.01 * _maps.Matrix(self.csr()).bwd(r))
    with pytest.raises(NumericsError, match="do not reproduce forward"):
        duat.decompose(prep(duat.vgg_small(2, 3)), randn((2, 8, 8), 0))  # reverse order, dense conv kernels
