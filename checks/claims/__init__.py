"""checks.claims: what a claim is and where claims come from.

A :class:`Claim` is a statement (of a paper, or of our reconstruction of its construction) with an executable
check ``check(ctx) -> Result``; running it never raises (a crash is an ``unknown`` result, docs/soundness.md).

* the model: :class:`Claim`, :class:`Context` (profile, seed, artifact directory, random streams),
  :class:`Result`, :data:`STATUSES`, :data:`KINDS`, :data:`PROFILES`; declaring a claim: the decorator
  :func:`claim`, and :func:`not_testable` for a statement no computation can decide;
* statuses and recorded findings: :func:`status_label`, :func:`finding_state`, :func:`counts_as_failure` (what
  the exit status counts);
* plain-JSON data of results: :func:`jsonable`;
* growth rates: :func:`loglog_slope` and the named bands :data:`RATE_BANDS` (:class:`RateBand`);
* the registry: :class:`Registry`; discovery: :func:`build_registry`, :func:`default_registry`,
  :func:`load_source`, :func:`claims_in`, the project's sources :data:`BUILTIN` and the entry-point group
  :data:`ENTRY_POINT_GROUP`.

The citation strings of the project's claims are in ``_sources.py`` (used by the catalogues of ``checks.ww``,
``checks.verify`` and ``checks.duat``).
"""

from ._claim import KINDS, Claim, counts_as_failure, finding_state, status_label
from ._declare import claim, not_testable
from ._discover import BUILTIN, ENTRY_POINT_GROUP, build_registry, claims_in, default_registry, load_source
from ._json import jsonable
from ._rates import RATE_BANDS, RateBand, loglog_slope
from ._registry import Registry
from ._result import PROFILES, STATUSES, Context, Result

__all__ = [
    "Claim",
    "Context",
    "Result",
    "STATUSES",
    "KINDS",
    "PROFILES",
    "claim",
    "not_testable",
    "status_label",
    "finding_state",
    "counts_as_failure",
    "jsonable",
    "RATE_BANDS",
    "RateBand",
    "loglog_slope",
    "Registry",
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "build_registry",
    "default_registry",
    "load_source",
    "claims_in",
]
