"""checks.verify: proofs, certificates and checks at scale of the constructions.

:data:`CLAIMS` is the catalogue table: ``ww.select.proved`` (z3, induction over levels), ``ww.sparse.approx``
(certified sup-norm bound), ``lemma.yarotsky.square``, ``cert.planted`` (planted violations must be refuted with
real witnesses), and ``num.routing.scale``, ``num.head.bound``, ``num.sparse.scale`` (float evaluation at scale).
The check functions take the builder under test as a keyword argument: :func:`routing_proof`,
:func:`sparse_approx`, :func:`yarotsky_square`, :func:`planted_violations`, :func:`routing_at_scale`,
:func:`heads_at_scale`, :func:`sparse_at_scale`.
"""

from ._at_scale import heads_at_scale, routing_at_scale, sparse_at_scale
from ._catalogue import CLAIMS
from ._proofs import planted_violations, routing_proof, sparse_approx, yarotsky_square

__all__ = [
    "CLAIMS",
    "routing_proof",
    "sparse_approx",
    "yarotsky_square",
    "planted_violations",
    "routing_at_scale",
    "heads_at_scale",
    "sparse_at_scale",
]
