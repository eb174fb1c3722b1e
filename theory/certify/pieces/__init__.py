"""theory.certify.pieces: certificates that use the construction's own pieces.

For a network built as a Kuhn interpolation head (``pl_head``, or ``approximate_sparse`` with such a head) or a
Yarotsky product ``x0 * x1`` (a grid in the rotated coordinates ``x0 + x1``, ``x0 - x1``), the sup-norm
certificate is split in two exact steps instead of one general search:

1. the network equals the piecewise-linear interpolant of its own vertex values on the Kuhn triangulation of
   the grid named by its construction record (:mod:`._exact_check`: exact integer arithmetic, every ReLU's sign
   on every grid edge, wide cones tile by tile with their live units, :mod:`._live`); the record only says
   which grid to check, nothing is taken from it;
2. ``sup |A_S - g|`` over every simplex ``S``, with interval Taylor / mean-value forms of ``g`` vectorised over
   all simplices and only the pieces near the maximum refined (:mod:`._simplex_bound`).

A network for which step 1 fails (or that names no grid) goes to the general branch and bound; the
certificate records which method ran and why. :func:`certify_pieces` runs both steps and returns a
:class:`PieceResult`, the piecewise implementation of the sup-search interface
(:class:`theory.certify._sup_search.SupSearch`; :mod:`._result`). :func:`pieces_rounding` turns step 1's exact
values into a per-cell float rounding bound (float semantics of :func:`theory.certify_sup_error`; :mod:`._rounding`).
"""

from ._exact_check import GridCheck, check_grid
from ._grid import Grid, grid_hypothesis
from ._result import METHOD, PieceResult, certify_pieces
from ._rounding import pieces_rounding
from ._simplex_bound import PieceSearch

__all__ = [
    "Grid",
    "GridCheck",
    "check_grid",
    "grid_hypothesis",
    "PieceSearch",
    "PieceResult",
    "certify_pieces",
    "pieces_rounding",
    "METHOD",
]
