"""Proofs, certificates and checks at scale of the constructions: z3 and branch-and-bound claims, then float
evaluation at scale against the a-priori and certified bounds, and the planted violations that must be caught.
"""

from __future__ import annotations

from ..claims import Claim
from ..claims._sources import PROJECT, WW_SPARSE, WW_SPARSE_HEADS, YAROTSKY, YAROTSKY_FLOAT
from ._at_scale import heads_at_scale, routing_at_scale, sparse_at_scale
from ._proofs import planted_violations, routing_proof, sparse_approx, yarotsky_square

CLAIMS: tuple[Claim, ...] = (
    Claim(
        "ww.select.proved",
        "For every x in R^d, select(d, support, s) outputs x[support] exactly: proved by z3, one "
        "position-independent lemma per level (shared filters) and induction over the levels, up to d = 2^20.",
        WW_SPARSE,
        "formal",
        {"quick": 1.0, "full": 2.0},
        routing_proof,
    ),
    Claim(
        "ww.sparse.approx",
        "select + a head approximates g(x_S) within a certified sup-norm bound: for each (d, support, g, box, eps) "
        "of a family, approximate_sparse's network has certified sup_box |net - g| <= eps.",
        WW_SPARSE_HEADS,
        "formal",
        {"quick": 20.0, "full": 120.0},
        sparse_approx,
    ),
    Claim(
        "lemma.yarotsky.square",
        "|f_m(x) - x^2| <= 2^(-2m-2) on [0, 1] for the Yarotsky sawtooth network f_m, proved exactly, and tight.",
        YAROTSKY,
        "formal",
        {"quick": 1.0, "full": 5.0},
        yarotsky_square,
    ),
    Claim(
        "cert.planted",
        "Planted violations are caught: a routing weight off by 1e-9, a bound asked 1% below its true value, and "
        "an eps just below a sparse approximant's sup error are each refuted with a counterexample that really "
        "violates.",
        PROJECT,
        "formal",
        {"quick": 5.0, "full": 10.0},
        planted_violations,
    ),
    Claim(
        "num.routing.scale",
        "select and gather route bit-exactly in float32 at scale: the a-priori rounding bound of routing layers is "
        "0 (+-1 weights, exact zeros), and the structure-aware, dense and Conv1d paths agree bit for bit.",
        WW_SPARSE,
        "numerical",
        {"quick": 1.0, "full": 5.0},
        routing_at_scale,
    ),
    Claim(
        "num.head.bound",
        "Sampled and adversarially searched errors of the heads never exceed their a-priori bounds (witnesses "
        "re-evaluated exactly), and float errors stay within the rounding bound.",
        YAROTSKY_FLOAT,
        "numerical",
        {"quick": 2.0, "full": 10.0},
        heads_at_scale,
    ),
    Claim(
        "num.sparse.scale",
        "A sparse approximant (select + product head) at d = 2^16 (quick) / 2^20 (full) has sampled error within "
        "its a-priori bound <= eps (and within the certified bound in the full profile).",
        WW_SPARSE_HEADS,
        "numerical",
        {"quick": 1.0, "full": 15.0},
        sparse_at_scale,
    ),
)
