"""theory.certify: sup-norm error certificates by interval branch and bound.

:func:`certify_sup_error` bounds ``sup_box |net - g|`` for any network and whitelisted target: a best-first
search over sub-boxes (``_branch_and_bound``; box states ``_box_state``, per-box bounds ``_batch_bounds``,
lower-bound candidates ``_candidates``) of the output's cone (``_cone``), rigorous float64 bound propagation
(``_propagate``, per-box simplification ``_simplify``), activation-pattern enumeration with Farkas-checked
pruning (``_patterns``, ``_duals``), interval and Taylor forms of the target (outward-rounded arithmetic
``_intervals``, elementary functions ``_elementary``, the expression compiler ``_interval_eval``,
``_enclosure``, ``_form_bounds``), or the piecewise certificate of :mod:`theory.certify.pieces`.
It returns a :class:`theory.prove.Certificate`: the upper bound is always sound, the lower bound is an exact
witness. Both searches implement :class:`SupSearch` (``_sup_search``), the written interface the certificate
is assembled from (``_assemble``).
"""

from ._certify import SEARCH_METHODS, certify_sup_error
from ._sup_search import BUDGET_KEYS, SupSearch

__all__ = ["certify_sup_error", "SEARCH_METHODS", "SupSearch", "BUDGET_KEYS"]
