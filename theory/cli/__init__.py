"""theory.cli: the contract every command line and every public function of the project shares (torch-free).

* errors: :class:`CnnverifyError` (a ``ValueError``), the base of ``theory.TheoryError``,
  ``numerics.NumericsError`` and ``checks.ChecksError``; ``CnnverifyError.bad(arg, value, allowed)`` words every
  message of a bad input;
* exit codes (docs/cli.md): :data:`EXIT_OK`, :data:`EXIT_FAIL`, :data:`EXIT_USAGE`, :data:`EXIT_UNSOUND`,
  :data:`EXIT_PIPE`, :data:`EXIT_CODES`; :func:`run_cli` (a closed standard output ends quietly);
* arguments: :func:`parse_int_list`, :func:`join_option_values`, :func:`parse_size`;
* progress: :class:`ProgressLine`;
* budgets: :data:`MEMORY_BUDGET`, :data:`SCALE_MEMORY_BUDGET`, :data:`MAX_SECONDS`, :func:`check_budget`,
  :func:`check_samples`, :func:`check_seconds`, :func:`plan_samples`, :func:`guard_memory`, :func:`guard_time`,
  :func:`over_budget`, :func:`format_bytes`, :func:`format_count`; the claims' work budgets
  :data:`SUP_ERROR_MAX_WORK` and :data:`PROOF_RLIMIT`. Each takes ``error=``, the caller's error type.
"""

from .._errors import CnnverifyError
from ._budget import (
    MAX_SECONDS,
    MEMORY_BUDGET,
    PROOF_RLIMIT,
    RATE_CEILING,
    SCALE_MEMORY_BUDGET,
    SUP_ERROR_MAX_WORK,
    check_budget,
    check_samples,
    check_seconds,
    format_bytes,
    format_count,
    guard_memory,
    guard_time,
    over_budget,
    parse_size,
    plan_samples,
)
from ._commands import (
    EXIT_CODES,
    EXIT_FAIL,
    EXIT_OK,
    EXIT_PIPE,
    EXIT_UNSOUND,
    EXIT_USAGE,
    join_option_values,
    parse_int_list,
    run_cli,
)
from ._progress import ProgressLine

__all__ = [
    "CnnverifyError",
    "EXIT_OK",
    "EXIT_FAIL",
    "EXIT_USAGE",
    "EXIT_UNSOUND",
    "EXIT_PIPE",
    "EXIT_CODES",
    "run_cli",
    "parse_int_list",
    "join_option_values",
    "parse_size",
    "ProgressLine",
    "MEMORY_BUDGET",
    "SCALE_MEMORY_BUDGET",
    "MAX_SECONDS",
    "RATE_CEILING",
    "SUP_ERROR_MAX_WORK",
    "PROOF_RLIMIT",
    "check_budget",
    "check_samples",
    "check_seconds",
    "plan_samples",
    "guard_memory",
    "guard_time",
    "over_budget",
    "format_bytes",
    "format_count",
]
