"""checks.expect: what a check function uses to compare what it observed with what it expected, and to show it.

* one-line checks, each a whole check returning a :class:`checks.Result` (docs/claims.md):
  :func:`expect_routing`, :func:`expect_sup_error`, :func:`expect_rate`, :func:`expect_equal`;
* PNG plots a check writes into its artifact directory (matplotlib Agg canvas, written atomically):
  :func:`line_plot` (measured points and formula lines, log axes, a shaded fit window), :func:`errorbar_plot`
  (per-seed values with their spread).

The project's check functions also share small exact helpers in ``_exact.py``: exact random rationals, tree depths
computed independently, level-by-level mismatches and the counterexamples kept in a result's evidence.
"""

from ._expect import expect_equal, expect_rate, expect_routing, expect_sup_error
from ._plots import errorbar_plot, line_plot

__all__ = ["expect_routing", "expect_sup_error", "expect_rate", "expect_equal", "line_plot", "errorbar_plot"]
