"""TreeArch.module: one member of a trained ensemble as a plain torch module, imported and certified."""

from __future__ import annotations

import pytest
import torch

import numerics
import theory
from numerics import TOLERANCES, NumericsError
from numerics.learning import TrainSettings, TreeArch, train_ensemble


def _perturbed(arch: TreeArch, members: int):
    params = arch.init([torch.Generator().manual_seed(i) for i in range(members)], dtype=torch.float64, device="cpu")
    with torch.no_grad():  # the readout starts at zero: move every tensor so that every layer matters
        for i, p in enumerate(params):
            p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(10 + i), dtype=p.dtype))
    return params


@pytest.mark.parametrize("kind", ["cnn", "lcn", "fcn"])
def test_member_module_computes_the_members_forward(kind):
    """Independent computations: the ensemble's batched forward vs the member's torch layers (float64)."""
    arch = TreeArch(kind, 8, 2, width=3, head_width=4, head_layers=2)
    params = _perturbed(arch, 3)
    x = torch.randn(1, 16, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ref = arch.forward(params, x)
    tol = TOLERANCES["float64_affine"]
    for member in range(3):
        m = arch.module(params, member)
        y = m(x[0] if kind == "fcn" else x[0][:, None, :])[:, 0]
        assert torch.allclose(y, ref[member], atol=tol.atol, rtol=tol.rtol)
        net = numerics.from_torch(m, (8,) if kind == "fcn" else (1, 8))
        assert torch.allclose(numerics.to_module(net)(x[0])[:, 0], ref[member], atol=tol.atol, rtol=tol.rtol)


def test_bad_member_or_params():
    arch = TreeArch("cnn", 8, 2, width=3, head_width=4)
    params = _perturbed(arch, 2)
    with pytest.raises(NumericsError, match="'member'"):
        arch.module(params, 2)
    with pytest.raises(NumericsError, match="'params'"):
        TreeArch("cnn", 8, 2, width=5).module(params, 0)


def test_a_trained_cnn_is_imported_and_certified():
    """Train a small tree CNN on g = x0 x3, import one member exactly, certify its sup error on [-1, 1]^4."""
    arch = TreeArch("cnn", 4, 2, width=4, head_width=8)
    params = arch.init([torch.Generator().manual_seed(0)], dtype=torch.float64, device="cpu")
    x = 2 * torch.rand(1, 256, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64) - 1
    y = x[..., 0] * x[..., 3]
    train_ensemble(
        arch, params, x, y, torch.tensor([0.03], dtype=torch.float64), TrainSettings(max_steps=300, patience=None)
    )
    m = arch.module(params, 0)
    net = numerics.from_torch(m, (1, 4))
    cert = theory.certify_sup_error(net, target="x0*x3", box=(-1, 1), time_limit_s=5)
    assert cert.status == "proved" and cert.lower <= cert.upper
    w = [float(cert.witness[f"x{i}"]) for i in range(4)]  # the witness really has that error, in torch too
    err = abs(float(m(torch.tensor([[w]], dtype=torch.float64)).detach()) - w[0] * w[3])
    tol = TOLERANCES["float64_affine"]
    assert abs(err - float(cert.lower)) <= tol.atol + tol.rtol * float(cert.lower)
