"""The one table of float tolerances. Every float comparison in the project names an entry here.

An entry gives ``atol`` and ``rtol`` (compare ``|a - b| <= atol + rtol * |b|``) and the reason for its size.
A test or check that needs a different value must say why, next to the override.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ._errors import NumericsError


@dataclass(frozen=True)
class Tolerance:
    """A named float tolerance: ``|actual - expected| <= atol + rtol * |expected|``."""

    atol: float
    rtol: float
    reason: str

    def ok(self, actual: torch.Tensor, expected: torch.Tensor) -> bool:
        """Whether the shapes are equal and every entry is within tolerance (NaN never is).

        Raises:
            NumericsError: when the shapes differ (no broadcasting: a wrong-shaped output must not pass).
        """
        if tuple(actual.shape) != tuple(expected.shape):
            raise NumericsError(
                f"argument 'actual': shape {tuple(actual.shape)} differs from expected shape "
                f"{tuple(expected.shape)}; allowed: equal shapes"
            )
        return bool(torch.all(torch.abs(actual - expected) <= self.atol + self.rtol * torch.abs(expected)))


TOLERANCES: dict[str, Tolerance] = {
    "routing_exact": Tolerance(
        0.0, 0.0, "routing layers multiply by +-1 and add exact zeros; the float result is bit-exact for finite inputs"
    ),
    "float64_affine": Tolerance(
        1e-12,
        1e-12,
        "float64 sums of up to ~1e3 terms of size <= 1e3: rounding is <= n * 2^-53 * sum|terms| ~ 1e-10 worst "
        "case; typical accumulated error stays below 1e-12 relative for the sizes tested",
    ),
    "duat_order_float64": Tolerance(
        1e-12,
        1e-12,
        "the same float64 products of a DUAT decomposition summed in another order (forward vs reverse "
        "accumulation, sparse scipy vs dense torch kernels, chunks): re-association of sums of <= ~1e4 O(1) "
        "terms differs by ~1e-14; any wrong index or factor differs by O(1e-2..1)",
    ),
    "float32_affine": Tolerance(
        1e-4, 1e-4, "float32 (2^-24 ~ 6e-8 per operation) over depth <= 20 and sums of <= 1e3 terms"
    ),
    "equivariance_float64": Tolerance(
        1e-9,
        1e-9,
        "two float64 trainings that agree in exact arithmetic (a rotated initialisation on rotated data) drift apart "
        "only by rounding: ~1e-16 per operation, amplified by a few hundred optimizer steps through layers of "
        "Lipschitz constant O(1); observed ~1e-13, so 1e-9 leaves margin while an O(1e-2) disagreement fails",
    ),
    "weight_rounding_float32": Tolerance(
        0.0, 2.0**-24, "a correctly rounded float32 weight is within half an ulp: relative error <= 2^-24"
    ),
    "weight_rounding_float64": Tolerance(
        0.0, 2.0**-53, "a correctly rounded float64 weight is within half an ulp: relative error <= 2^-53"
    ),
    "onnx_reordering_float64": Tolerance(
        2.0**-48,
        0.0,
        "onnxruntime and torch compute the same float64 weights with the same operations but sum each dot product "
        "in their own order, so outputs of O(1) (inputs in [-1, 1], small d) differ by a few roundings of O(1) "
        "intermediates; measured <= 2^-52 on the exported test networks, 16x margin; absolute, since outputs near 0 "
        "cancel and a relative bound would be meaningless there",
    ),
    "onnx_reordering_float32": Tolerance(
        2.0**-18,
        0.0,
        "as onnx_reordering_float64, in float32: measured <= 2^-22 on the exported test networks, 16x margin",
    ),
    "vnnlib_margin": Tolerance(
        2.0**-10,
        0.0,
        "default margin tol of a VNN-LIB property (numerics.peers): the query asks for |Y_j - t_j(X)| >= eps + tol, "
        "since a strict inequality cannot be stated and a peer that computes in floats needs room for its own "
        "tolerances. Marabou 2.0 returned sat points that miss its own equations by ~1e-6 (margin 2^-20 gave sat "
        "points with exact error 0 on correct routing networks), so 2^-10 (~1e-3, exact in decimal) leaves a factor "
        "~1000; an error below the margin is left to the exact checks",
    ),
}
