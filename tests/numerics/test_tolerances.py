"""The named float tolerances (numerics.TOLERANCES)."""

from __future__ import annotations

import pytest
import torch

import numerics
from numerics import NumericsError


def test_tolerance_ok_requires_equal_shapes():
    tol = numerics.TOLERANCES["float64_affine"]
    assert tol.ok(torch.ones(3), torch.ones(3))
    assert not tol.ok(torch.ones(3), torch.full((3,), 2.0))
    with pytest.raises(NumericsError, match="shape"):
        tol.ok(torch.ones(3, 1), torch.ones(3, 5))  # broadcasting would have let a wrong shape pass
