"""The project's claims (ids from DESIGN.md, "Claim catalogue"), registered in :func:`default_registry`."""

from __future__ import annotations

from ._cert_claims import planted_violations, routing_proof, sparse_approx, yarotsky_square
from ._claim import Claim
from ._num_claims import heads_at_scale, routing_at_scale, sparse_at_scale
from ._registry import Registry
from ._ww_gather import gather_exact, universality_depth
from ._ww_params import select_params
from ._ww_receptive import receptive_stride1
from ._duat_exact import duat_claims
from ._ww_sample import sample_claims
from ._ww_select import select_exact

WW_UNIVERSALITY = "Wang & Wu 2023, universality with depth O(log d), construction section 4.1 (reconstruction)"
WW_SPARSE = "Wang & Wu 2023, sparse long-range functions, construction section 4.2 (reconstruction)"


def ww_claims() -> list[Claim]:
    """The Wang & Wu (2023) claims implemented so far, each a record around one check function."""
    return [
        Claim("ww.gather.exact",
              "The gather network (L = log_s d shared kernel = stride = s layers) holds relu((-1)^e x[p s^l + r]) "
              "in channel 2r+e at level l, position p; its output is x exactly; n_l C_l = 2d at every level l >= 1; "
              "its float64 torch module is bit-exact.",
              WW_UNIVERSALITY, "exact", {"quick": 0.5, "full": 15.0}, gather_exact),
        Claim("ww.universality.depth",
              "Any two-layer ReLU net x -> a_0 + sum_r a_r relu(w_r . x + c_r) is reproduced exactly by "
              "compose(gather(d, s), head), a CNN of depth log_s d + 2.",
              WW_UNIVERSALITY, "exact", {"quick": 0.1, "full": 3.0}, universality_depth),
        Claim("ww.select.exact",
              "The select network routes x[i_j] to the root exactly for any support (including 0 and d-1): level l, "
              "position p, channel 2j+e holds relu((-1)^e x[p s^l + (i_j mod s^l)]); output j depends on x[i_j] "
              "only; LCN and FCN versions compute the same outputs.",
              WW_SPARSE, "exact", {"quick": 1.0, "full": 20.0}, select_exact),
        Claim("ww.select.params",
              "Tree-layer parameters (no biases) of select: CNN 2ks + (L-1) 4k^2 s = Theta(log d); LCN "
              "sum_l d_l s C_{l-1} C_l = Theta(k^2 d); FCN sum_l N_{l-1} N_l = Theta(d^2) (width Theta(d)).",
              "Wang & Wu 2023, architectures (section 2) and sparse construction counts (section 4.2) "
              "(reconstruction)", "exact", {"quick": 0.3, "full": 1.0}, select_params),
        Claim("ww.receptive.stride1",
              "A stride-1 kernel-s CNN's unit sees 1 + D(s-1) inputs after D layers, so seeing both x_0 and x_{d-1} "
              "needs depth >= ceil((d-1)/(s-1)) = Omega(d); the stride-s tree does it with log_s d layers.",
              "Wang & Wu 2023, depth O(log d) vs Omega(d) for stride-1 CNNs, receptive-field argument "
              "(reconstruction)", "numerical", {"quick": 0.5, "full": 3.0}, receptive_stride1),
    ]


def formal_claims() -> list[Claim]:
    """Claims proved by z3 or certified by interval branch and bound (issue 3)."""
    return [
        Claim("ww.select.proved",
              "For every x in R^d, select(d, support, s) outputs x[support] exactly: proved by z3, one "
              "position-independent lemma per level (shared filters) and induction over the levels, up to d = 2^20.",
              WW_SPARSE, "formal", {"quick": 1.0, "full": 2.0}, routing_proof),
        Claim("ww.sparse.approx",
              "select + a head approximates g(x_S) within a certified sup-norm bound: for each (d, support, g, box, "
              "eps) of a family, approximate_sparse's network has certified sup_box |net - g| <= eps.",
              WW_SPARSE.replace("(reconstruction)", "with standard interpolation heads (reconstruction)"), "formal",
              {"quick": 20.0, "full": 120.0}, sparse_approx),
        Claim("lemma.yarotsky.square",
              "|f_m(x) - x^2| <= 2^(-2m-2) on [0, 1] for the Yarotsky sawtooth network f_m, proved exactly, and tight.",
              "Yarotsky 2017, Error bounds for approximations with deep ReLU networks, Proposition 2 (standard)",
              "formal", {"quick": 1.0, "full": 5.0}, yarotsky_square),
        Claim("cert.planted",
              "Planted violations are caught: a routing weight off by 1e-9, a bound asked 1% below its true value, and "
              "an eps just below a sparse approximant's sup error are each refuted with a counterexample that really "
              "violates.",
              "DESIGN.md, rules for soundness (project claim)", "formal", {"quick": 5.0, "full": 10.0},
              planted_violations),
    ]


def numerical_claims() -> list[Claim]:
    """Constructions evaluated at scale in floats against their bounds (issue 4)."""
    return [
        Claim("num.routing.scale",
              "select and gather route bit-exactly in float32 at scale: the a-priori rounding bound of routing layers "
              "is 0 (+-1 weights, exact zeros), and the structure-aware, dense and Conv1d paths agree bit for bit.",
              WW_SPARSE, "numerical", {"quick": 1.0, "full": 5.0}, routing_at_scale),
        Claim("num.head.bound",
              "Sampled and adversarially searched errors of the heads never exceed their a-priori bounds (witnesses "
              "re-evaluated exactly), and float errors stay within the rounding bound.",
              "Yarotsky 2017 heads (standard); float rounding bound gamma_n (standard)", "numerical",
              {"quick": 2.0, "full": 10.0}, heads_at_scale),
        Claim("num.sparse.scale",
              "A sparse approximant (select + product head) at d = 2^16 (quick) / 2^20 (full) has sampled error within "
              "its a-priori bound <= eps (and within the certified bound in the full profile).",
              WW_SPARSE.replace("(reconstruction)", "with standard interpolation heads (reconstruction)"), "numerical",
              {"quick": 1.0, "full": 15.0}, sparse_at_scale),
    ]


def learning_claims() -> list[Claim]:
    """Sample complexity of CNN / LCN / FCN measured by training, and the equivariance identities (issue 5)."""
    return sample_claims()


def default_registry() -> Registry:
    """A fresh registry holding every claim of the project, in catalogue order."""
    return Registry(ww_claims() + formal_claims() + numerical_claims() + learning_claims() + duat_claims())
