"""theory.check: an independent checker of certificates, re-verifying a proof object without searching.

:func:`check_certificate` re-derives every fact a sup-norm certificate's cover rests on with its own small kernel:
python-flint ``arb`` balls and exact rationals (the searches use numpy outward rounding), its own exact evaluation
of the network's cone (:mod:`._net`), enclosures of the target (:mod:`._target`) and bounds per region
(:mod:`._regions`), the cover tree read as untrusted data (:mod:`._tree`), the box and Kuhn frames (:mod:`._frames`);
z3 proofs go to a second kernel, :mod:`.solver` (queries regenerated, answered by cvc5). Nothing is imported from
the searches (a test keeps it so). The outcome is a :class:`CheckReport`: accepted, rejected, unproven or unsupported.
"""

from ._check import CHECKED_METHODS, MAX_SPLITS, check_certificate
from ._report import CHECK_VERDICTS, CheckReport

__all__ = ["check_certificate", "CheckReport", "CHECK_VERDICTS", "CHECKED_METHODS", "MAX_SPLITS"]
