"""The one-line checks run on work budgets: a search stopped by ``max_work`` is ``unknown`` with ``stopped_by ==
"work"`` in the evidence, at the same point on every machine, so the same call gives the same result."""

from __future__ import annotations

import checks
import theory
from checks.expect._expect import PROOF_RLIMIT, SUP_ERROR_MAX_WORK

TIMING_KEYS = {"seconds"}
"""Evidence keys that may differ between two runs of the same call (none of them decides anything)."""


def _untimed(evidence: dict) -> dict:
    return {k: v for k, v in evidence.items() if k not in TIMING_KEYS}


def test_a_tiny_work_budget_is_unknown_stopped_by_work_and_reproducible():
    head = theory.product_head(4)  # at eps = its exact bound: the piecewise search must refine to decide
    first = checks.expect_sup_error(head.net, "x0*x1", head.box, head.bound, max_work=1)
    assert first.status == "unknown" and first.observed["status"] == "unknown"
    assert first.evidence["stopped_by"] == "work"
    assert first.evidence["work"] == first.evidence["max_work"] == 1
    again = checks.expect_sup_error(head.net, "x0*x1", head.box, head.bound, max_work=1)
    assert _untimed(again.evidence) == _untimed(first.evidence)
    assert again.observed == first.observed and again.status == first.status


def test_the_defaults_are_work_budgets_and_a_finished_search_records_them():
    net = theory.compose(theory.select(16, [5], 2), theory.square_head(m=3))
    r = checks.expect_sup_error(net, "x5**2", (0, 1), "1/128")
    assert r.status == "pass" and r.evidence["max_work"] == SUP_ERROR_MAX_WORK
    assert r.evidence["stopped_by"] is None and 0 <= r.evidence["work"] <= SUP_ERROR_MAX_WORK
    assert isinstance(PROOF_RLIMIT, int) and PROOF_RLIMIT >= 1
    assert checks.expect_routing(theory.select(64, [3, 60], 2)).status == "pass"
    stopped = checks.expect_routing(theory.select(64, [3, 60], 2), rlimit=1)
    assert stopped.status == "unknown" and stopped.evidence["reason"].startswith("resource limit")
