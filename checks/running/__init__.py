"""checks.running: running claims, in this process or in worker processes, and reusing what ran before.

* :func:`run_claims`: runs the chosen claims of a registry (``jobs`` fresh worker processes, longest estimate
  first, results in catalogue order, progress and an ETA), each unit with a private artifact directory;
  returns one :class:`Outcome` per claim;
* :class:`Cache`: the content-addressed result cache (key: claim id, profile, seed, the hash of the code and
  the library versions); :func:`default_cache_dir` (``$CNNVERIFY_CACHE``, else the user's cache directory).
"""

from ._cache import Cache, default_cache_dir
from ._run import Outcome, run_claims

__all__ = ["run_claims", "Outcome", "Cache", "default_cache_dir"]
