"""certify_sup_error never acts on a meta that no hash covers (a format-1 spec file, possibly edited)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

import theory
from tests.helpers import format_1_document


def _v1_with_edited_meta(tmp_path):
    net = theory.approximate_sparse(16, [0, 15], "x0*x1", (-1, 1), Fraction(1, 50))
    doc = format_1_document(net, target="x0*x15 + 100", a_priori_bound="1000")  # edits no hash can reveal
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(doc))
    with pytest.warns(theory.spec.MetaNotCoveredWarning):
        return theory.load(path)


def test_uncovered_meta_is_not_a_default(tmp_path):
    net = _v1_with_edited_meta(tmp_path)
    assert not net.meta_covered
    with pytest.raises(theory.TheoryError, match="not covered by a hash"):
        theory.certify_sup_error(net, time_limit_s=1)
    with pytest.raises(theory.TheoryError, match="not covered by a hash"):
        theory.certify_sup_error(net, target="x0*x15", time_limit_s=1)


def test_explicit_target_and_box_ignore_the_uncovered_bound(tmp_path):
    net = _v1_with_edited_meta(tmp_path)
    cert = theory.certify_sup_error(net, target="x0*x15", box=(-1, 1), time_limit_s=20)
    assert cert.status == "proved" and cert.upper < Fraction(1, 50)
    assert cert.details.get("a_priori_bound") is None
