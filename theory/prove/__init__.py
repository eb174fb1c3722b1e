"""theory.prove: z3 proofs about exactly these weights, and the certificate record they produce.

* the record: :class:`Certificate` (what, about which spec hash, under which assumptions, by which method, the
  bound, a witness, timings, library versions; JSON round trip), :data:`CERTIFICATE_STATUSES`, :data:`CERTIFICATE_METHODS`,
  :func:`library_versions`;
* :func:`prove_routing`: a routing network outputs ``x[support]``, one lemma per level and induction;
* :func:`encode`, :func:`prove_equivalent_monolithic`: one z3 query over the output's cone;
* :func:`prove_bound`: a head's sup-norm error against a polynomial target; :func:`sympy_to_z3`;

Every proof keeps its z3 queries as SMT-LIB 2 (:meth:`Certificate.smtlib`) for the record; the independent checker
(:func:`theory.check_certificate`) re-checks a proof by regenerating its queries, never by running that text.

"proved" only when z3 said so; a timeout or z3 "unknown" is ``unknown`` (docs/soundness.md).
"""

from ._bound import prove_bound, sympy_to_z3
from ._certificate import CERTIFICATE_METHODS, CERTIFICATE_STATUSES, Certificate, library_versions
from ._encode import encode, prove_equivalent_monolithic
from ._routing import prove_routing

__all__ = [
    "Certificate",
    "CERTIFICATE_STATUSES",
    "CERTIFICATE_METHODS",
    "library_versions",
    "prove_routing",
    "encode",
    "prove_equivalent_monolithic",
    "prove_bound",
    "sympy_to_z3",
]
