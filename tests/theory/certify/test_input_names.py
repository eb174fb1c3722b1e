"""certify_sup_error and ``python -m theory certify`` read target and box names as inputs of the network.

Every symbol of a target is an input of the network (theory.input_unit): an alias (``x0_1`` for ``x1`` of a
one-channel network) is the same input, so the alias target is certified exactly as the canonical one; a name
that is not an input (``x99`` at d = 4, ``x1_0`` with one channel) is a clear error, never an extra variable
of the search; a box key that is not a variable of the search is an error, not silently ignored.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

import theory
from theory import certify_sup_error
from theory._main import main as cli_main


@pytest.fixture(scope="module")
def net4() -> theory.Network:
    """``N(x) ~ x0 * x1`` at d = 4, one channel, on [-1, 1]^2 with a-priori bound 1/100."""
    return theory.approximate_sparse(4, [0, 1], "x0*x1", (-1, 1), Fraction(1, 100))


@pytest.mark.parametrize("alias", ["x0_0*x0_1", "x0*x0_1", "x0_0*x1"])
def test_alias_target_is_the_canonical_target(net4, alias):
    plain = certify_sup_error(net4, "x0*x1", (-1, 1), eps=Fraction(1, 100), time_limit_s=20)
    cert = certify_sup_error(net4, alias, (-1, 1), eps=Fraction(1, 100), time_limit_s=20)
    assert plain.status == cert.status == "proved"
    assert cert.upper == plain.upper and cert.lower == plain.lower
    assert list(cert.details["variables"]) == ["x0", "x1"] and set(cert.witness) == {"x0", "x1"}
    assert cert.assumptions["target"] == "x0*x1"
    assert cert.upper <= Fraction(1, 100)


@pytest.mark.parametrize("name", ["x99", "x4", "x1_0", "x0_4", "x0_99"])
def test_a_name_that_is_not_an_input_is_an_error(net4, name):
    with pytest.raises(theory.TheoryError) as err:
        certify_sup_error(net4, f"{name}*x0", (-1, 1), time_limit_s=1)
    assert str(err.value) == (f"argument 'target': {name} is not an input of this network (d=4, c_in=1: inputs x0..x3)")


def test_inputs_outside_the_cone_stay_search_variables(net4):
    """x2, x3 are inputs the output does not depend on: extra variables, sup = max|N| + 1 = 2 (about)."""
    cert = certify_sup_error(net4, "x0_2*x3", (-1, 1), time_limit_s=20)
    assert cert.status == "proved" and list(cert.details["variables"]) == ["x0", "x1", "x2", "x3"]
    apriori = Fraction(net4.meta["a_priori_bound"])
    assert 2 - apriori <= cert.lower <= cert.upper <= 2 + apriori


@pytest.mark.parametrize(
    "box, fragment",
    [
        ({"x0": (-1, 1), "x1": (-1, 1), "x3": (0, 1)}, "variables of this search only \\(x0, x1\\): x3 is an input"),
        ({"x0": (-1, 1), "x1": (-1, 1), "x7": (0, 1)}, "argument 'box': x7 is not an input of this network"),
        ({"x0": (-1, 1), "x0_0": (-1, 1), "x1": (-1, 1)}, "each input once \\(x0_0 names x0 again\\)"),
        ({"x0": (-1, 1)}, "missing \\['x1'\\]"),
    ],
)
def test_box_keys_are_the_search_variables(net4, box, fragment):
    with pytest.raises(theory.TheoryError, match=fragment):
        certify_sup_error(net4, "x0*x1", box, time_limit_s=1)


def test_box_keys_may_be_aliases(net4):
    cert = certify_sup_error(net4, "x0*x1", {"x0_0": (-1, 1), "x0_1": (0, 1)}, time_limit_s=20)
    assert [list(r) for r in cert.assumptions["domain"]] == [["x0", "-1", "1"], ["x1", "0", "1"]]


def test_command_line(net4, tmp_path, capsys):
    spec = str(theory.save(net4, tmp_path / "spec"))
    assert (
        cli_main(["certify", spec, "--target", "x0_0*x0_1", "--eps", "1/100", "--time-limit", "20", "--no-progress"])
        == 0
    )
    assert "[proved] sup over {x0 in [-1, 1], x1 in [-1, 1]} of |net(x) - (x0*x1)|" in capsys.readouterr().out
    assert cli_main(["certify", spec, "--target", "x99*x0", "--eps", "1/100", "--no-progress"]) == 2
    assert "x99 is not an input of this network (d=4, c_in=1: inputs x0..x3)" in capsys.readouterr().err
    assert (
        cli_main(
            ["certify", spec, "--target", "x0*x1", "--box", "x0=-1,1;x1=-1,1;x3=0,1", "--eps", "1/100", "--no-progress"]
        )
        == 2
    )
    assert "x3 is an input the output and the target do not depend on" in capsys.readouterr().err
