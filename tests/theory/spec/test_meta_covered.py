"""A spec whose meta no hash covers (format version 1) is marked ``meta_covered=False``, and the tools then act on
none of its fields (target, box, support, bounds) unless given them explicitly: setting a format-2 file back to
version 1 and editing its meta changes nothing that is checked."""

from __future__ import annotations

import warnings

import pytest

import theory
from tests.helpers import downgrade_to_format_1
from theory import Network
from theory._main import main as cli_main


def _approx() -> Network:
    return theory.approximate_sparse(16, [0, 9], "x0*x1", (-1, 1), "1/100")


def test_loaded_networks_know_whether_a_hash_covers_their_meta(tmp_path):
    net = _approx()
    assert net.meta_covered  # built in memory
    theory.save(net, tmp_path / "v2")
    assert theory.load(tmp_path / "v2").meta_covered
    theory.save(net, tmp_path / "v1")
    downgrade_to_format_1(tmp_path / "v1")
    with pytest.warns(theory.spec.MetaNotCoveredWarning):
        old = theory.load(tmp_path / "v1")
    assert not old.meta_covered and old == net
    # re-saving covers it
    theory.save(old, tmp_path / "resaved")
    assert theory.load(tmp_path / "resaved").meta_covered
    # an empty meta needs no hash
    doc = theory.to_json(theory.select(8, [1, 6]))
    doc.update(version=1, meta={})
    del doc["meta_hash"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert theory.from_json(doc).meta_covered


def test_meta_covered_is_validated():
    net = _approx()
    with pytest.raises(theory.TheoryError, match="meta_covered"):
        Network(d=net.d, c_in=net.c_in, layers=net.layers, meta={}, meta_covered="no")


def test_certify_refuses_an_uncovered_target(tmp_path, capsys):
    """The downgrade attack: version 1, an edited target: certify must not prove the edited target."""
    theory.save(_approx(), tmp_path / "spec")
    downgrade_to_format_1(tmp_path / "spec", target="x0*x9 + 100", a_priori_bound="1000")
    assert cli_main(["certify", str(tmp_path / "spec"), "--no-progress", "--time-limit", "2"]) == 2
    err = capsys.readouterr().err
    want = (
        f"error: {tmp_path / 'spec' / theory.spec.SPEC_FILE}: format version 1, its meta is not covered by a hash: "
        "pass --target and --box explicitly, or re-save it with theory.save to cover it"
    )
    assert want in err and "Traceback" not in err
    # only one of the two is not enough either
    assert cli_main(["certify", str(tmp_path / "spec"), "--target", "x0*x9", "--no-progress"]) == 2
    assert cli_main(["certify", str(tmp_path / "spec"), "--box", "-1,1", "--no-progress"]) == 2


def test_certify_of_a_genuine_version_1_file_with_explicit_target_and_box(tmp_path, capsys):
    theory.save(_approx(), tmp_path / "spec")
    downgrade_to_format_1(tmp_path / "spec")
    rc = cli_main(
        [
            "certify",
            str(tmp_path / "spec"),
            "--target",
            "x0*x9",
            "--box",
            "-1,1",
            "--eps",
            "1/50",
            "--time-limit",
            "20",
            "--no-progress",
        ]
    )
    captured = capsys.readouterr()
    assert rc == 0, captured
    assert "warning:" in captured.err and "format version 1" in captured.err


def test_prove_routing_does_not_take_an_uncovered_support(tmp_path):
    theory.save(theory.select(16, [3, 12]), tmp_path / "spec")
    downgrade_to_format_1(tmp_path / "spec", support=[3, 11])
    with pytest.warns(theory.spec.MetaNotCoveredWarning):
        net = theory.load(tmp_path / "spec")
    with pytest.raises(theory.TheoryError, match="not covered by a hash"):
        theory.prove_routing(net)


def test_derived_networks_keep_an_uncovered_meta_uncovered(tmp_path):
    theory.save(theory.select(8, [1, 6]), tmp_path / "spec")
    downgrade_to_format_1(tmp_path / "spec", support=[1, 5])
    with pytest.warns(theory.spec.MetaNotCoveredWarning):
        net = theory.load(tmp_path / "spec")
    assert not theory.to_lcn(net).meta_covered and not theory.to_fcn(net).meta_covered
    assert theory.to_lcn(theory.select(8, [1, 6])).meta_covered
