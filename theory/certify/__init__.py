"""theory.certify: sup-norm error certificates by interval branch and bound.

:func:`certify_sup_error` bounds ``sup_box |net - g|`` for any network and whitelisted target: a best-first
search over sub-boxes (``_branch_and_bound``) of the output's cone (``_cone``), rigorous float64 bound
propagation (``_propagate``), activation-pattern enumeration with Farkas-checked pruning (``_patterns``,
``_duals``), interval and Taylor forms of the target (``_intervals``, ``_enclosure``, ``_form_bounds``).
It returns a :class:`theory.prove.Certificate`: the upper bound is always sound, the lower bound is an exact
witness.
"""

from ._certify import SEARCH_METHODS, certify_sup_error

__all__ = ["certify_sup_error", "SEARCH_METHODS"]
