"""cnnverify.checks: every claim as a small record with an executable check, and the reports.

A :class:`Claim` (id, statement, source, kind, cost per profile, ``check(ctx) -> Result``) lives in a
:class:`Registry`; :func:`main` is the command line ``python -m checks`` (``--profile quick|full``,
``--only PATTERN``, ``--list``, ``--out DIR``, ``--seed N``, ``--force``, ``--claims SOURCE``, ``-j N``,
``--no-cache``, ``--compare``), which writes report.html, report.md, report.json and PNG plots atomically.
Anyone's claims are first-class: declare one with :func:`claim` (docs/claims.md), run it with ``python -m checks
--claims mymodule`` or inside pytest (``pytest -p checks.pytest_plugin --claims mymodule``). The claims cover Wang
& Wu (NeurIPS 2023) and Wang & Li (DUAT); the constructions and experiments behind them are our reconstructions
(docs/catalogue.md lists every claim with its source). A claim measured to fail carries a recorded finding per
profile (``Claim.findings``): it still runs and reports ``fail``, and the exit status counts it only if it stops
failing (docs/claims.md).

The package is a folder per concept, in one import order (each may use those before it):

* :mod:`checks.claims`: the claim model (:class:`Claim`, :class:`Context`, :class:`Result`, :func:`claim`),
  plain-JSON data, rate bands, the :class:`Registry` and where claims come from (discovery, the citation strings);
* :mod:`checks.expect`: what check functions use: the one-line checks ``expect_*``, PNG plots, exact helpers;
* :mod:`checks.running`: :func:`run_claims` in worker processes, the result :class:`Cache`;
* :mod:`checks.reporting`: report.json / report.md / report.html, and two reports compared;
* the claims, one subpackage per source, each with its catalogue table ``CLAIMS``: :mod:`checks.ww` (Wang & Wu
  constructions and learning), :mod:`checks.verify` (proofs, certificates, checks at scale), :mod:`checks.duat`
  (the DUAT paper);
* at the root: the command line (``_cli.py``, run by ``__main__.py``), the pytest plugin
  :mod:`checks.pytest_plugin` (a public module path) and the error type (``_errors.py``).

Public API (re-exported here, so no one needs the folders):

* model: :class:`Claim`, :class:`Context`, :class:`Result`, :data:`STATUSES`, :data:`KINDS`, :data:`PROFILES`,
  :func:`jsonable`, :func:`not_testable`; declaring a claim: the decorator :func:`claim`;
* one-line checks: :func:`expect_routing`, :func:`expect_sup_error`, :func:`expect_rate`, :func:`expect_equal`;
* registry and discovery: :class:`Registry`, :func:`default_registry`, :data:`REGISTRY` (every claim of the
  project), :func:`build_registry`, :func:`load_source`, :func:`claims_in`, :data:`BUILTIN`,
  :data:`ENTRY_POINT_GROUP`;
* running: :func:`run_claims` (worker processes, :class:`Outcome`), :class:`Cache` (content-addressed results),
  :func:`default_cache_dir`;
* command line: :func:`main`; reports: :func:`load_document`, :data:`SCHEMA`, :data:`SCHEMA_VERSION`;
  two reports compared claim by claim: :func:`compare_reports` / :class:`ReportDiff` (``--compare OLD NEW``),
  :func:`moved` (observed values that moved by more than their tolerance);
* rates: :func:`loglog_slope`, :data:`RATE_BANDS`, :class:`RateBand`;
* the check functions, parametrized by the construction under test (tests plant violations):
  :func:`gather_exact`, :func:`universality_depth`, :func:`select_exact`, :func:`select_params`,
  :func:`receptive_stride1`; the formulas they compare with: :data:`FORMULAS`, :func:`cnn_formula`,
  :func:`lcn_formula`, :func:`fcn_formula`, :func:`stride1_forward`;
* errors: :class:`ChecksError` (a ``ValueError``) for every bad input.
"""

from . import claims, duat, expect, reporting, running, verify, ww
from ._cli import main
from ._errors import ChecksError
from .claims import (
    BUILTIN,
    ENTRY_POINT_GROUP,
    KINDS,
    PROFILES,
    RATE_BANDS,
    STATUSES,
    Claim,
    Context,
    RateBand,
    Registry,
    Result,
    build_registry,
    claim,
    claims_in,
    default_registry,
    jsonable,
    load_source,
    loglog_slope,
    not_testable,
)
from .expect import expect_equal, expect_rate, expect_routing, expect_sup_error
from .reporting import SCHEMA, SCHEMA_VERSION, ReportDiff, compare_reports, load_document, moved
from .running import Cache, Outcome, default_cache_dir, run_claims
from .ww import (
    FORMULAS,
    cnn_formula,
    fcn_formula,
    gather_exact,
    lcn_formula,
    receptive_stride1,
    select_exact,
    select_params,
    stride1_forward,
    universality_depth,
)

REGISTRY: Registry = default_registry()
"""Every claim of the project, in catalogue order."""

__all__ = [
    "ChecksError",
    "Claim",
    "Context",
    "FORMULAS",
    "KINDS",
    "PROFILES",
    "RATE_BANDS",
    "REGISTRY",
    "RateBand",
    "Registry",
    "Result",
    "SCHEMA",
    "SCHEMA_VERSION",
    "STATUSES",
    "cnn_formula",
    "default_registry",
    "fcn_formula",
    "gather_exact",
    "jsonable",
    "lcn_formula",
    "load_document",
    "loglog_slope",
    "main",
    "receptive_stride1",
    "select_exact",
    "select_params",
    "stride1_forward",
    "universality_depth",
    "not_testable",
    "ReportDiff",
    "compare_reports",
    "moved",
    "ww",
    "verify",
    "duat",
    "claim",
    "expect_routing",
    "expect_sup_error",
    "expect_rate",
    "expect_equal",
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "build_registry",
    "claims_in",
    "load_source",
    "Cache",
    "default_cache_dir",
    "Outcome",
    "run_claims",
]
