"""cnnverify.checks: every claim as a small record with an executable check, and the reports.

A :class:`Claim` (id, statement, source, kind, cost per profile, ``check(ctx) -> Result``) lives in a
:class:`Registry`; :func:`main` is the command line ``python -m checks`` (``--profile quick|full``,
``--only PATTERN``, ``--list``, ``--out DIR``, ``--seed N``, ``--force``), which writes report.md,
report.json and PNG plots atomically. The claims cover Wang & Wu (NeurIPS 2023) and Wang & Li (DUAT); the
constructions and experiments behind them are our reconstructions (``shared/papers/``).

The claims live in one subpackage per source, each with its catalogue table ``CLAIMS``: :mod:`checks.ww` (Wang &
Wu constructions and learning), :mod:`checks.verify` (proofs, certificates, checks at scale), :mod:`checks.duat`
(the DUAT paper). Public API:

* model: :class:`Claim`, :class:`Context`, :class:`Result`, :data:`STATUSES`, :data:`KINDS`, :data:`PROFILES`,
  :func:`jsonable`, :func:`not_testable`;
* registry: :class:`Registry`, :func:`default_registry`, :data:`REGISTRY` (every claim of the project);
* command line: :func:`main`; reports: :func:`load_document`, :data:`SCHEMA`, :data:`SCHEMA_VERSION`;
  two reports compared claim by claim: :func:`compare_reports` / :class:`ReportDiff` (``--compare OLD NEW``);
* rates: :func:`loglog_slope`, :data:`RATE_BANDS`;
* the check functions, parametrized by the construction under test (tests plant violations):
  :func:`gather_exact`, :func:`universality_depth`, :func:`select_exact`, :func:`select_params`,
  :func:`receptive_stride1`;
* errors: :class:`ChecksError` (a ``ValueError``) for every bad input.
"""

from ._catalogue import default_registry
from ._claim import KINDS, PROFILES, STATUSES, Claim, Context, Result, jsonable, not_testable
from ._cli import main
from ._compare import ReportDiff, compare_reports
from ._errors import ChecksError
from ._rates import RATE_BANDS, RateBand, loglog_slope
from ._registry import Registry
from ._report import SCHEMA, SCHEMA_VERSION, load_document
from .ww import (FORMULAS, cnn_formula, fcn_formula, gather_exact, lcn_formula, receptive_stride1, select_exact,
                 select_params, stride1_forward, universality_depth)
from . import duat, verify, ww

REGISTRY: Registry = default_registry()
"""Every claim of the project, in catalogue order."""

__all__ = [
    "ChecksError", "Claim", "Context", "FORMULAS", "KINDS", "PROFILES", "RATE_BANDS", "REGISTRY", "RateBand",
    "Registry", "Result", "SCHEMA", "SCHEMA_VERSION", "STATUSES", "cnn_formula", "default_registry", "fcn_formula",
    "gather_exact", "jsonable", "lcn_formula", "load_document", "loglog_slope", "main", "receptive_stride1",
    "select_exact", "select_params", "stride1_forward", "universality_depth", "not_testable", "ReportDiff", "compare_reports", "ww", "verify", "duat",
]
