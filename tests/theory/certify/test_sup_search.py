"""The written interface of the two sup-norm searches (theory.certify.SupSearch).

Both searches behind :func:`theory.certify_sup_error` are instances of the abstract base; the base cannot be
instantiated, and a subclass that misses any member of the interface cannot be either.
"""

from __future__ import annotations

import time
from fractions import Fraction

import pytest

import theory
from theory.certify import SupSearch
from theory.certify._branch_and_bound import Search
from theory.certify._certify import _box_for, _variables
from theory.certify._cone import extract_cone
from theory.certify.pieces import PieceResult, certify_pieces
from theory.heads._target import parse_global_target
from theory.prove import CERTIFICATE_METHODS
from theory.spec._network import thaw

MEMBERS = {
    "method",
    "upper",
    "lower",
    "witness",
    "boxes",
    "open_boxes",
    "max_unstable",
    "exact_evals",
    "min_width_hit",
    "deadline",
    "done",
    "structure",
}


def _both_searches() -> tuple[PieceResult, Search]:
    """The piecewise result and a finished branch-and-bound search for one Kuhn head against its target."""
    net = theory.pl_head("x0*x1", (-1, 1), 3).net
    cone = extract_cone(net)
    expr, names, var_index = _variables(net, parse_global_target("x0*x1"), cone.input_units)
    box = _box_for(net, (-1, 1), names)
    pieces, why = certify_pieces(thaw(net.meta), cone, expr, names, var_index, box, None, 30.0, 0.01, 0, None)
    assert pieces is not None, why
    search = Search(cone, expr, names, var_index, box, None, 30.0, 0.01, 64, 0, None)
    search.run()
    return pieces, search


def test_the_interface_is_its_abstract_members():
    assert SupSearch.__abstractmethods__ == MEMBERS


def test_both_searches_implement_the_interface():
    pieces, search = _both_searches()
    assert (pieces.method, search.method) == ("kuhn-pieces", "interval-bnb")
    for s in (pieces, search):
        assert isinstance(s, SupSearch) and s.method in CERTIFICATE_METHODS
        assert isinstance(s.lower, Fraction) and 0 < float(s.lower) <= s.upper() < float("inf")
        assert len(s.witness) == 2 and s.boxes > 0 and s.open_boxes == 0 and s.exact_evals > 0
        assert s.done() and not s.timed_out() and s.min_width_hit is False
    assert pieces.max_unstable == 0 and pieces.structure["grid_cells"] == [3, 3]
    assert search.structure is None


def test_the_base_cannot_be_instantiated():
    with pytest.raises(TypeError):
        SupSearch()


def _complete() -> dict:
    """Every member of the interface, for a search that finished at once with nothing found."""
    return {
        "method": property(lambda self: "interval-bnb"),
        "upper": lambda self: 0.0,
        "lower": property(lambda self: None),
        "witness": property(lambda self: None),
        "boxes": property(lambda self: 0),
        "open_boxes": property(lambda self: 0),
        "max_unstable": property(lambda self: 0),
        "exact_evals": property(lambda self: 0),
        "min_width_hit": property(lambda self: False),
        "deadline": property(lambda self: time.perf_counter()),
        "done": lambda self: True,
        "structure": property(lambda self: None),
    }


def test_a_complete_subclass_instantiates():
    s = type("Complete", (SupSearch,), _complete())()
    assert isinstance(s, SupSearch) and not s.timed_out()


@pytest.mark.parametrize("missing", sorted(MEMBERS))
def test_a_subclass_missing_a_member_cannot_be_instantiated(missing):
    members = _complete()
    del members[missing]
    incomplete = type("Incomplete", (SupSearch,), members)
    with pytest.raises(TypeError, match=missing):
        incomplete()
