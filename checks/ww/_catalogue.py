"""The Wang & Wu (2023) construction and learning claims (ids as listed in docs/catalogue.md).

Exact claims about the constructions (gather, universality, select, parameter counts, receptive fields), then the
learning claims (sample complexity by training, equivariance of training). Their z3 proofs, certificates and
checks at scale are in ``checks.verify``.
"""

from __future__ import annotations

from ..claims import Claim
from ..claims._sources import WW_EQUIVARIANCE, WW_PARAMS, WW_RECEPTIVE, WW_SAMPLE, WW_SPARSE, WW_UNIVERSALITY
from ._fig2 import CNN_LEARNS_SPARSE
from ._gather import gather_exact, universality_depth
from ._learning import equivariance_cnn, equivariance_fcn, equivariance_lcn, sample_cnn, sample_fcn, sample_lcn
from ._params import select_params
from ._receptive import receptive_stride1
from ._select import select_exact

CLAIMS: tuple[Claim, ...] = (
    Claim(
        "ww.gather.exact",
        "The gather network (L = log_s d shared kernel = stride = s layers) holds relu((-1)^e x[p s^l + r]) in "
        "channel 2r+e at level l, position p; its output is x exactly; n_l C_l = 2d at every level l >= 1; its "
        "float64 torch module is bit-exact.",
        WW_UNIVERSALITY,
        "exact",
        {"quick": 0.5, "full": 15.0},
        gather_exact,
    ),
    Claim(
        "ww.universality.depth",
        "Any two-layer ReLU net x -> a_0 + sum_r a_r relu(w_r . x + c_r) is reproduced exactly by "
        "compose(gather(d, s), head), a CNN of depth log_s d + 2.",
        WW_UNIVERSALITY,
        "exact",
        {"quick": 0.1, "full": 3.0},
        universality_depth,
    ),
    Claim(
        "ww.select.exact",
        "The select network routes x[i_j] to the root exactly for any support (including 0 and d-1): level l, "
        "position p, channel 2j+e holds relu((-1)^e x[p s^l + (i_j mod s^l)]); output j depends on x[i_j] only; "
        "LCN and FCN versions compute the same outputs.",
        WW_SPARSE,
        "exact",
        {"quick": 1.0, "full": 20.0},
        select_exact,
    ),
    Claim(
        "ww.select.params",
        "Tree-layer parameters (no biases) of select: CNN 2ks + (L-1) 4k^2 s = Theta(log d); LCN sum_l d_l s "
        "C_{l-1} C_l = Theta(k^2 d); FCN sum_l N_{l-1} N_l = Theta(d^2) (width Theta(d)).",
        WW_PARAMS,
        "exact",
        {"quick": 0.3, "full": 1.0},
        select_params,
    ),
    Claim(
        "ww.receptive.stride1",
        "A stride-1 kernel-s CNN's unit sees 1 + D(s-1) inputs after D layers, so seeing both x_0 and x_{d-1} "
        "needs depth >= ceil((d-1)/(s-1)) = Omega(d); the stride-s tree does it with log_s d layers.",
        WW_RECEPTIVE,
        "numerical",
        {"quick": 0.5, "full": 3.0},
        receptive_stride1,
    ),
    Claim(
        "ww.sample.cnn",
        "A deep CNN learns the patch-quadratic task with n*(d) = O~(log^2 d) samples: its fitted log-log slope is "
        "small (<= 0.75) and at most half the LCN's; n*_CNN < n*_LCN at the largest d.",
        WW_SAMPLE,
        "empirical-rate",
        {"quick": 90.0, "full": 1800.0},
        sample_cnn,
        group="ww.sample",
        findings={
            "full": "not reproduced: the CNN's n* jumps at d = 256 (about 2860 after 782 at d = 128), so its "
            "slope over d = 16..256 is 0.90, above 0.75 (with init scale 0.1 as well); README, "
            "'Full profile' and 'Re-run with init scale 0.1'"
        },
    ),
    Claim(
        "ww.sample.lcn",
        "An LCN (no weight sharing) needs n*(d) = Theta~(d): slope near 1; n*_CNN < n*_LCN < n*_FCN at the largest d.",
        WW_SAMPLE,
        "empirical-rate",
        {"quick": 90.0, "full": 1800.0},
        sample_lcn,
        group="ww.sample",
    ),
    Claim(
        "ww.sample.fcn",
        "An FCN needs n*(d) = Omega(d^2): slope near 2; n*_LCN < n*_FCN at the largest d.",
        WW_SAMPLE,
        "empirical-rate",
        {"quick": 90.0, "full": 1800.0},
        sample_fcn,
        group="ww.sample",
    ),
    CNN_LEARNS_SPARSE,
    Claim(
        "ww.equivariance.fcn",
        "Gradient training of an FCN from Gaussian init is O(d)-equivariant: from U W_0 on (UX, y) it yields f_U "
        "with f_U(Ux) = f(x) to float64 precision.",
        WW_EQUIVARIANCE,
        "numerical",
        {"quick": 2.0, "full": 10.0},
        equivariance_fcn,
    ),
    Claim(
        "ww.equivariance.lcn",
        "LCN training is equivariant under block-orthogonal U = diag(U_1, ..., U_{d/s}) with independent blocks "
        "(first-layer filters W_p -> U_p W_p).",
        WW_EQUIVARIANCE,
        "numerical",
        {"quick": 2.0, "full": 10.0},
        equivariance_lcn,
    ),
    Claim(
        "ww.equivariance.cnn",
        "CNN training is equivariant only under the diagonal subgroup U = diag(U_0, ..., U_0) (shared filters); "
        "under independent per-patch blocks no shared-filter transform reproduces it.",
        WW_EQUIVARIANCE,
        "numerical",
        {"quick": 4.0, "full": 20.0},
        equivariance_cnn,
    ),
)
